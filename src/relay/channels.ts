/**
 * Payment channels at the relay (docs/relay-api.md "Channels"): a payer opens a channel with a
 * fresh relay key, then pays for messages with HTLCs in it instead of on-chain contracts.
 *
 *   POST /v1/channel/key            -> {keyIndex, relayPubkey}: a fresh wallet contract key
 *   POST /v1/channel/open  {open, funding, keyIndex} (hex) -> the channel as the relay sees it
 *   POST /v1/channel/update  ChannelMessage bytes (AddHtlc | SettleAck | FailHtlc | CloseSigned)
 *                           -> {channel, settle?}: an AddHtlc paying a stored recipient-pays
 *                              message is settled at once (settle = SettleHtlc hex)
 *   GET  /v1/channel/:id            -> the channel
 *   GET  /v1/channel/:id/settles    -> {settles: [SettleHtlc hex]} not yet acknowledged
 *   POST /v1/channel/:id/close      -> {closeRequest: CloseRequest hex}
 *   GET  /v1/channel/:id/terms      -> {terms: StandingTerms hex}: the prices this relay holds to
 *                                      for messages paid over the channel (src/core/objects/standing-terms.ts)
 *   key, the view, terms and close carry a ChannelAuth (src/channels/auth.ts) by the payer key in the
 *   satpost-channel-auth header: channel state is the payer's business only.
 *   stream ops 6 (update, as POST /v1/channel/update) and 7 (watch: channel id -> events
 *   carrying each SettleHtlc as it is made, the unacknowledged ones first).
 *
 * Every update is self-authenticating (the payer's signature of the new commitment, checked by
 * the pure core against the commitment the relay builds itself). A SettleHtlc is served to
 * whoever names the channel: it carries k and r, which the on-chain path publishes in the
 * claim anyway, and only the payer can sign the acknowledgement that moves the money.
 *
 * Paying a message: an in-flight HTLC with the message's H(k), the same mode, H(r) for
 * sender-pays, and an amount of at least the quoted price. The relay settles it (k, r to the
 * payer over the channel) and hands k to the reader at once: the HTLC sits in a commitment the
 * payer signed over a funding confirmed `confirmations` deep, so the relay can always claim it.
 */
import { hex } from '@scure/base';
import { Gauge, type Registry } from 'prom-client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ChainBackend } from '../chain/backend.ts';
import {
  ADD_HTLC_TAG, CHANNEL_AUTH_HEADER, CHANNEL_AUTH_TAG, CLOSE_SIGNED_TAG, ChannelAuthCodec, ChannelError, FAIL_HTLC_TAG, NO_CHANNEL, SETTLE_ACK_TAG,
  decodeChannelMessage, verifyChannelAuth, type ChannelAuth, type ChannelAuthOp, type ChannelOpen, type SettleHtlc,
} from '../channels/index.ts';
import { EncodingError } from '../core/codec.ts';
import { expected } from '../core/errors.ts';
import { bytesEqual } from '../core/hash.ts';
import {
  STANDING_TERMS_TAG, StandingTermsCodec, messageIdOf, signStandingTerms, type Deposit, type PaymentMode, type PaymentNotice,
} from '../core/objects/index.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { retentionCeilingSecs } from './config.ts';
import { MAX_INDEX, type Wallet } from '../wallet/index.ts';
import { encodeChannelMessage } from '../channels/index.ts';
import { ChannelBook, type ChannelRecord } from '../watch/channel-book.ts';
import { RelayChannels } from '../watch/channel-relay.ts';
import { ChannelWatcher } from '../watch/channel-watcher.ts';
import { WatchError } from '../watch/errors.ts';
import { migrateStore, type Db } from '../store/sqlite.ts';
import type { RelayConfig } from './config.ts';
import { RelayError, type RelayErrorCode } from './errors.ts';
import type { ChannelTerms } from '../core/wire/lookup-answer.ts';
import type { ChannelView } from '../core/wire/channel-view.ts';
import type { ContractView, DepositPayment, Payments, UnlockContext, UnlockOutcome } from './chain-ports.ts';
import type { QuoteRow, RelayStore } from './store.ts';
import { binaryObject, type RouteApi } from './openapi.ts';

/**
 * Channel keys live on the wallet's contract account 0' from this index up (2^30 + n, n the
 * wallet's contract-key counter). Per-quote keys have their own account (1') since; those
 * issued before sit below this index on account 0', and no new one is issued there.
 */
export const CHANNEL_KEY_BASE = 0x4000_0000;

