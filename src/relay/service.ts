/**
 * The relay's protocol logic, without HTTP: quotes, deposits, listing by tag and fetching
 * with a tag's secret, unlock, retention. The HTTP and WebSocket
 * adapters (http.ts, ws.ts) only translate bytes to calls and RelayErrors to replies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import type { Aead } from '../core/aead.ts';
import { keyMatches } from '../core/blob.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { bytesEqual } from '../core/hash.ts';
import {
  DepositCodec, MAX_QUERY_TAGS, QuoteCodec, ReceiptCodec, secretOpensTag, signQuote,
  type Deposit, type Offer, type PaymentMode, type PaymentNotice, type Quote, type Receipt,
} from '../core/objects/index.ts';
import { retentionCeilingSecs, priceOf, type RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import { QUOTE_KEY_ACCOUNT } from '../wallet/keys.ts';
import type { ChainPolicy, ContractKeys, ContractView, Payments, UnlockOutcome } from './chain-ports.ts';
import type { RelayMetrics } from './metrics.ts';
import type { MessageRow, MessageState, MessageSummary, Quota, QuoteRow, RelayStore } from './store.ts';
import { DepositorTags } from './depositor.ts';
import { encodeStoredMessage } from '../core/objects/stored-message.ts';
import { InlineSealer, type Sealer } from './sealer.ts';
import { LIST_PAGE_MAX, parseListLimit, type ListCursor } from '../core/wire/list-cursor.ts';

export const RELAY_VERSION = '0.2.0';

export interface RelayServiceDeps {
  config: RelayConfig;
  store: RelayStore;
  /** Ed25519 node key seed (32 bytes); its public key is the relay id. */
  nodeSecret: Uint8Array;
  ed: Ed25519;
  aead: Aead;
  contractKeys: ContractKeys;
  chain: ChainPolicy;
  payments: Payments;
  metrics?: RelayMetrics;
  /** ms since the epoch; default Date.now. */
  now?: () => number;
  random?: (n: number) => Uint8Array;
  /** Seals bodies and signs receipts (default: inline with `ed` and `aead`; the daemon passes a WorkerSealer). */
  sealer?: Sealer;
}

export interface DepositOutcome {
  receipt: Receipt;
  /** The receipt's canonical bytes (what the relay stored and returns every time). */
  encoded: Uint8Array;
  duplicate: boolean;
}

export type { UnlockOutcome } from './chain-ports.ts';

/** One entry of a listing by tag: what Carol needs to decide, pay and verify (docs/relay-api.md). */
export interface ListEntry {
  id: string;
  /** The tag it was deposited under, hex. */
  tag: string;
  size: number;
  mode: PaymentMode;
  state: MessageState | 'expired';
  createdAt: number;
  expiresAt: number;
  amount: number;
  locktime: number;
  hk: string;
  relayContractPubkey: string;
  receipt: string;
  hr?: string;
  payerPubkey?: string;
  funding?: { txid: string; vout: number; confirmations?: number };
  contractState?: string;
}

/** Which page of a listing by tag: entries strictly after `after`, at most `limit` (default and most LIST_PAGE_MAX). */
export interface ListPage {
  after?: ListCursor;
  limit?: number;
}

/** One page of a listing; `next` (the last entry's position) only when more entries follow it. */
export interface ListPageResult {
  messages: ListEntry[];
  next?: ListCursor;
}

/** The JSON information document (/.well-known/satpost). */
export interface InfoDocument {
  name: string;
  version: string;
  relayId: string;
  url: string;
  network: string;
  acceptedModes: PaymentMode[];
  price: { baseSats: number; perBlockSats: number; perDaySats: number };
  limits: {
    maxMessageBytes: number;
    maxRetentionSecs: number;
    mailboxMaxMessages: number;
    mailboxMaxBytes: number;
    mailboxUnpaidMaxMessages: number;
    mailboxUnpaidMaxBytes: number;
    depositorUnpaidMaxMessages: number;
    depositorUnpaidMaxBytes: number;
    bodyLimitBytes: number;
    quoteValiditySecs: number;
    challengeTtlSecs: number;
    authMaxSkewSecs: number;
  };
  confirmations: number;
  lockBlocks: number;
  claimMarginBlocks: number;
}

