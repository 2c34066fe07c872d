/**
 * Bob, the relay, in process: the protocol logic of "One message, step by step" seen from
 * the relay (quote, deposit, mailbox listing, unlock by claim), speaking the real wire
 * objects (Offer, Quote, Deposit, Receipt, MailboxAuth bytes) and real Bitcoin through its
 * own wallet and chain backend. State lives in memory: this is the story's relay, not the
 * networked daemon (src/relay/), which persists everything and serves HTTP/WebSocket.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import { hex } from '@scure/base';
import type { ChainBackend } from '../chain/backend.ts';
import {
  buildClaimTx, buildContractScript, preimageMatches, type ContractTerms, type LocktimeMargins, type Outpoint,
} from '../contracts/index.ts';
import type { Aead } from '../core/aead.ts';
import { sealBlob } from '../core/blob.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { expected } from '../core/errors.ts';
import { H, bytesEqual } from '../core/hash.ts';
import {
  DepositCodec, MailboxAuthCodec, OfferCodec, QuoteCodec, ReceiptCodec, mailboxAuthBytes, mailboxIdOf, signQuote, signReceipt,
  type PaymentMode, type Quote,
} from '../core/objects/index.ts';
import { mergeBundles, takeForFetch, verifyBundle, type PrekeyBundle } from '../identity/bundle.ts';
import type { Wallet } from '../wallet/index.ts';
import { verifyFunding } from './chain.ts';
import { DemoError } from './errors.ts';

export interface RelayPolicy extends LocktimeMargins {
  /** T = tip + lockBlocks in every quote (mainnet 144; the devnet scales it down). */
  lockBlocks: number;
  /** Confirmations a funding needs before the relay stores against it or claims it. */
  minConfirmations: number;
  /** Price schedule, sats: base + per started KiB of body + per started day of retention. */
  baseSats: number;
  perKiBSats: number;
  perDaySats: number;
  /** How long a quote may wait for its deposit, ms. */
  quoteValidityMs: number;
}

/** Mainnet's margins (claim 12, fetch 24 of T = tip + 144) scaled down for a chain mined on demand. */
export const DEVNET_RELAY_POLICY: RelayPolicy = {
  lockBlocks: 36,
  claimMargin: 3,
  fetchMargin: 6,
  maxBlocksAhead: 2016,
  minConfirmations: 1,
  baseSats: 1_000,
  perKiBSats: 50,
  perDaySats: 100,
  quoteValidityMs: 10 * 60_000,
};

export interface RelayDeps {
  wallet: Wallet;
  backend: ChainBackend;
  /** Where clients reach this relay; goes into quotes and address hints. */
  url: string;
  /** Ed25519 node key seed; its public key is the relay id. */
  nodeSecret: Uint8Array;
  ed: Ed25519;
  aead: Aead;
  random: (n: number) => Uint8Array;
  now: () => number;
  policy?: RelayPolicy;
}

/** A message as Carol lists it: everything she needs to check it and to pay for it. */
export interface ListedMessage {
  messageId: string;
  mode: PaymentMode;
  sealedHeader: Uint8Array;
  blob: Uint8Array;
  hk: Uint8Array;
  /** The signed storage receipt, encoded. */
  receipt: Uint8Array;
  /** What a recipient-pays contract must say (from the quote): claim key, T, amount. */
  terms: { relayPubkey: Uint8Array; locktime: number; amount: number };
  /** Sender-pays: the funded contract (public on chain anyway). */
  contract?: { script: Uint8Array; outpoint: Outpoint };
}

export interface ClaimResult {
  txid: string;
  vsize: number;
  fee: number;
  /** What Bob's wallet receives: the contract amount minus the claim fee. */
  amount: number;
}

interface Quoted {
  quote: Quote;
  k: Uint8Array;
  keyIndex: number;
}

interface Stored extends Quoted {
  sealedHeader: Uint8Array;
  blob: Uint8Array;
  receipt: Uint8Array;
  hr?: Uint8Array;
  contract?: { script: Uint8Array; outpoint: Outpoint };
  claimed?: ClaimResult;
}

export class DemoRelay {
  readonly relayId: Uint8Array;
  readonly policy: RelayPolicy;
  private readonly quotes = new Map<string, Quoted>();
  private readonly messages = new Map<string, Stored>();
  private readonly bundles = new Map<string, PrekeyBundle>();
  private readonly challenges = new Set<string>();

  constructor(private readonly d: RelayDeps) {
    this.relayId = d.ed.publicKey(d.nodeSecret);
    this.policy = d.policy ?? DEVNET_RELAY_POLICY;
  }

  get url(): string {
    return this.d.url;
  }

  /** Price of a body of `size` bytes kept `retentionSecs`, by the published schedule. */
  price(size: number, retentionSecs: number): number {
    const p = this.policy;
    return p.baseSats + p.perKiBSats * Math.ceil(size / 1024) + p.perDaySats * Math.ceil(retentionSecs / 86_400);
  }