/**
 * Store `relay-channel-keys` (in the relay's party file, next to its channel book):
 *   channel_keys  key_index PK (a wallet contract key handed out by POST /v1/channel/key), issued_at ms,
 *                 payer_pubkey (the key whose ChannelAuth asked for it; NULL for keys issued before v2).
 *   channel_auth_nonces  (payer_pubkey, nonce) PK, expires_at ms: ChannelAuths taken, kept while
 *                 their timestamp is within the clock skew (a replay inside that window is refused).
 * An open must name an issued key no channel uses yet, with the payer key it was issued to.
 */
const KEY_MIGRATIONS = [
  `CREATE TABLE channel_keys (key_index INTEGER PRIMARY KEY, issued_at INTEGER NOT NULL);`,
  `ALTER TABLE channel_keys ADD COLUMN payer_pubkey BLOB;
   CREATE TABLE channel_auth_nonces (payer_pubkey BLOB NOT NULL, nonce BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (payer_pubkey, nonce));
   CREATE INDEX channel_auth_nonces_expiry ON channel_auth_nonces (expires_at);`,
];

/** The channel terms of the information document: the same shape a relay-info lookup answers. */
export type { ChannelTerms } from '../core/wire/lookup-answer.ts';
export type { ChannelView } from '../core/wire/channel-view.ts';

/** What a client sees of a channel (JSON, src/core/wire/channel-view.ts). */
export function channelView(c: ChannelRecord): ChannelView {
  const s = c.state;
  const inFlightSats = s.inFlight.reduce((a, h) => a + h.amount, 0);
  return {
    id: c.id, status: c.status, capacity: s.capacity, relayBalance: s.relayBalance, payerBalance: s.capacity - s.relayBalance - inFlightSats,
    inFlight: s.inFlight.length, inFlightSats, n: s.n, channelLocktime: s.channelLocktime, claimMargin: s.claimMargin, feeRate: s.feeRate,
    fundingTxid: c.fundingTxid, fundingVout: c.fundingVout, fundingConfirmed: s.fundingConfirmed, ...(c.closeTxid ? { closeTxid: c.closeTxid } : {}),
  };
}

/** ChannelErrors and the WatchErrors a client can cause, as refusals with the same code. */
export function channelRefusal(err: unknown): unknown {
  if (err instanceof ChannelError) return new RelayError(err.code as RelayErrorCode, err.message, { cause: err });
  if (WatchError.is(err, 'UNKNOWN_CHANNEL') || WatchError.is(err, 'DUPLICATE_CHANNEL') || WatchError.is(err, 'BAD_STATE') || WatchError.is(err, 'WRONG_KEY')) {
    return new RelayError(err.code === 'WRONG_KEY' ? 'WRONG_KEY' : (err.code as RelayErrorCode), err.message, { cause: err });
  }
  if (err instanceof EncodingError) return new RelayError('BAD_ENCODING', err.message, { cause: err });
  return err;
}

async function refusing<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw channelRefusal(err);
  }
}

const HEX_RE = /^([0-9a-f]{2})+$/;
const ID_RE = /^[0-9a-f]{64}$/;

function hexField(body: Record<string, unknown>, what: string): Uint8Array {
  const v = body[what];
  if (typeof v !== 'string' || !HEX_RE.test(v)) throw new RelayError('BAD_REQUEST', expected(what, 'lowercase hex', v));
  return hex.decode(v);
}

export interface RelayChannelDeps {
  config: RelayConfig;
  db: Db;
  wallet: Wallet;
  backend: ChainBackend;
  store: RelayStore;
  log: Logger;
  /** The relay's node key (ed25519, the information document's relayId): every ChannelAuth names it. */
  relayId: Uint8Array;
  /** Signs the standing terms (the node key's secret, relayId = ed.publicKey(nodeSecret)); without it GET .../terms answers CHANNELS_UNAVAILABLE. */
  signer?: { nodeSecret: Uint8Array; ed: Ed25519; url: () => string };
  now?: () => number;
}

export class RelayChannelService {
  readonly relay: RelayChannels;
  readonly watcher: ChannelWatcher;
  readonly book: ChannelBook;
  private readonly settleListeners = new Set<(s: SettleHtlc) => void>();
  private readonly now: () => number;

  constructor(private readonly deps: RelayChannelDeps) {
    this.now = deps.now ?? Date.now;
    this.book = new ChannelBook(deps.db);
    migrateStore(deps.db, 'relay-channel-keys', KEY_MIGRATIONS);
    this.relay = new RelayChannels({ book: this.book, wallet: deps.wallet, backend: deps.backend, minConfirmations: deps.config.confirmations });
    this.watcher = new ChannelWatcher({ backend: deps.backend, relay: this.relay });
    this.watcher.on('problem', (p) => deps.log.warn({ channel: p.id, err: p.error }, 'channel watcher problem'));
  }