/** A message's state as listed: what its contract says, except that a released k stays released. */
function stateOf(m: MessageSummary, v: ContractView | undefined): ListEntry['state'] {
  if (m.state === 'unlocked' || v === undefined) return m.state;
  switch (v.state) {
    case 'quoted':
    case 'funded':
      return 'funding-pending';
    case 'funding-confirmed':
      return 'stored';
    case 'expired':
      return 'expired';
    default:
      return 'unlocked';
  }
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
/** blob = AEAD_k(c): the body plus the AEAD tag. */
const BLOB_OVERHEAD = 16;
/** Unpaid sender-pays messages the sweep asks the payments about per pass. */
const PROMOTE_BATCH = 1000;
/** Contract states that mean no funding was seen (yet, or ever). */
const UNFUNDED = new Set(['quoted', 'expired']);
const defaultRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export class RelayService {
  readonly relayId: Uint8Array;
  /** The URL quotes carry: publicUrl, or the bound address (set by the daemon after listen). */
  url: string;
  private readonly cfg: RelayConfig;
  private readonly store: RelayStore;
  private readonly now: () => number;
  private readonly random: (n: number) => Uint8Array;
  private readonly modes: PaymentMode[];
  private readonly listeners = new Set<(mailbox: Uint8Array, id: Uint8Array) => void>();
  private readonly sealer: Sealer;
  private readonly quota: Quota;
  private readonly depositors = new DepositorTags();
  /**
   * Deposits under way, by quote id (hex): the claim is taken before anything awaits, so a
   * second deposit on the same quote never reaches the sealer while the first is running (k
   * must seal one blob only). It shares the first one's outcome when it is the same deposit.
   */
  private readonly claims = new Map<string, { digest: Uint8Array; outcome: Promise<DepositOutcome> }>();

  constructor(private readonly deps: RelayServiceDeps) {
    this.cfg = deps.config;
    this.store = deps.store;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? defaultRandom;
    this.relayId = deps.ed.publicKey(deps.nodeSecret);
    this.sealer = deps.sealer ?? new InlineSealer({ nodeSecret: deps.nodeSecret, relayId: this.relayId, ed: deps.ed, aead: deps.aead });
    this.url = deps.config.publicUrl || `http://${deps.config.host}:${deps.config.port}`;
    this.modes = deps.config.acceptedModes.filter((m) => deps.payments.modes.includes(m));
    const c = deps.config;
    this.quota = {
      paid: { maxCount: c.mailboxMaxMessages, maxBytes: c.mailboxMaxBytes },
      unpaid: { maxCount: c.mailboxUnpaidMaxMessages, maxBytes: c.mailboxUnpaidMaxBytes },
      depositor: { maxCount: c.depositorUnpaidMaxMessages, maxBytes: c.depositorUnpaidMaxBytes },
    };
  }

  info(): InfoDocument {
    const c = this.cfg;
    return {
      name: c.name,
      version: RELAY_VERSION,
      relayId: hex.encode(this.relayId),
      url: this.url,
      network: c.network,
      acceptedModes: [...this.modes],
      price: { baseSats: c.priceBaseSats, perBlockSats: c.pricePerBlockSats, perDaySats: c.pricePerDaySats },
      limits: {
        maxMessageBytes: c.maxMessageBytes,
        maxRetentionSecs: retentionCeilingSecs(c),
        mailboxMaxMessages: c.mailboxMaxMessages,
        mailboxMaxBytes: c.mailboxMaxBytes,
        mailboxUnpaidMaxMessages: c.mailboxUnpaidMaxMessages,
        mailboxUnpaidMaxBytes: c.mailboxUnpaidMaxBytes,
        depositorUnpaidMaxMessages: c.depositorUnpaidMaxMessages,
        depositorUnpaidMaxBytes: c.depositorUnpaidMaxBytes,
        bodyLimitBytes: c.bodyLimitBytes,
        quoteValiditySecs: c.quoteValiditySecs,
        challengeTtlSecs: c.challengeTtlSecs,
        authMaxSkewSecs: c.authMaxSkewSecs,
      },
      confirmations: c.confirmations,
      lockBlocks: c.lockBlocks,
      claimMarginBlocks: c.claimMarginBlocks,
    };
  }

  /** Called after a message's batch committed (for live subscriptions). */
  onStored(listener: (mailbox: Uint8Array, id: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `origin`: the client's network address (HTTP, stream), for the unpaid allowance of its depositor. */
  async quote(offer: Offer, origin?: string): Promise<Quote> {
    try {
      const q = await this.issueQuote(offer, origin);
      this.deps.metrics?.quotes.inc({ result: 'issued' });
      return q;
    } catch (err) {
      this.deps.metrics?.quotes.inc({ result: RelayError.is(err) ? err.code : 'INTERNAL' });
      throw err;
    }
  }

  private async issueQuote(offer: Offer, origin: string | undefined): Promise<Quote> {
    const c = this.cfg;
    if (!this.modes.includes(offer.mode)) {
      throw new RelayError('MODE_NOT_ACCEPTED', `this relay accepts ${this.modes.join(', ') || 'no modes'}, not ${offer.mode}`);
    }
    if (offer.size > c.maxMessageBytes) {
      throw new RelayError('TOO_LARGE', `"size" expected at most ${c.maxMessageBytes} bytes, got ${offer.size}`, { details: { maxMessageBytes: c.maxMessageBytes } });
    }
    const ceiling = retentionCeilingSecs(c);
    if (offer.retentionSecs > ceiling) {
      throw new RelayError('RETENTION_TOO_LONG', `"retentionSecs" expected at most ${ceiling}, got ${offer.retentionSecs}`, { details: { maxRetentionSecs: ceiling } });
    }
    const price = priceOf(c, offer.size, offer.retentionSecs);
    if (offer.maxFee < price) {
      throw new RelayError('FEE_TOO_LOW', `"maxFee" expected at least ${price} sats, got ${offer.maxFee}`, { details: { price } });
    }
    // A recipient-pays message is stored unpaid; a sender-pays one may come with its payment, so
    // its quote is judged against the paid allowance (its deposit against the one it falls in).
    const paid = offer.mode === 'sender-pays';
    this.store.checkRoom(offer.tag, offer.size + BLOB_OVERHEAD, paid, paid || origin === undefined ? undefined : this.depositors.tag(origin), this.quota);
    const tip = await this.deps.chain.tip();
    const now = this.now();
    const k = this.random(32);
    const hk = sha256(k);
    const contractIndex = this.store.allocateContractIndex();
    const quote = signQuote(
      {
        quoteId: this.random(16),
        offerId: offer.offerId,
        relayId: this.relayId,
        relayUrl: this.url,
        network: c.network,
        tag: offer.tag,
        mode: offer.mode,
        size: offer.size,
        hk,
        contractPubkey: this.deps.contractKeys.pubkey(contractIndex, QUOTE_KEY_ACCOUNT),
        amount: price,
        locktime: tip + c.lockBlocks,
        expiresAt: now + offer.retentionSecs * 1000,
        validUntil: now + c.quoteValiditySecs * 1000,
      },
      this.deps.nodeSecret,
      this.deps.ed,
    );
    await this.store.putQuote({
      quoteId: quote.quoteId, mailbox: quote.tag, mode: quote.mode, size: quote.size, amount: quote.amount,
      locktime: quote.locktime, contractIndex, keyAccount: QUOTE_KEY_ACCOUNT, k, hk, expiresAt: quote.expiresAt, validUntil: quote.validUntil,
      encoded: QuoteCodec.encode(quote),
    });
    return quote;
  }

  /**
   * `encoded` (the Deposit's bytes, if the caller has them) saves re-encoding for the digest.
   * `origin`: the client's network address; an unpaid deposit counts against its depositor's allowance.
   */
  async deposit(d: Deposit, encoded?: Uint8Array, origin?: string): Promise<DepositOutcome> {
    try {
      const out = await this.storeDeposit(d, encoded ?? DepositCodec.encode(d), origin);
      this.deps.metrics?.deposits.inc({ result: out.duplicate ? 'duplicate' : 'stored' });
      return out;
    } catch (err) {
      this.deps.metrics?.deposits.inc({ result: RelayError.is(err) ? err.code : 'INTERNAL' });
      throw err;
    }
  }

  private async storeDeposit(d: Deposit, encoded: Uint8Array, origin: string | undefined): Promise<DepositOutcome> {
    const quote = this.store.getQuote(d.quoteId);
    if (quote === undefined) throw new RelayError('QUOTE_UNKNOWN', 'this relay issued no such quote (or it lapsed)');
    const digest = sha256(encoded);
    // A quote no deposit has claimed yet has no message: skip the look-up.
    if (!this.store.quoteUnused(d.quoteId)) {
      const earlier = this.store.messageByQuote(d.quoteId);
      if (earlier !== undefined) return this.repeat(earlier, digest);
    }
    const key = hex.encode(d.quoteId);
    const running = this.claims.get(key);
    if (running !== undefined) {
      if (!bytesEqual(running.digest, digest)) throw new RelayError('QUOTE_USED', 'another deposit is being stored under this quote');
      return { ...(await running.outcome), duplicate: true };
    }
    if (this.now() > quote.validUntil) throw new RelayError('QUOTE_EXPIRED', `the quote was valid until ${new Date(quote.validUntil).toISOString()}`);
    if (!bytesEqual(d.tag, quote.mailbox)) throw new RelayError('MAILBOX_MISMATCH', 'the deposit names another tag than its quote');
    if (d.body.length !== quote.size) throw new RelayError('SIZE_MISMATCH', `"body" expected ${quote.size} bytes (the quoted size), got ${d.body.length} bytes`);
    if (quote.mode === 'sender-pays') {
      if (d.hr === undefined || d.payerPubkey === undefined) throw new RelayError('BAD_DEPOSIT', 'a sender-pays deposit must carry hr and payerPubkey');
    } else {
      if (d.hr !== undefined || d.payerPubkey !== undefined) throw new RelayError('BAD_DEPOSIT', 'a recipient-pays deposit carries no hr and no payerPubkey');
      if (d.funding !== undefined) throw new RelayError('FUNDING_UNEXPECTED', 'a recipient-pays deposit carries no funding outpoint (Carol pays with a PaymentNotice)');
    }
    // Claimed before the first await: from here on no other deposit of this quote gets past the check above.
    this.store.claimQuote(d.quoteId);
    const outcome = this.sealAndStore(quote, d, digest, origin);
    this.claims.set(key, { digest, outcome });
    try {
      return await outcome;
    } finally {
      // Stored, its message answers repeats; failed, the quote may be deposited again (nothing sealed under k was kept).
      this.claims.delete(key);
    }
  }

  private async sealAndStore(quote: QuoteRow, d: Deposit, digest: Uint8Array, origin: string | undefined): Promise<DepositOutcome> {
    // Sender-pays: the contract is registered (durably) before the message is stored.
    const payment = await this.deps.payments.deposit(quote, d);
    const depositor = payment.paid || origin === undefined ? undefined : this.depositors.tag(origin);
    // Refused before sealing when there is no room already (checked again atomically with the insert).
    this.store.checkRoom(quote.mailbox, d.body.length + BLOB_OVERHEAD, payment.paid, depositor, this.quota);
    const { blob, receipt, encoded: receiptBytes } = await this.sealer.seal({ k: quote.k, hk: quote.hk, mailbox: quote.mailbox, expiresAt: quote.expiresAt, body: d.body });
    const row: MessageRow = {
      id: receipt.messageId, quoteId: quote.quoteId, mailbox: quote.mailbox, mode: quote.mode, sealedHeader: d.sealedHeader,
      blob, hblob: receipt.hblob, hk: quote.hk, hc: receipt.hc, hr: d.hr, fundingTxid: d.funding?.txid, fundingVout: d.funding?.vout,
      payerPubkey: d.payerPubkey, contractId: payment.contractId, expiresAt: quote.expiresAt, state: payment.state, createdAt: this.now(),
      receipt: receiptBytes, depositDigest: digest, paid: payment.paid, depositor,
    };
    const { inserted, row: stored } = await this.store.putMessage(row, this.quota);
    if (!inserted) return this.repeat(stored, digest);
    for (const l of this.listeners) l(row.mailbox, row.id);
    return { receipt, encoded: receiptBytes, duplicate: false };
  }

  /** The same deposit again gets the same receipt; another deposit on a used quote is refused. */
  private repeat(earlier: MessageRow, digest: Uint8Array): DepositOutcome {
    if (!bytesEqual(earlier.depositDigest, digest)) throw new RelayError('QUOTE_USED', 'another deposit was already stored under this quote');
    return { receipt: ReceiptCodec.decode(earlier.receipt), encoded: earlier.receipt, duplicate: true };
  }

  /**
   * One page of the messages stored under any of `tags`, oldest first (docs/relay-api.md
   * "Listing by tag"). A tag is random and single-use (src/core/objects/tags.ts): knowing it is
   * knowing it was offered, which every relay of the network saw; what a listing tells (sizes
   * are size classes, prices flat per class) is no more than the offers did. Fetching needs the
   * tag's secret.
   */
  async list(tags: Uint8Array[], page: ListPage = {}): Promise<ListPageResult> {
    const limit = page.limit === undefined ? LIST_PAGE_MAX : parseListLimit(page.limit);
    if (page.after !== undefined && (!Number.isSafeInteger(page.after.createdAt) || page.after.createdAt < 0 || page.after.id?.length !== 32)) {
      throw new RelayError('BAD_REQUEST', '"after" expected a createdAt (ms) and a 32-byte id');
    }
    checkTags(tags);
    // One row more than the page tells whether another page follows.
    const rows = this.store.listTags(tags, this.now(), limit + 1, page.after);
    const shown = rows.slice(0, limit);
    const views = await this.deps.payments.views(shown.map((r) => r.contractId).filter((c): c is string => c !== undefined));
    const messages = shown.map((r) => this.entry(r, r.contractId === undefined ? undefined : views.get(r.contractId)));
    const last = shown[shown.length - 1];
    return rows.length > limit && last !== undefined ? { messages, next: { createdAt: last.createdAt, id: last.id } } : { messages };
  }

  private entry(m: MessageSummary, v: ContractView | undefined): ListEntry {
    const q = this.store.getQuote(m.quoteId)!;
    const quote = QuoteCodec.decode(q.encoded);
    const funding = v?.funding ?? (m.fundingTxid !== undefined ? { txid: m.fundingTxid, vout: m.fundingVout! } : undefined);
    return {
      id: hex.encode(m.id), tag: hex.encode(m.mailbox), size: m.size, mode: m.mode, state: stateOf(m, v), createdAt: m.createdAt, expiresAt: m.expiresAt,
      amount: q.amount, locktime: q.locktime, hk: hex.encode(q.hk), relayContractPubkey: hex.encode(quote.contractPubkey),
      receipt: hex.encode(m.receipt),
      ...(m.hr ? { hr: hex.encode(m.hr) } : {}),
      ...(m.payerPubkey ? { payerPubkey: hex.encode(m.payerPubkey) } : {}),
      ...(funding ? { funding } : {}),
      ...(v ? { contractState: v.state } : {}),
    };
  }

  /**
   * The StoredMessage bytes of message `id`, for the holder of its tag's secret (H("satpost/v1/
   * tag-of" || secret) = the tag it was deposited under). Someone else's id, a wrong secret and
   * an unknown id answer alike.
   */
  fetch(secret: Uint8Array, id: Uint8Array): Uint8Array {
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new RelayError('BAD_REQUEST', `"secret" expected 32 bytes, got ${secret?.length} bytes`);
    const m = this.store.fetchable(id);
    if (m === undefined || !secretOpensTag(secret, m.mailbox) || m.expiresAt <= this.now()) throw new RelayError('MESSAGE_UNKNOWN', 'no such message under this tag');
    const q = this.store.getQuote(m.quoteId)!;
    // The stored quote and receipt are canonical encodings: copied as they are.
    return encodeStoredMessage({ quote: q.encoded, receipt: m.receipt, sealedHeader: m.sealedHeader, blob: m.blob });
  }

  /**
   * Releases k against payment. Sender-pays: Carol's r, checked against hr before anything
   * else. Recipient-pays: a PaymentNotice naming her funding. Without either: the state of
   * the payment so far. k is checked against hk before it leaves the relay, and only the
   * Payments port decides that the contract conditions hold.
   */
  async unlock(req: { id: Uint8Array; r?: Uint8Array; notice?: PaymentNotice }): Promise<UnlockOutcome> {
    const m = this.store.message(req.id);
    if (m === undefined || m.expiresAt <= this.now()) throw new RelayError('MESSAGE_UNKNOWN', 'no such message');
    const quote = this.store.getQuote(m.quoteId)!;
    if (req.r !== undefined) {
      if (m.mode !== 'sender-pays') throw new RelayError('BAD_REQUEST', 'this message is recipient-pays: unlock it with a PaymentNotice, not r');
      if (req.r.length !== 32 || !bytesEqual(sha256(req.r), m.hr!)) throw new RelayError('PREIMAGE_MISMATCH', "r is not the preimage of this message's hr");
    }
    if (req.notice !== undefined && m.mode !== 'recipient-pays') {
      throw new RelayError('BAD_REQUEST', 'this message is sender-pays: unlock it with r, not a PaymentNotice');
    }
    const out = await this.deps.payments.unlock({ message: m, quote }, { ...(req.r ? { r: req.r } : {}), ...(req.notice ? { notice: req.notice } : {}) });
    if (out.contractId !== undefined && out.payerPubkey !== undefined) await this.store.setPayment(m.id, out.contractId, out.payerPubkey);
    if (out.state !== 'unlocked') return out.state === 'awaiting-payment' ? { state: out.state } : { state: out.state, confirmations: out.confirmations, required: out.required };
    if (!keyMatches(out.k, m.hk)) throw new RelayError('INTERNAL', 'the payments port produced a key that does not match hk');
    if (m.state !== 'unlocked') await this.store.setState(m.id, 'unlocked');
    return { state: 'unlocked', k: out.k, ...(out.claimTxid ? { claimTxid: out.claimTxid } : {}) };
  }

  /** Deletes what retention no longer covers (unpaid contracts forget k); resolves how many messages went. */
  async sweep(): Promise<number> {
    const gone = await this.store.sweep(this.now());
    const contracts = gone.map((g) => g.contractId).filter((c): c is string => c !== undefined);
    if (contracts.length > 0) await this.deps.payments.forget(contracts);
    await this.promoteFunded();
    return gone.length;
  }

  /** Sender-pays messages deposited before their funding: once the watcher saw it, they count as paid. */
  private async promoteFunded(): Promise<void> {
    const unpaid = this.store.unpaidContracts(this.now(), PROMOTE_BATCH);
    if (unpaid.length === 0) return;
    const views = await this.deps.payments.views(unpaid.map((u) => u.contractId));
    const funded = unpaid.filter((u) => {
      const v = views.get(u.contractId);
      return v !== undefined && !UNFUNDED.has(v.state);
    });
    await Promise.all(funded.map((u) => this.store.markPaid(u.id)));
  }
}

/** BAD_REQUEST unless `tags` is 1..MAX_QUERY_TAGS tags of 32 bytes. */
export function checkTags(tags: unknown): asserts tags is Uint8Array[] {
  if (!Array.isArray(tags) || tags.length < 1 || tags.length > MAX_QUERY_TAGS) {
    throw new RelayError('BAD_REQUEST', `"tags" expected 1 to ${MAX_QUERY_TAGS} tags, got ${Array.isArray(tags) ? tags.length : typeof tags}`);
  }
  for (const t of tags) if (!(t instanceof Uint8Array) || t.length !== 32) throw new RelayError('BAD_REQUEST', '"tags" expected 32-byte tags');
}