  /** Carol publishes her prekeys here; every signature is checked before they are served. */
  publishBundle(bundle: PrekeyBundle): void {
    verifyBundle(bundle);
    const m = hex.encode(mailboxIdOf(bundle.identityKey));
    const pool = this.bundles.get(m);
    this.bundles.set(m, pool ? mergeBundles(pool, bundle) : bundle);
  }

  /** Hands out Carol's bundle with at most one one-time key of each kind, never the same twice. */
  fetchBundle(mailbox: Uint8Array): PrekeyBundle {
    const pool = this.bundles.get(hex.encode(mailbox));
    if (!pool) throw new DemoError('UNKNOWN_MESSAGE', `no prekey bundle published for mailbox ${hex.encode(mailbox)}`);
    const { fetched, remaining } = takeForFetch(pool);
    this.bundles.set(hex.encode(mailbox), remaining);
    return fetched;
  }

  /** Offer bytes in, signed Quote bytes out, with a fresh k whose hash the quote carries. */
  async quote(offerBytes: Uint8Array): Promise<Uint8Array> {
    const offer = OfferCodec.decode(offerBytes);
    const amount = this.price(offer.size, offer.retentionSecs);
    if (amount > offer.maxFee) throw new DemoError('BAD_RELAY_ANSWER', expected('maxFee', `>= this relay's price ${amount}`, offer.maxFee));
    const k = this.d.random(32);
    const keyIndex = this.d.wallet.nextContractKeyIndex();
    const tip = await this.d.backend.getTip();
    const now = this.d.now();
    const quote = signQuote(
      {
        quoteId: this.d.random(16),
        offerId: offer.offerId,
        relayId: this.relayId,
        relayUrl: this.d.url,
        network: 'regtest',
        mailbox: offer.mailbox,
        mode: offer.mode,
        size: offer.size,
        hk: H(k),
        contractPubkey: this.d.wallet.contractKey(keyIndex).pubkey33,
        amount,
        locktime: tip.height + this.policy.lockBlocks,
        expiresAt: now + offer.retentionSecs * 1000,
        validUntil: now + this.policy.quoteValidityMs,
      },
      this.d.nodeSecret,
      this.d.ed,
    );
    this.quotes.set(hex.encode(quote.quoteId), { quote, k, keyIndex });
    return QuoteCodec.encode(quote);
  }

  /**
   * Stores a deposit. Sender-pays: the contract script is rebuilt from the relay's own quote,
   * the deposit's H(r) and the payer's public key, and the funding must pay exactly it with
   * the policy's confirmations. Then blob = AEAD_k(c), c is dropped, and the receipt signed.
   * (The Deposit object carries no payer key, so it travels beside it; see the report.)
   */
  async deposit(depositBytes: Uint8Array, payerPubkey?: Uint8Array): Promise<Uint8Array> {
    const dep = DepositCodec.decode(depositBytes);
    const q = this.quotes.get(hex.encode(dep.quoteId));
    if (!q) throw new DemoError('UNKNOWN_MESSAGE', 'the deposit names a quote this relay never gave');
    const { quote } = q;
    if (!bytesEqual(dep.mailbox, quote.mailbox)) throw new DemoError('UNKNOWN_MESSAGE', 'the deposit is for another mailbox than its quote');
    if (dep.body.length > quote.size) throw new DemoError('TOO_LARGE', expected('body', `at most ${quote.size} bytes (the quoted size)`, dep.body));
    if (this.d.now() > quote.validUntil) throw new DemoError('TOO_LATE', 'the quote has expired');
    let contract: Stored['contract'];
    if (quote.mode === 'sender-pays') {
      if (!dep.hr || !dep.funding || !payerPubkey) throw new DemoError('FUNDING_MISMATCH', 'a sender-pays deposit needs H(r), the funding outpoint and the payer key');
      const script = buildContractScript(this.terms(quote, payerPubkey, dep.hr));
      await verifyFunding(this.d.backend, dep.funding, script, quote.amount, this.policy.minConfirmations);
      contract = { script, outpoint: dep.funding };
    } else if (dep.funding || dep.hr) {
      throw new DemoError('FUNDING_MISMATCH', 'a recipient-pays deposit carries no funding and no H(r)');
    }
    const blob = sealBlob(q.k, dep.body, this.d.aead);
    const receipt = signReceipt(
      { relayId: this.relayId, mailbox: quote.mailbox, hblob: H(blob), hk: quote.hk, hc: H(dep.body), expiresAt: quote.expiresAt },
      this.d.nodeSecret,
      this.d.ed,
    );
    const encoded = ReceiptCodec.encode(receipt);
    this.quotes.delete(hex.encode(dep.quoteId));
    this.messages.set(hex.encode(receipt.messageId), {
      ...q, sealedHeader: dep.sealedHeader, blob, receipt: encoded, ...(dep.hr ? { hr: dep.hr } : {}), ...(contract ? { contract } : {}),
    });
    return encoded;
  }