  start(): Promise<void> {
    return this.watcher.start();
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }

  terms(): ChannelTerms {
    const c = this.deps.config;
    return {
      minCapacitySats: c.channelMinCapacitySats, maxCapacitySats: c.channelMaxCapacitySats, minChannelBlocks: c.channelMinBlocks,
      maxChannelBlocks: c.channelMaxBlocks, minClaimMarginBlocks: c.claimMarginBlocks, confirmations: c.confirmations, maxFeeRate: c.channelMaxFeeRate,
    };
  }

  /**
   * A fresh relay key for one channel (never handed out twice: the wallet's counter is persisted),
   * issued to `payerPubkey` (the key of the request's ChannelAuth): only a channel of that payer key may use it.
   */
  newKey(payerPubkey: Uint8Array): { keyIndex: number; relayPubkey: string } {
    const n = this.deps.wallet.nextContractKeyIndex();
    if (n > MAX_INDEX - CHANNEL_KEY_BASE) {
      throw new RelayError('KEYS_EXHAUSTED', `every channel key index up to ${MAX_INDEX} was issued; the relay cannot open more channels`);
    }
    const keyIndex = CHANNEL_KEY_BASE + n;
    this.deps.db.prepare('INSERT INTO channel_keys (key_index, issued_at, payer_pubkey) VALUES (?, ?, ?)').run(keyIndex, this.now(), payerPubkey);
    return { keyIndex, relayPubkey: hex.encode(this.deps.wallet.contractKey(keyIndex).pubkey33) };
  }

  /** A ChannelOpen with its funding: checked against the terms and the key handed out, then accepted ('opening'). */
  async open(open: ChannelOpen, fundingRaw: Uint8Array, keyIndex: number): Promise<ChannelView> {
    const t = this.terms();
    const bad = (what: string, exp: string, got: unknown) => new RelayError('CHANNEL_TERMS', expected(what, exp, got), { details: { terms: t } });
    const issued = Number.isSafeInteger(keyIndex)
      ? (this.deps.db.prepare('SELECT payer_pubkey FROM channel_keys WHERE key_index = ?').get(keyIndex) as { payer_pubkey: Uint8Array | null } | undefined)
      : undefined;
    if (!issued || (issued.payer_pubkey !== null && !bytesEqual(issued.payer_pubkey, open.payerPubkey))) {
      throw new RelayError('KEY_UNKNOWN', expected('keyIndex', 'an index this relay handed out by POST /v1/channel/key to this payer key', keyIndex));
    }
    if (this.book.list('relay').some((c) => c.keyIndex === keyIndex)) throw new RelayError('KEY_UNKNOWN', `key ${keyIndex} already belongs to another channel; ask for a fresh one`);
    if (open.capacity < t.minCapacitySats || open.capacity > t.maxCapacitySats) throw bad('capacity', `${t.minCapacitySats}..${t.maxCapacitySats} sats`, open.capacity);
    if (open.claimMargin < t.minClaimMarginBlocks) throw bad('claimMargin', `>= ${t.minClaimMarginBlocks} blocks`, open.claimMargin);
    if (open.feeRate > t.maxFeeRate) throw bad('feeRate', `<= ${t.maxFeeRate} sat/vB`, open.feeRate);
    let tip: number;
    try {
      tip = (await this.deps.backend.getTip()).height;
    } catch (cause) {
      throw new RelayError('CHAIN_UNAVAILABLE', 'the relay cannot reach its chain backend; try again later', { cause });
    }
    const blocks = open.channelLocktime - tip;
    if (blocks < t.minChannelBlocks || blocks > t.maxChannelBlocks) throw bad('channelLocktime', `tip ${tip} + ${t.minChannelBlocks}..${t.maxChannelBlocks}`, open.channelLocktime);
    const c = await refusing(() => this.relay.accept(open, fundingRaw, keyIndex));
    return channelView(c);
  }

  /** One payer update. An add paying a stored recipient-pays message is settled in the same answer. */
  async update(bytes: Uint8Array, store: RelayStore): Promise<{ channel: ChannelView; settle?: string }> {
    const m = await refusing(() => decodeChannelMessage(bytes));
    switch (m.type) {
      case 'add': {
        // The relay's own limit (channelMaxInFlight); a resend of an add it took is answered as before.
        const held = this.book.find(m.message.channelId);
        const max = this.deps.config.channelMaxInFlight;
        if (held?.role === 'relay' && held.state.inFlight.length >= max && !this.book.htlc(held.id, m.message.htlc.id)) {
          throw new RelayError('TOO_MANY_IN_FLIGHT', `channel ${held.id} has ${held.state.inFlight.length} HTLCs in flight, this relay's limit (channelMaxInFlight ${max}); pay again once messages are read`);
        }
        const c = await refusing(() => this.relay.onAdd(m.message));
        const h = m.message.htlc;
        if (h.mode === 'recipient-pays') {
          const s = await this.settleRecipientPays(store, h.hk);
          if (s) return { channel: channelView(this.book.get(c.id)), settle: hex.encode(encodeChannelMessage({ type: 'settle', message: s })) };
        }
        return { channel: channelView(c) };
      }
      case 'settle-ack':
        return { channel: channelView(await refusing(() => this.relay.onSettleAck(m.message))) };
      case 'fail':
        return { channel: channelView(await refusing(() => this.relay.onFail(m.message))) };
      case 'close-signed':
        return { channel: channelView(await refusing(() => this.relay.completeClose(m.message))) };
      default:
        throw new RelayError('BAD_REQUEST', `"type" expected add, settle-ack, fail or close-signed (a payer's update), got ${m.type}`);
    }
  }

  view(id: string): ChannelView {
    return channelView(this.get(id));
  }

  /** The view a payer asks for: a channel still opening is first checked against the chain now (RelayChannels.refresh). */
  async viewNow(id: string): Promise<ChannelView> {
    if (this.get(id).status === 'opening') {
      try {
        await this.relay.refresh(id);
      } catch (err) {
        // The chain could not be asked now: the last pass's view, as before.
        this.deps.log.warn({ err, channel: id }, 'channel view: funding not checked now');
      }
    }
    return this.view(id);
  }

  /**
   * Checks the ChannelAuth of a key, view or close request (`header`: its hex) and returns the
   * payer key it proves. A ChannelAuth that is not the payer's signature over exactly this
   * request to this relay, or names a channel this relay does not hold, gets the same
   * CHANNEL_AUTH_REFUSED: a stranger learns nothing about the channel, not even that it exists.
   * The (payer key, nonce) is taken once, so a replay within the clock skew is refused.
   */
  authorize(header: unknown, op: ChannelAuthOp, channelId: string = NO_CHANNEL): Uint8Array {
    if (header === undefined || header === '') {
      throw new RelayError('CHANNEL_AUTH_REQUIRED', `this request needs a ChannelAuth by the channel's payer key in the ${CHANNEL_AUTH_HEADER} header`);
    }
    if (!ID_RE.test(channelId)) throw new RelayError('BAD_REQUEST', expected('channel id', '64 lowercase hex characters', channelId));
    let a: ChannelAuth;
    try {
      if (typeof header !== 'string' || !HEX_RE.test(header)) throw new RelayError('BAD_REQUEST', expected(CHANNEL_AUTH_HEADER, 'lowercase hex', header));
      a = ChannelAuthCodec.decode(hex.decode(header));
    } catch (cause) {
      throw new RelayError('CHANNEL_AUTH_REFUSED', `the ${CHANNEL_AUTH_HEADER} header is not a ChannelAuth: ${(cause as Error).message}`, { cause });
    }
    const now = this.now();
    const skew = this.deps.config.authMaxSkewSecs * 1000;
    if (Math.abs(now - a.timestamp) > skew) {
      throw new RelayError('CHANNEL_AUTH_STALE', `"timestamp" expected within ${this.deps.config.authMaxSkewSecs} s of the relay's clock, got ${Math.round((a.timestamp - now) / 1000)} s off`);
    }
    const c = op === 'key' ? undefined : this.book.find(channelId);
    const payerOk = op === 'key' || (c !== undefined && c.role === 'relay' && bytesEqual(c.state.payerPubkey, a.payerPubkey));
    if (a.op !== op || a.channelId !== channelId || !verifyChannelAuth(a, this.deps.relayId) || !payerOk) {
      throw new RelayError('CHANNEL_AUTH_REFUSED', "the ChannelAuth is not the channel payer's signature over this request to this relay");
    }
    const db = this.deps.db;
    const taken = db.transaction(() => {
      db.prepare('DELETE FROM channel_auth_nonces WHERE expires_at < ?').run(now - skew);
      return db.prepare('INSERT OR IGNORE INTO channel_auth_nonces (payer_pubkey, nonce, expires_at) VALUES (?, ?, ?)').run(a.payerPubkey, a.nonce, a.timestamp + skew).changes === 1;
    })();
    if (!taken) throw new RelayError('CHANNEL_AUTH_REPLAYED', 'this ChannelAuth was used before; sign a fresh one (new nonce and timestamp)');
    return a.payerPubkey;
  }