  /** A fresh challenge; Carol signs it to list her mailbox. Each is good for one listing. */
  challenge(): Uint8Array {
    const c = this.d.random(32);
    this.challenges.add(hex.encode(c));
    return c;
  }

  /** MailboxAuth bytes in; the mailbox's messages out, only for its owner. */
  list(authBytes: Uint8Array): ListedMessage[] {
    const auth = MailboxAuthCodec.decode(authBytes);
    if (!this.challenges.delete(hex.encode(auth.challenge))) throw new DemoError('NOT_MAILBOX_OWNER', 'unknown or already used challenge');
    if (!bytesEqual(auth.mailbox, mailboxIdOf(auth.identityKey))) throw new DemoError('NOT_MAILBOX_OWNER', 'the mailbox is not the hash of the key that signed');
    let ok = false;
    try {
      ok = PublicKey.deserialize(Uint8Array.from(auth.identityKey)).verify(Uint8Array.from(mailboxAuthBytes(auth)), Uint8Array.from(auth.signature));
    } catch {
      ok = false;
    }
    if (!ok) throw new DemoError('NOT_MAILBOX_OWNER', 'the mailbox signature does not verify');
    const out: ListedMessage[] = [];
    for (const [messageId, m] of this.messages) {
      if (!bytesEqual(m.quote.mailbox, auth.mailbox) || m.claimed) continue;
      out.push({
        messageId,
        mode: m.quote.mode,
        sealedHeader: m.sealedHeader,
        blob: m.blob,
        hk: m.quote.hk,
        receipt: m.receipt,
        terms: { relayPubkey: m.quote.contractPubkey, locktime: m.quote.locktime, amount: m.quote.amount },
        ...(m.contract ? { contract: m.contract } : {}),
      });
    }
    return out;
  }

  /** Sender-pays unlock: Carol's r is her delivery receipt; Bob claims, publishing k and r. */
  async deliveryReceipt(messageId: string, r: Uint8Array): Promise<ClaimResult> {
    const m = this.stored(messageId);
    if (m.quote.mode !== 'sender-pays' || !m.hr || !m.contract) throw new DemoError('UNKNOWN_MESSAGE', `message ${messageId} is not sender-pays`);
    if (!preimageMatches(r, m.hr)) throw new DemoError('FUNDING_MISMATCH', expected('r', 'a preimage of the deposit H(r)', r));
    return this.claim(m, m.contract, r);
  }

  /** Recipient-pays unlock: Carol funded the contract of the quote's terms; Bob checks it and claims. */
  async payment(messageId: string, outpoint: Outpoint, payerPubkey: Uint8Array): Promise<ClaimResult> {
    const m = this.stored(messageId);
    if (m.quote.mode !== 'recipient-pays') throw new DemoError('UNKNOWN_MESSAGE', `message ${messageId} is not recipient-pays`);
    const script = buildContractScript(this.terms(m.quote, payerPubkey));
    m.contract = { script, outpoint };
    return this.claim(m, m.contract);
  }

  private terms(quote: Quote, payerPubkey: Uint8Array, hr?: Uint8Array): ContractTerms {
    return {
      mode: quote.mode, hk: quote.hk, ...(hr ? { hr } : {}), relayPubkey: quote.contractPubkey, payerPubkey, locktime: quote.locktime,
    };
  }

  private stored(messageId: string): Stored {
    const m = this.messages.get(messageId);
    if (!m) throw new DemoError('UNKNOWN_MESSAGE', `no stored message ${messageId}`);
    return m;
  }

  /**
   * Claims only what is safe to claim: the funding re-checked on chain at the policy's depth
   * (k must never appear while a payer could still double-spend), and before T - claim_margin.
   */
  private async claim(m: Stored, contract: { script: Uint8Array; outpoint: Outpoint }, r?: Uint8Array): Promise<ClaimResult> {
    if (m.claimed) return m.claimed;
    await verifyFunding(this.d.backend, contract.outpoint, contract.script, m.quote.amount, this.policy.minConfirmations);
    const tip = await this.d.backend.getTip();
    // The same rule the payer applied to the quote, from the relay's side: T - claim_margin still ahead.
    if (tip.height >= m.quote.locktime - this.policy.claimMargin) {
      throw new DemoError('TOO_LATE', expected('tip', `< T - claim_margin = ${m.quote.locktime - this.policy.claimMargin}`, tip.height));
    }
    const estimates = await this.d.backend.getFeeEstimates();
    const built = buildClaimTx({
      contracts: [{ outpoint: contract.outpoint, amount: m.quote.amount, script: contract.script, k: m.k, ...(r ? { r } : {}) }],
      relayPrivkey: this.d.wallet.contractKey(m.keyIndex).privkey32,
      destScript: this.d.wallet.newReceiveAddress().script,
      feeRate: Math.max(1, estimates['6'] ?? 1),
    });
    await this.d.backend.broadcast(built.tx);
    m.claimed = { txid: built.txid, vsize: built.vsize, fee: built.fee, amount: built.amount };
    return m.claimed;
  }
}