  /**
   * The standing terms of an open channel (docs/protocol.md "Standing terms"), signed by the
   * node key: this relay's current prices and retention ceiling, for channelTermsSecs and at
   * most until the channel can carry no more HTLCs (T_ch − claim margin − 1). Signed afresh
   * on every request; a quote the relay issues while they hold never exceeds them as long as
   * its configuration is unchanged.
   */
  async standingTerms(id: string): Promise<Uint8Array> {
    const c = this.get(id);
    const signer = this.deps.signer;
    if (!signer) throw new RelayError('CHANNELS_UNAVAILABLE', 'this relay signs no standing terms');
    if (c.status !== 'open') throw new RelayError('BAD_STATE', `channel ${id} is ${c.status}, not open: it carries no messages, so it has no terms`);
    const cfg = this.deps.config;
    const now = this.now();
    const terms = signStandingTerms({
      relayId: this.deps.relayId, relayUrl: signer.url(), network: cfg.network, channelId: hex.decode(c.id), payerPubkey: c.state.payerPubkey,
      baseSats: cfg.priceBaseSats, perBlockSats: cfg.pricePerBlockSats, perDaySats: cfg.pricePerDaySats, maxRetentionSecs: retentionCeilingSecs(cfg),
      issuedAt: now, validUntil: now + cfg.channelTermsSecs * 1000, validUntilHeight: c.state.channelLocktime - c.state.claimMargin - 1,
    }, signer.nodeSecret, signer.ed);
    return StandingTermsCodec.encode(terms);
  }

  settles(id: string): SettleHtlc[] {
    this.get(id);
    return this.relay.unacknowledged(id);
  }

  async requestClose(id: string): Promise<Uint8Array> {
    this.get(id);
    const req = await refusing(() => this.relay.requestClose(id));
    return encodeChannelMessage({ type: 'close-request', message: req });
  }

  /** Listens to every SettleHtlc as it is committed (stream watchers). */
  onSettle(fn: (s: SettleHtlc) => void): () => void {
    this.settleListeners.add(fn);
    return () => this.settleListeners.delete(fn);
  }

  private get(id: string): ChannelRecord {
    if (typeof id !== 'string' || !ID_RE.test(id)) throw new RelayError('BAD_REQUEST', expected('channel id', '64 lowercase hex characters', id));
    const c = this.book.find(id);
    if (!c || c.role !== 'relay') throw new RelayError('UNKNOWN_CHANNEL', `this relay has no channel ${id}`);
    return c;
  }

  /**
   * The in-flight HTLC paying a message, if an open channel holds one whose claim deadline the
   * relay can still meet: same H(k) and mode, H(r) for sender-pays, amount >= the price.
   */
  async paying(quote: QuoteRow, hr: Uint8Array | undefined): Promise<{ channelId: string; htlcId: number } | undefined> {
    const rows = this.book.db
      .prepare(`SELECT channel_id, htlc_id FROM channel_htlcs WHERE hk = ? AND status = 'in-flight' AND mode = ? AND amount >= ?`)
      .all(quote.hk, quote.mode, quote.amount) as { channel_id: string; htlc_id: number }[];
    if (rows.length === 0) return undefined;
    const tip = (await this.deps.backend.getTip()).height;
    for (const r of rows) {
      const c = this.book.find(r.channel_id);
      if (!c || c.role !== 'relay' || c.status !== 'open') continue;
      const h = c.state.inFlight.find((x) => x.id === r.htlc_id);
      if (!h) continue;
      if (quote.mode === 'sender-pays' && !(h.hr && hr && bytesEqual(h.hr, hr))) continue;
      if (tip >= h.locktime - c.state.claimMargin - this.relay.closeLead) continue;
      return { channelId: c.id, htlcId: h.id };
    }
    return undefined;
  }

  /** "k (and r) revealed" committed, then the SettleHtlc goes to the stream watchers. */
  async settle(at: { channelId: string; htlcId: number }, k: Uint8Array, r?: Uint8Array): Promise<SettleHtlc> {
    const s = await refusing(() => this.relay.settle(at.channelId, at.htlcId, k, r));
    for (const l of this.settleListeners) l(s);
    return s;
  }

  private async settleRecipientPays(store: RelayStore, hk: Uint8Array): Promise<SettleHtlc | undefined> {
    const m = store.message(messageIdOf(hk));
    if (!m || m.mode !== 'recipient-pays' || m.expiresAt <= this.now()) return undefined;
    const quote = store.getQuote(m.quoteId);
    if (!quote) return undefined;
    const at = await this.paying(quote, undefined);
    if (!at) return undefined;
    const s = await this.settle(at, quote.k);
    if (m.state !== 'unlocked') await store.setState(m.id, 'unlocked');
    return s;
  }

  /** channels open, sats in them, settled HTLCs (messages) per open channel. */
  registerMetrics(registry: Registry): void {
    const book = this.book;
    const open = () => book.list('relay').filter((c) => c.status === 'open');
    const registers = [registry];
    new Gauge({ name: 'satpost_relay_channels_open', help: 'payment channels open to this relay', registers, collect() { this.set(open().length); } });
    new Gauge({ name: 'satpost_relay_channel_capacity_sats', help: 'sats in the funding of the open channels', registers, collect() { this.set(open().reduce((a, c) => a + c.state.capacity, 0)); } });
    new Gauge({ name: 'satpost_relay_channel_balance_sats', help: "the relay's balance summed over the open channels", registers, collect() { this.set(open().reduce((a, c) => a + c.state.relayBalance, 0)); } });
    new Gauge({
      name: 'satpost_relay_channel_messages', help: 'HTLCs (messages) settled per open channel', labelNames: ['channel'], registers,
      collect() {
        this.reset();
        for (const c of open()) this.set({ channel: c.id.slice(0, 16) }, book.htlcs(c.id).filter((h) => h.status === 'settled' || h.status === 'revealed').length);
      },
    });
  }
}

/**
 * The relay's payments with channels in front: a message an in-flight HTLC pays for is stored
 * without a contract and unlocked by settling the HTLC; anything else goes to `inner` (chain).
 */
export class ChannelPayments implements Payments {
  readonly modes: readonly PaymentMode[];

  constructor(private readonly inner: Payments, private readonly channels: RelayChannelService) {
    this.modes = inner.modes;
  }

  async deposit(quote: QuoteRow, d: Deposit): Promise<DepositPayment> {
    if (quote.mode === 'sender-pays' && (await this.channels.paying(quote, d.hr))) return { state: 'stored', paid: true };
    return this.inner.deposit(quote, d);
  }

  async unlock(ctx: UnlockContext, input: { r?: Uint8Array; notice?: PaymentNotice }): Promise<UnlockOutcome & { contractId?: string; payerPubkey?: Uint8Array }> {
    const { quote, message } = ctx;
    const senderReady = quote.mode === 'sender-pays' && input.r !== undefined;
    if (senderReady || (quote.mode === 'recipient-pays' && input.notice === undefined)) {
      const at = await this.channels.paying(quote, message.hr);
      if (at) {
        await this.channels.settle(at, quote.k, input.r);
        return { state: 'unlocked', k: quote.k };
      }
    }
    // A message already unlocked through a channel stays unlocked.
    if (message.state === 'unlocked' && message.contractId === undefined) return { state: 'unlocked', k: quote.k };
    return this.inner.unlock(ctx, input);
  }

  views(ids: readonly string[]): Promise<Map<string, ContractView>> {
    return this.inner.views(ids);
  }

  forget(ids: readonly string[]): Promise<void> {
    return this.inner.forget(ids);
  }

  stats(): { claimsPending: number; satsEarned: number } {
    return this.inner.stats();
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }
}

function jsonBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array) throw new RelayError('BAD_REQUEST', 'expected a JSON object');
  return body as Record<string, unknown>;
}

function octets(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array)) throw new RelayError('BAD_CONTENT_TYPE', 'expected an application/octet-stream body (a canonical channel message)');
  return body;
}

/** Decodes the JSON open request {open, funding, keyIndex}. */
export function openRequest(body: unknown): { open: ChannelOpen; funding: Uint8Array; keyIndex: number } {
  const b = jsonBody(body);
  const extra = Object.keys(b).filter((k) => k !== 'open' && k !== 'funding' && k !== 'keyIndex');
  if (extra.length > 0) throw new RelayError('BAD_REQUEST', `unknown field "${extra[0]}" in the open request`);
  const m = decodeOrRefuse(hexField(b, 'open'));
  if (m.type !== 'open') throw new RelayError('BAD_REQUEST', expected('open', 'a ChannelOpen (tag 0x30)', m.type));
  if (!Number.isSafeInteger(b.keyIndex)) throw new RelayError('BAD_REQUEST', expected('keyIndex', 'an integer', b.keyIndex));
  return { open: m.message, funding: hexField(b, 'funding'), keyIndex: b.keyIndex as number };
}

function decodeOrRefuse(bytes: Uint8Array) {
  try {
    return decodeChannelMessage(bytes);
  } catch (err) {
    throw channelRefusal(err);
  }
}

/** The channel core's refusals (ChannelError, WatchError), passed on with their own codes by channelRefusal. */
const CHANNEL_CORE_ERRORS = [
  'UNKNOWN_CHANNEL', 'DUPLICATE_CHANNEL', 'BAD_STATE', 'WRONG_KEY', 'NOT_A_CHANNEL', 'BAD_PARAMS', 'FUNDING_UNCONFIRMED', 'WRONG_CHANNEL',
  'STATE_NUMBER_MISMATCH', 'RELAY_BALANCE_DECREASED', 'AMOUNTS_MISMATCH', 'BAD_SIGNATURE', 'HTLC_EXPIRY_TOO_LATE', 'HTLC_EXPIRY_TOO_SOON', 'BAD_HTLC',
  'DUST_HTLC', 'DUPLICATE_HTLC', 'UNKNOWN_HTLC', 'TOO_MANY_IN_FLIGHT', 'INSUFFICIENT_CAPACITY', 'FAIL_TOO_EARLY', 'HTLC_REVEALED', 'IN_FLIGHT_NOT_EMPTY',
  'NO_COMMITMENT', 'BAD_TX', 'FUNDING_MISMATCH', 'BAD_ENCODING',
] as const satisfies readonly RelayErrorCode[];
const CHANNEL_AUTH_ERRORS = ['CHANNEL_AUTH_REQUIRED', 'CHANNEL_AUTH_STALE', 'CHANNEL_AUTH_REPLAYED', 'CHANNEL_AUTH_REFUSED'] as const satisfies readonly RelayErrorCode[];
const channelAuthHeader = {
  [CHANNEL_AUTH_HEADER]: { description: `ChannelAuth (0x${CHANNEL_AUTH_TAG.toString(16)}), hex, signed by the channel's payer key for this relay and op`, schema: { type: 'string', pattern: '^([0-9a-f]{2})+$' }, required: true },
};
const channelId = { id: { description: 'the channel id (64 lowercase hex)', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } } };
const VIEW = { description: 'The channel view (docs/relay-api.md, "Channels")', body: { json: { type: 'object', description: '{id, status, capacity, relayBalance, payerBalance, inFlight, inFlightSats, n, channelLocktime, claimMargin, feeRate, fundingTxid, fundingVout, fundingConfirmed, closeTxid?}' } } };
const CHANNEL_API = {
  key: {
    summary: 'Issue a channel contract key',
    description: 'A fresh relay contract key for a channel, recorded as issued to the ChannelAuth\'s payer key (op key).',
    tags: ['channels'], headers: channelAuthHeader,
    responses: { 200: { description: 'The key', body: { json: { type: 'object', properties: { keyIndex: { type: 'integer' }, relayPubkey: { type: 'string', description: '66 hex' } }, required: ['keyIndex', 'relayPubkey'] } } } },
    errors: ['CHANNELS_UNAVAILABLE', ...CHANNEL_AUTH_ERRORS, 'KEYS_EXHAUSTED'],
  },
  open: {
    summary: 'Open a channel',
    description: 'JSON {open: ChannelOpen (0x30) hex, funding: signed funding transaction hex, keyIndex}; answers the channel view (status opening until the funding is deep enough).',
    tags: ['channels'],
    body: { json: { type: 'object', properties: { open: { type: 'string' }, funding: { type: 'string' }, keyIndex: { type: 'integer' } }, required: ['open', 'funding', 'keyIndex'], additionalProperties: false } },
    responses: { 200: VIEW },
    errors: ['CHANNELS_UNAVAILABLE', 'KEY_UNKNOWN', 'CHANNEL_TERMS', 'CHAIN_UNAVAILABLE', ...CHANNEL_CORE_ERRORS],
  },
  update: {
    summary: 'Send a channel update',
    description: 'One payer update; an AddHtlc paying a stored recipient-pays message is settled in the same answer (`settle`: SettleHtlc hex carrying k). A refused update changes nothing; the same update twice is answered again.',
    tags: ['channels'],
    body: { binary: [binaryObject('AddHtlc', ADD_HTLC_TAG), binaryObject('SettleAck', SETTLE_ACK_TAG), binaryObject('FailHtlc', FAIL_HTLC_TAG), binaryObject('CloseSigned', CLOSE_SIGNED_TAG)] },
    responses: { 200: { description: 'The channel after the update', body: { json: { type: 'object', properties: { channel: { type: 'object' }, settle: { type: 'string' } }, required: ['channel'] } } } },
    errors: ['CHANNELS_UNAVAILABLE', 'CHAIN_UNAVAILABLE', ...CHANNEL_CORE_ERRORS],
  },
  view: {
    summary: 'View a channel', description: 'The channel as this relay holds it (ChannelAuth op view).',
    tags: ['channels'], params: channelId, headers: channelAuthHeader, responses: { 200: VIEW },
    errors: ['CHANNELS_UNAVAILABLE', ...CHANNEL_AUTH_ERRORS, 'UNKNOWN_CHANNEL'],
  },
  settles: {
    summary: 'Unacknowledged settles', description: 'The SettleHtlc messages (hex) the relay revealed and the payer has not acknowledged.',
    tags: ['channels'], params: channelId,
    responses: { 200: { description: 'The settles', body: { json: { type: 'object', properties: { settles: { type: 'array', items: { type: 'string' } } }, required: ['settles'] } } } },
    errors: ['CHANNELS_UNAVAILABLE', 'UNKNOWN_CHANNEL'],
  },
  terms: {
    summary: 'Standing terms of a channel',
    description: `The relay's signed StandingTerms (0x${STANDING_TERMS_TAG.toString(16)}, hex) for this open channel (ChannelAuth op terms): price per message as base + per 16 KiB of size class + per day of retention, the longest retention, valid until a time and a block height. A send over the channel asks this relay alone for a quote (POST /v1/quote) and takes it only at or under these prices: no offer to the network (docs/protocol.md "Standing terms").`,
    tags: ['channels'], params: channelId, headers: channelAuthHeader,
    responses: { 200: { description: 'The terms', body: { json: { type: 'object', properties: { terms: { type: 'string', description: 'StandingTerms, hex' } }, required: ['terms'] } } } },
    errors: ['CHANNELS_UNAVAILABLE', ...CHANNEL_AUTH_ERRORS, 'UNKNOWN_CHANNEL', 'BAD_STATE'],
  },
  close: {
    summary: 'Request a cooperative close', description: 'A CloseRequest (hex) the payer answers with CloseSigned through /v1/channel/update (ChannelAuth op close).',
    tags: ['channels'], params: channelId, headers: channelAuthHeader,
    responses: { 200: { description: 'The close request', body: { json: { type: 'object', properties: { closeRequest: { type: 'string' } }, required: ['closeRequest'] } } } },
    errors: ['CHANNELS_UNAVAILABLE', ...CHANNEL_AUTH_ERRORS, ...CHANNEL_CORE_ERRORS],
  },
} satisfies Record<string, RouteApi>;

/** Channel routes; with no chain (`channels` undefined) each answers CHANNELS_UNAVAILABLE. */
export function registerChannelRoutes(app: FastifyInstance, channels: RelayChannelService | undefined, store: RelayStore): void {
  const need = (): RelayChannelService => {
    if (!channels) throw new RelayError('CHANNELS_UNAVAILABLE', 'this relay has no chain backend, so it takes no payment channels');
    return channels;
  };
  const auth = (req: FastifyRequest): unknown => req.headers[CHANNEL_AUTH_HEADER];
  const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;
  app.post('/v1/channel/key', { schema: { api: CHANNEL_API.key } }, async (req) => {
    const s = need();
    return s.newKey(s.authorize(auth(req), 'key'));
  });
  app.post('/v1/channel/open', { schema: { api: CHANNEL_API.open } }, async (req) => {
    const s = need();
    const { open, funding, keyIndex } = openRequest(req.body);
    return s.open(open, funding, keyIndex);
  });
  app.post('/v1/channel/update', { schema: { api: CHANNEL_API.update } }, async (req) => need().update(octets(req.body), store));
  app.get('/v1/channel/:id', { schema: { api: CHANNEL_API.view } }, async (req) => {
    const s = need();
    s.authorize(auth(req), 'view', idOf(req));
    return s.viewNow(idOf(req));
  });
  app.get('/v1/channel/:id/settles', { schema: { api: CHANNEL_API.settles } }, async (req) => ({
    settles: need().settles((req.params as { id: string }).id).map((s) => hex.encode(encodeChannelMessage({ type: 'settle', message: s }))),
  }));
  app.get('/v1/channel/:id/terms', { schema: { api: CHANNEL_API.terms } }, async (req) => {
    const s = need();
    s.authorize(auth(req), 'terms', idOf(req));
    return { terms: hex.encode(await s.standingTerms(idOf(req))) };
  });
  app.post('/v1/channel/:id/close', { schema: { api: CHANNEL_API.close } }, async (req) => {
    const s = need();
    s.authorize(auth(req), 'close', idOf(req));
    return { closeRequest: hex.encode(await s.requestClose(idOf(req))) };
  });
}
