/**
 * The payer's channels with relays (SDK): open one with a relay's fresh key, pay a message with
 * an HTLC, take the relay's settles (k, r checked against the hashes by the payer's core before
 * anything is signed), fail back what expired, and close cooperatively. Every state is
 * committed by PayerChannels before its message leaves, so a lost answer is repaired by sending
 * `lastSent` again (`resync`): the relay answers a byte-identical resend as it did the first time.
 *
 * Which relay a channel is with is recorded (ChannelRelays, client.sqlite) under the relay's
 * fresh channel key BEFORE the wallet funds the channel: a crash between the funding and
 * telling the relay is repaired by telling it again.
 *
 * Talks to the relay routes of docs/relay-api.md "Channels" through RelayClient.
 */
import { parseTx } from '../wallet/tx-parse.ts';
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import {
  ChannelError, MAX_IN_FLIGHT, decodeChannelMessage, layout,
  type AddHtlc, type ChannelAuth, type ChannelMessage, type CloseRequest, type Htlc, type NewHtlc, type SettleHtlc,
} from '../channels/index.ts';
import { expected } from '../core/errors.ts';
import { nobleEd25519, type Ed25519 } from '../core/ed25519.ts';
import { bytesEqual } from '../core/hash.ts';
import { standingTermsCurrent, verifyStandingTerms, type StandingTerms } from '../core/objects/index.ts';
import { WalletError } from '../wallet/index.ts';
import { encodeChannelMessage, type ChannelState } from '../channels/index.ts';
import type { ChannelRecord, HtlcRecord } from '../watch/channel-book.ts';
import type { PayerChannels } from '../watch/channel-payer.ts';
import { WatchError } from '../watch/errors.ts';
import type { ChannelTerms } from '../core/wire/lookup-answer.ts';
import { isChannelRefusal } from './channel-outcome.ts';
import { ClientError } from './errors.ts';
import { relayClients } from './mail-context.ts';
import type { RelayChannelView, RelayClient, RelayInfo } from './relay-client.ts';
import type { ChannelRelayRow } from './store.ts';

export type { RelayChannelView } from './relay-client.ts';

/** A channel as `channel list` shows it. */
export interface ChannelSummary {
  id: string;
  /** The relay's URL ('' if this directory never recorded it). */
  relay: string;
  /**
   * The payer's status (docs/protocol.md "Persistence"): 'opening' until the funding has one
   * confirmation here, then 'open'; the relay takes HTLCs once it is `confirmations` deep there
   * (`usable` checks the relay's view). Then closing-cooperative, closed-cooperative, ...
   */
  status: string;
  capacity: number;
  /** Sats settled to the relay. */
  relayBalance: number;
  /** Sats still the payer's (before the fee of the close). */
  payerBalance: number;
  /** Messages paid through it so far (every HTLC it carried, read, in flight or failed back). */
  carried: number;
  /** HTLCs in flight and the sats in them. */
  inFlight: number;
  inFlightSats: number;
  /** T_ch, the block height from which the payer may take everything back by the exit path. */
  expiry: number;
  /** expiry − tip when the tip was known. */
  blocksLeft?: number;
  fundingTxid: string;
  /** The cooperative close, once signed. */
  closeTxid?: string;
  /** Its fee, sats: taken from the payer's side (capacity less what the close pays out). */
  closeFee?: number;
  /** False while the relay has not accepted the open (sync tells it again). */
  relayTold: boolean;
  /** Why sends avoid this channel in this process (a refused update), if any. */
  problem?: string;
}

export interface ChannelOpenOptions {
  sats: number;
  /** Channel life in blocks (T_ch = tip + blocks); default DEFAULT_CHANNEL_BLOCKS, within the relay's terms. */
  blocks?: number;
  /** Default: the relay's minClaimMarginBlocks. */
  claimMargin?: number;
  /** sat/vB of every commitment and of the close, fixed for the channel's life; default DEFAULT_CHANNEL_FEE_RATE. */
  feeRate?: number;
  signal?: AbortSignal;
}

/** About a week of blocks. */
export const DEFAULT_CHANNEL_BLOCKS = 1008;
export const DEFAULT_CHANNEL_FEE_RATE = 2;
/**
 * Recipient-pays HTLCs expire this many blocks after the earliest T_i the relay accepts: the
 * relay settles them in the add's answer, so a short life only bounds how long the sats stay
 * locked if it does not.
 */
export const RECIPIENT_HTLC_SLACK_BLOCKS = 6;

/** Where each channel's relay is recorded (ClientStore implements it on client.sqlite). */
export interface ChannelRelays {
  rememberChannelRelay(r: { relayPubkey: string; relay: string; keyIndex: number; now: number }): void;
  channelRelay(relayPubkey: string): ChannelRelayRow | undefined;
  markChannelTold(relayPubkey: string, now: number): void;
}

/** An in-memory ChannelRelays (tests, tools that keep no client store). */
export function memoryChannelRelays(): ChannelRelays {
  const rows = new Map<string, ChannelRelayRow>();
  return {
    rememberChannelRelay: (r) => void (rows.has(r.relayPubkey) || rows.set(r.relayPubkey, { relayPubkey: r.relayPubkey, relay: r.relay, keyIndex: r.keyIndex, toldAt: null })),
    channelRelay: (k) => rows.get(k),
    markChannelTold: (k, now) => {
      const r = rows.get(k);
      if (r && r.toldAt === null) r.toldAt = now;
    },
  };
}

export interface ClientChannelsOptions {
  payer: PayerChannels;
  relays: ChannelRelays;
  /** The chain tip height. */
  tip: (signal?: AbortSignal) => Promise<number>;
  now?: () => number;
  /** Per relay request, ms; default 15,000 (unused when `relay` is given). */
  timeoutMs?: number;
  /** The RelayClient of a URL (e.g. the client's shared relayClients()); default one per URL here. */
  relay?: (url: string) => RelayClient;
  /** Verifies the relays' standing terms; default noble's. */
  ed?: Ed25519;
  /**
   * Told of each HTLC this side settled (the relay's settle taken: k known) or failed back, as
   * soon as its book holds it, whichever call took it (a sync, a resync, a payment choosing the
   * channel): the client marks the message it paid delivered or refunded.
   */
  onHtlcDone?: (h: HtlcRecord) => void;
}

/** What one sync of a channel did. */
export interface ChannelSyncResult {
  /** HTLCs whose settle was taken now (k, and r for sender-pays, known). */
  settled: HtlcRecord[];
  /** HTLCs failed back now (past T_i − claim_margin with no settle). */
  failed: HtlcRecord[];
}

const canonical = (url: string) => url.replace(/\/+$/, '');

export class ClientChannels {
  readonly payer: PayerChannels;
  private readonly relays: ChannelRelays;
  private readonly tip: (signal?: AbortSignal) => Promise<number>;
  private readonly now: () => number;
  private readonly relay: (url: string) => RelayClient;
  /** The relay's view after its last answer (this process only): saves a GET per payment. */
  private readonly views = new Map<string, RelayChannelView>();
  private readonly problems = new Map<string, string>();
  /** Each relay's node key (its information document's relayId), which every ChannelAuth to it names. */
  private readonly relayIds = new Map<string, Uint8Array>();
  /** Each channel's standing terms (this process): kept until they lapse (docs/protocol.md "Standing terms"). */
  private readonly standing = new Map<string, StandingTerms>();
  private readonly ed: Ed25519;
  /** Standing terms fetched from relays by this process (each a GET /v1/channel/:id/terms). */
  termsFetched = 0;
  /** Quotes refused by this process for exceeding their relay's standing terms (TERMS_EXCEEDED), oldest first. */
  readonly termsRefusals: ClientError[] = [];

  private readonly onHtlcDone: (h: HtlcRecord) => void;
  /**
   * Per channel, the tail of its updates: pay, resync, sync and close run one after another, so
   * that an add and a settle's acknowledgement never leave at once (the relay would take them
   * in either order, refuse one as a state out of turn, and a refused add goes to the chain).
   */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(o: ClientChannelsOptions) {
    this.payer = o.payer;
    this.ed = o.ed ?? nobleEd25519;
    this.relays = o.relays;
    this.tip = o.tip;
    this.now = o.now ?? Date.now;
    this.relay = o.relay ?? relayClients(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {});
    this.onHtlcDone = o.onHtlcDone ?? (() => undefined);
  }

  /**
   * Opens a channel to `relayUrl`: its terms checked first (nothing is funded for a channel the
   * relay would refuse), a fresh relay key, its URL recorded, the funding built and broadcast by
   * the wallet, then the relay told. Status 'opening' until the funding confirms; the relay takes
   * HTLCs once it is `confirmations` deep. Throws CHANNELS_UNAVAILABLE, CHANNEL_TERMS,
   * INSUFFICIENT_FUNDS, RELAY_UNREACHABLE (after the funding: the next sync tells the relay
   * again, and the exit after T_ch returns the sats if it never takes it), or the relay's code.
   */
  async open(relayUrl: string, o: ChannelOpenOptions): Promise<ChannelSummary> {
    const url = canonical(relayUrl);
    const relay = this.relay(url);
    const info = await relay.info(o.signal);
    this.rememberRelayId(url, info);
    const t = info.channels as Partial<ChannelTerms> | undefined;
    if (!t) throw new ClientError('CHANNELS_UNAVAILABLE', `relay ${url} takes no payment channels`);
    const terms = (what: string, range: string, got: unknown) => {
      const e = new ClientError('CHANNEL_TERMS', `relay ${url}: ${expected(what, range, got)}`);
      e.details = { terms: t };
      e.relay = url;
      return e;
    };
    if (!Number.isSafeInteger(o.sats) || o.sats < (t.minCapacitySats ?? 0) || o.sats > (t.maxCapacitySats ?? Infinity)) {
      throw terms('sats', `${t.minCapacitySats}..${t.maxCapacitySats}`, o.sats);
    }
    const blocks = o.blocks ?? Math.min(Math.max(DEFAULT_CHANNEL_BLOCKS, t.minChannelBlocks ?? 0), t.maxChannelBlocks ?? Infinity);
    if (!Number.isSafeInteger(blocks) || blocks < (t.minChannelBlocks ?? 1) || blocks > (t.maxChannelBlocks ?? Infinity)) {
      throw terms('blocks', `${t.minChannelBlocks}..${t.maxChannelBlocks}`, blocks);
    }
    const feeRate = o.feeRate ?? Math.min(DEFAULT_CHANNEL_FEE_RATE, t.maxFeeRate ?? Infinity);
    if (feeRate > (t.maxFeeRate ?? Infinity)) throw terms('feeRate', `<= ${t.maxFeeRate} sat/vB`, feeRate);
    const claimMargin = o.claimMargin ?? t.minClaimMarginBlocks ?? 12;
    if (claimMargin < (t.minClaimMarginBlocks ?? 0)) throw terms('claimMargin', `>= ${t.minClaimMarginBlocks} blocks`, claimMargin);

    // The relay keeps its key for a channel of the payer key that asked for it.
    const payerKey = this.payer.newPayerKey();
    const key = await relay.channelKey(await this.auth(url, { op: 'key', payerKeyIndex: payerKey.keyIndex }, o.signal), o.signal);
    if (typeof key.relayPubkey !== 'string' || !/^[0-9a-f]{66}$/.test(key.relayPubkey) || !Number.isSafeInteger(key.keyIndex)) {
      throw new ClientError('BAD_RELAY_ANSWER', `relay ${url}: expected {keyIndex, relayPubkey} from /v1/channel/key`);
    }
    this.relays.rememberChannelRelay({ relayPubkey: key.relayPubkey, relay: url, keyIndex: key.keyIndex, now: this.now() });
    let opened;
    try {
      opened = await this.payer.open(
        { relayPubkey: hex.decode(key.relayPubkey), capacity: o.sats, channelLocktime: (await this.tip(o.signal)) + blocks, claimMargin, feeRate, payerKeyIndex: payerKey.keyIndex },
        o.signal,
      );
    } catch (err) {
      if (WalletError.is(err, 'INSUFFICIENT_FUNDS')) throw new ClientError('INSUFFICIENT_FUNDS', `cannot fund a channel of ${o.sats} sats: ${err.message}`, { cause: err });
      throw err;
    }
    const c = opened.channel;
    if (c.status === 'abandoned') throw new ClientError('BAD_RELAY_ANSWER', `the chain refused the funding of channel ${c.id}; nothing was spent`);
    try {
      await this.tell(c, o.signal);
    } catch (err) {
      if (ClientError.is(err, 'RELAY_UNREACHABLE')) {
        throw new ClientError(
          'RELAY_UNREACHABLE',
          `channel ${c.id} is funded (${c.fundingTxid}) but relay ${url} could not be told: ${err.message}; ` +
            `\`satpost channel list\` tells it again, and if it never takes the channel the sats come back by the exit after block ${c.state.channelLocktime}`,
          { cause: err },
        );
      }
      throw err;
    }
    return this.summary(this.payer.book.get(c.id));
  }

  /** Every payer channel, newest last; `tip` adds blocksLeft. */
  list(tip?: number): ChannelSummary[] {
    return this.payer.book.list('payer').map((c) => this.summary(c, tip));
  }

  /** One channel by id or unique id prefix (UNKNOWN_CHANNEL). */
  get(id: string, tip?: number): ChannelSummary {
    return this.summary(this.record(id), tip);
  }

  /** The full id of a channel given by id or unique prefix (at least 4 hex characters). */
  resolve(id: string): string {
    return this.record(id).id;
  }

  /**
   * The first channel with `relayUrl` that can carry this HTLC now: open here and at the relay
   * (same state number, so nothing is pending), T_i within [tip + claim_margin + 2,
   * T_ch − claim_margin − 1], room for one more output, and the payer's side paying the amount
   * and the new commitment's fee. One GET of the relay's view when this process has none.
   */
  async usable(
    relayUrl: string, h: Omit<NewHtlc, 'locktime'> & { locktime?: number }, signal?: AbortSignal, tipHeight?: number,
  ): Promise<{ channel: ChannelRecord; locktime: number; tip: number } | undefined> {
    const url = canonical(relayUrl);
    const candidates = this.payer.book.list('payer').filter((c) => c.status === 'open' && this.relayOf(c)?.relay === url && !this.problems.has(c.id));
    if (candidates.length === 0) return undefined;
    const tip = tipHeight ?? (await this.tip(signal));
    for (const c of candidates) {
      const s = c.state;
      const earliest = tip + s.claimMargin + 2;
      const latest = s.channelLocktime - s.claimMargin - 1;
      const locktime = h.locktime ?? Math.min(earliest + RECIPIENT_HTLC_SLACK_BLOCKS, latest);
      if (locktime < earliest || locktime > latest || s.inFlight.length + 1 > MAX_IN_FLIGHT) continue;
      if (s.inFlight.some((x) => hex.encode(x.hk) === hex.encode(h.hk))) continue;
      const probe: Htlc = { id: s.nextHtlcId, mode: h.mode, hk: h.hk, ...(h.hr ? { hr: h.hr } : {}), amount: h.amount, locktime };
      try {
        layout(s, s.relayBalance, [...s.inFlight, probe]);
      } catch (err) {
        if (err instanceof ChannelError) continue;
        throw err;
      }
      try {
        const view = await this.resync(c.id, signal);
        if (view.status === 'open' && view.fundingConfirmed && view.n === this.payer.book.get(c.id).n) return { channel: this.payer.book.get(c.id), locktime, tip };
      } catch (err) {
        if (signal?.aborted) throw err;
        // An unreachable or refusing relay: this channel cannot carry the payment now.
      }
    }
    return undefined;
  }

  /**
   * The open channels a send may take standing terms from (recorded relay, relay told, no
   * refused update in this process), oldest first: {channel id, relay URL}.
   */
  accounts(): { channelId: string; relay: string }[] {
    const out: { channelId: string; relay: string }[] = [];
    for (const c of this.payer.book.list('payer')) {
      const r = c.status === 'open' && !this.problems.has(c.id) ? this.relayOf(c) : undefined;
      if (r && r.toldAt !== null) out.push({ channelId: c.id, relay: r.relay });
    }
    return out;
  }

  /**
   * The relay's standing terms for a channel: the ones this process holds while they hold (now
   * before validUntil, `tip` below validUntilHeight), else fetched afresh (GET
   * /v1/channel/:id/terms, ChannelAuth op terms) and checked: the relay's node key signed them,
   * for this channel and its payer key, and they hold now. BAD_RELAY_ANSWER otherwise; the
   * relay's code (UNKNOWN_CHANNEL, BAD_STATE, CHANNELS_UNAVAILABLE, ...) as it comes.
   */
  async standingTerms(channelId: string, tip: number, signal?: AbortSignal): Promise<StandingTerms> {
    const held = this.standing.get(channelId);
    if (held && standingTermsCurrent(held, this.now(), tip)) return held;
    this.standing.delete(channelId);
    const c = this.payer.book.get(channelId);
    const r = this.relayOf(c);
    if (!r) throw new ClientError('NO_RELAYS', `no relay is recorded for channel ${channelId}`);
    const auth = await this.auth(r.relay, { op: 'terms', channelId }, signal);
    const t = await this.relay(r.relay).channelTerms(channelId, auth, signal);
    this.termsFetched++;
    const bad = (why: string) => new ClientError('BAD_RELAY_ANSWER', `relay ${r.relay}: the standing terms of channel ${channelId} ${why}`);
    if (!bytesEqual(t.relayId, this.relayIds.get(r.relay)!) || !verifyStandingTerms(t, this.ed)) throw bad("are not signed by the relay's node key");
    if (hex.encode(t.channelId) !== channelId || !bytesEqual(t.payerPubkey, c.state.payerPubkey)) throw bad('name another channel or payer key');
    if (!standingTermsCurrent(t, this.now(), tip)) throw bad(`have lapsed already (validUntil ${t.validUntil}, height ${t.validUntilHeight}, tip ${tip})`);
    this.standing.set(channelId, t);
    return t;
  }

  /** Drops a channel's standing terms held here: the next standingTerms() fetches them afresh. */
  forgetTerms(channelId: string): void {
    this.standing.delete(channelId);
  }

  /**
   * Adds the HTLC paying one message and sends it; a settle in the relay's answer
   * (recipient-pays) is taken at once and its k returned. The add is committed before it
   * leaves. A refusal (the local core's ChannelError / WatchError before anything is sent, or the
   * relay's code) is thrown: the add is not in the relay's book, and once the relay's view confirms it is still at the state before,
   * the add is undone in the payer's book (persisted: no later process resends it, the next add
   * reuses its state number and id; the channel stays usable). RELAY_UNREACHABLE and every outcome that is not a refusal
   * (./channel-outcome.ts) leave the add to be resent by `resync`; anything
   * wrong with the settle after an accepted add is BAD_RELAY_ANSWER. `tipHeight`: the tip the
   * caller checked the payment against (e.g. usable's), else it is fetched.
   */
  pay(channelId: string, terms: NewHtlc, signal?: AbortSignal, tipHeight?: number): Promise<{ add: AddHtlc; k?: Uint8Array }> {
    return this.serial(channelId, () => this.payNow(channelId, terms, signal, tipHeight));
  }

  private async payNow(channelId: string, terms: NewHtlc, signal?: AbortSignal, tipHeight?: number): Promise<{ add: AddHtlc; k?: Uint8Array }> {
    const add = await this.payer.add(channelId, terms, signal, tipHeight);
    let ans: { settle?: string };
    try {
      ans = await this.send(channelId, { type: 'add', message: add }, signal);
    } catch (err) {
      if (isChannelRefusal(err) && !signal?.aborted) await this.undoRefused(channelId, add, err as ClientError, signal);
      throw err;
    }
    if (ans.settle === undefined) return { add };
    const s = this.settleOf(ans.settle);
    try {
      await this.takeSettle(channelId, s, signal);
    } catch (err) {
      // The add is in the relay's book now: whatever goes wrong with its settle is no refusal of the add.
      if (ClientError.is(err, 'RELAY_UNREACHABLE') || ClientError.is(err, 'CANCELLED')) throw err;
      throw new ClientError('BAD_RELAY_ANSWER', `the relay's settle of htlc ${add.htlc.id} in channel ${channelId} was not taken: ${(err as Error).message}`, { cause: err });
    }
    return { add, k: s.k };
  }

  /**
   * Brings the relay up to this side's state: tells it of the open if it never accepted it,
   * and resends the last update when the relay is one state behind (an answer lost to a crash
   * or a dropped connection). Returns the relay's view.
   */
  resync(channelId: string, signal?: AbortSignal): Promise<RelayChannelView> {
    return this.serial(channelId, () => this.resyncNow(channelId, signal));
  }

  private async resyncNow(channelId: string, signal?: AbortSignal): Promise<RelayChannelView> {
    const c = this.payer.book.get(channelId);
    const cached = this.views.get(channelId);
    if (cached && cached.n === c.n && cached.status === 'open') return cached;
    const r = this.relayOf(c);
    if (!r) throw new ClientError('NO_RELAYS', `no relay is recorded for channel ${channelId}`);
    if (r.toldAt === null) await this.tell(c, signal);
    let view = await this.relay(r.relay).channelView(channelId, await this.auth(r.relay, { op: 'view', channelId }, signal), signal);
    if (view.n + 1 === c.n) {
      const last = this.payer.lastSent(channelId);
      if (last && last.type !== 'open') {
        const ans = await this.send(channelId, last, signal);
        view = this.views.get(channelId) ?? view;
        if (ans.settle !== undefined) await this.takeSettle(channelId, this.settleOf(ans.settle), signal);
      }
    }
    this.views.set(channelId, view);
    return view;
  }

  /**
   * Takes every settle the relay has not seen acknowledged (its k and r checked by the payer's
   * core before the acknowledgement is signed), then fails back every HTLC past
   * T_i − claim_margin. Settles come first: a message read just before its deadline is paid,
   * not failed.
   */
  sync(channelId: string, signal?: AbortSignal): Promise<ChannelSyncResult> {
    return this.serial(channelId, () => this.syncNow(channelId, signal));
  }

  private async syncNow(channelId: string, signal?: AbortSignal): Promise<ChannelSyncResult> {
    const c = this.payer.book.get(channelId);
    const out: ChannelSyncResult = { settled: [], failed: [] };
    if (c.status !== 'open') return out;
    await this.resyncNow(channelId, signal);
    const r = this.relayOf(c)!;
    const pending = await this.relay(r.relay).channelSettles(channelId, signal);
    for (const h of pending.settles ?? []) {
      const s = this.settleOf(h);
      await this.takeSettle(channelId, s, signal);
      out.settled.push(this.payer.book.htlc(channelId, s.htlcId)!);
    }
    const tip = await this.tip(signal);
    for (const h of this.payer.book.get(channelId).state.inFlight) {
      if (tip < h.locktime - c.state.claimMargin) continue;
      const fail = await this.payer.fail(channelId, h.id, signal);
      await this.send(channelId, { type: 'fail', message: fail }, signal);
      out.failed.push(this.payer.book.htlc(channelId, h.id)!);
      this.onHtlcDone(out.failed.at(-1)!);
    }
    return out;
  }

  /**
   * One sync of every payer channel that is opening or open: a relay never told of an open is
   * told, an open channel is synced (settles taken, expired HTLCs failed back). Failures are
   * reported per channel, never thrown.
   */
  async syncAll(signal?: AbortSignal): Promise<{ id: string; result?: ChannelSyncResult; error?: unknown }[]> {
    const out: { id: string; result?: ChannelSyncResult; error?: unknown }[] = [];
    for (const c of this.payer.book.list('payer')) {
      if (c.status !== 'opening' && c.status !== 'open') continue;
      try {
        if (this.relayOf(c)?.toldAt === null) await this.tell(c, signal);
        out.push({ id: c.id, result: await this.sync(c.id, signal) });
      } catch (error) {
        if (signal?.aborted) throw error;
        out.push({ id: c.id, error });
      }
    }
    return out;
  }

  /**
   * Cooperative close: settles taken first, then the relay's CloseRequest checked, signed and
   * sent back; the relay completes and broadcasts the close, and this side stores it (the
   * watcher rebroadcasts it and sweeps the payer's output once it confirms). Throws
   * IN_FLIGHT_NOT_EMPTY while messages are unread, RELAY_UNREACHABLE (with the hint that the
   * payer's exit after T_ch needs no relay).
   */
  close(channelId: string, signal?: AbortSignal): Promise<ChannelSummary> {
    return this.serial(channelId, () => this.closeNow(channelId, signal));
  }

  private async closeNow(channelId: string, signal?: AbortSignal): Promise<ChannelSummary> {
    const c = this.payer.book.get(channelId);
    if (c.status === 'closing-cooperative' || c.status === 'closed-cooperative') {
      const last = this.payer.lastSent(channelId);
      // The CloseSigned may not have reached the relay: resend it (the relay answers a resend again).
      if (last?.type === 'close-signed') await this.send(channelId, last, signal).catch(() => undefined);
      return this.summary(this.payer.book.get(channelId));
    }
    const r = this.relayOf(c);
    try {
      await this.syncNow(channelId, signal);
      if (this.payer.book.get(channelId).state.inFlight.length > 0) {
        const n = this.payer.book.get(channelId).state.inFlight.length;
        throw new ClientError('IN_FLIGHT_NOT_EMPTY', `channel ${channelId} has ${n} HTLC(s) in flight (messages not read yet); close once they are settled or failed back`);
      }
      const { closeRequest } = await this.relay(r!.relay).channelClose(channelId, await this.auth(r!.relay, { op: 'close', channelId }, signal), signal);
      const req = this.decode(closeRequest);
      if (req.type !== 'close-request') throw new ClientError('BAD_RELAY_ANSWER', 'the close answer carried no CloseRequest');
      const signed = await this.payer.onCloseRequest(req.message as CloseRequest);
      await this.send(channelId, { type: 'close-signed', message: signed }, signal);
    } catch (err) {
      if (ClientError.is(err, 'RELAY_UNREACHABLE')) {
        throw new ClientError(
          'RELAY_UNREACHABLE',
          `${err.message}; a cooperative close needs the relay. Without it nothing is lost: from block ${c.state.channelLocktime} (T_ch) ` +
            `the watcher takes the sats back by the exit path on its own (keep satpost running or run it again then)`,
          { cause: err },
        );
      }
      throw err;
    }
    return this.summary(this.payer.book.get(channelId));
  }

  private serial<T>(channelId: string, run: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(channelId) ?? Promise.resolve()).then(run, run);
    const tail = next.catch(() => undefined);
    this.queues.set(channelId, tail);
    // The map keeps no settled tail: a channel with nothing queued has no entry.
    void tail.then(() => { if (this.queues.get(channelId) === tail) this.queues.delete(channelId); });
    return next;
  }

  /** Every payer channel record as the book holds it (a summary: list()). */
  all(): ChannelRecord[] {
    return this.payer.book.list('payer');
  }

  /** The channel's current state as this side's book holds it. */
  state(channelId: string): ChannelState {
    return this.payer.book.get(channelId).state;
  }

  /** Every HTLC the channel ever carried. */
  htlcsOf(channelId: string): HtlcRecord[] {
    return this.payer.book.htlcs(channelId);
  }

  /** The channel's HTLC for the message of H(k) = hk, if it ever carried one. */
  htlcFor(channelId: string, hk: Uint8Array): HtlcRecord | undefined {
    return this.payer.book.htlcs(channelId).find((h) => bytesEqual(h.hk, hk));
  }

  /**
   * True while this payer's book holds a signed HTLC with this H(k) in the channel (in flight,
   * revealed, settled...). `orRefused`: also one the relay refused (ChannelBook.refusedAdds):
   * the relay saw the payer's signature of that state, even if the payer undid it.
   */
  signedFor(channelId: string, hk: Uint8Array, o: { orRefused?: boolean } = {}): boolean {
    const same = (x: { hk: Uint8Array }) => hex.encode(x.hk) === hex.encode(hk);
    return this.payer.book.htlcs(channelId).some(same) || (o.orRefused === true && this.payer.book.refusedAdds(channelId).some(same));
  }

  /**
   * The relay refused `add`: undone in the payer's book once the relay's own view shows it a
   * state behind (so the add is not in its book). If the view cannot be had, or shows the add
   * taken, nothing is undone: the add stays, and resync settles it either way.
   */
  private async undoRefused(channelId: string, add: AddHtlc, err: ClientError | Error, signal?: AbortSignal): Promise<void> {
    if (!ClientError.is(err)) return; // the local core refused before anything was committed or sent
    const r = this.relayOf(this.payer.book.get(channelId));
    if (!r) return;
    let view: RelayChannelView;
    try {
      view = await this.relay(r.relay).channelView(channelId, await this.auth(r.relay, { op: 'view', channelId }, signal), signal);
    } catch {
      return;
    }
    if (view.n >= add.n) return;
    try {
      await this.payer.refuseAdd(channelId, add, err.code);
    } catch (cause) {
      // Another update came after it (another process): the add stays, signed, and resync settles it.
      if (WatchError.is(cause, 'BAD_STATE')) return;
      throw cause;
    }
    this.views.delete(channelId);
  }

  /** The relay recorded for a channel, from its relay key. */
  relayOf(c: ChannelRecord): ChannelRelayRow | undefined {
    return this.relays.channelRelay(hex.encode(c.state.relayPubkey));
  }

  private async tell(c: ChannelRecord, signal?: AbortSignal): Promise<void> {
    const r = this.relayOf(c);
    if (!r) throw new ClientError('NO_RELAYS', `no relay is recorded for channel ${c.id}`);
    const open = this.payer.book.messages(c.id, { direction: 'out', type: 'open' }).at(-1);
    if (!open || !c.fundingRaw) throw new ClientError('BAD_DATA_DIR', `channel ${c.id} lost its open message or funding`);
    try {
      await this.relay(r.relay).channelOpen({ open: hex.encode(open.bytes), funding: hex.encode(c.fundingRaw), keyIndex: r.keyIndex }, signal);
    } catch (err) {
      // Told before (the answer was lost): the relay knows the channel.
      if (!ClientError.is(err, 'DUPLICATE_CHANNEL')) throw err;
    }
    this.relays.markChannelTold(r.relayPubkey, this.now());
  }

  /** A fresh ChannelAuth (now, 16 random bytes) for one request to the relay at `url`. */
  private async auth(url: string, req: Parameters<PayerChannels['authorize']>[0], signal?: AbortSignal): Promise<ChannelAuth> {
    let relayId = this.relayIds.get(url);
    if (!relayId) relayId = this.rememberRelayId(url, await this.relay(url).info(signal));
    return this.payer.authorize(req, relayId, { timestamp: this.now(), nonce: new Uint8Array(randomBytes(16)) });
  }

  private rememberRelayId(url: string, info: RelayInfo): Uint8Array {
    if (typeof info.relayId !== 'string' || !/^[0-9a-f]{64}$/.test(info.relayId)) {
      throw new ClientError('BAD_RELAY_ANSWER', `relay ${url}: "relayId" expected 64 lowercase hex characters in its information document`);
    }
    const id = hex.decode(info.relayId);
    this.relayIds.set(url, id);
    return id;
  }

  private async takeSettle(channelId: string, s: SettleHtlc, signal?: AbortSignal): Promise<void> {
    if (s.channelId !== channelId) throw new ClientError('BAD_RELAY_ANSWER', `a settle for channel ${s.channelId} came on ${channelId}`);
    const ack = await this.payer.onSettle(s);
    this.onHtlcDone(this.payer.book.htlc(channelId, s.htlcId)!);
    await this.send(channelId, { type: 'settle-ack', message: ack }, signal);
  }

  private async send(channelId: string, m: ChannelMessage, signal?: AbortSignal): Promise<{ settle?: string }> {
    const r = this.relayOf(this.payer.book.get(channelId));
    if (!r) throw new ClientError('NO_RELAYS', `no relay is recorded for channel ${channelId}`);
    let ans: { channel?: RelayChannelView; settle?: unknown };
    try {
      ans = await this.relay(r.relay).channelUpdate(encodeChannelMessage(m), signal);
    } catch (err) {
      this.views.delete(channelId);
      // A refused add is undone (pay) and the channel carries the next one; any other refused update leaves it unusable here.
      if (m.type !== 'add' && isChannelRefusal(err)) this.problems.set(channelId, `the relay refused ${m.type}: [${(err as ClientError).code}] ${(err as Error).message}`);
      throw err;
    }
    if (ans.channel && typeof ans.channel.n === 'number') this.views.set(channelId, ans.channel);
    if (ans.settle !== undefined && typeof ans.settle !== 'string') throw new ClientError('BAD_RELAY_ANSWER', `relay ${r.relay}: "settle" expected hex`);
    return ans.settle === undefined ? {} : { settle: ans.settle as string };
  }

  private settleOf(h: string): SettleHtlc {
    const m = this.decode(h);
    if (m.type !== 'settle') throw new ClientError('BAD_RELAY_ANSWER', `expected a SettleHtlc from the relay, got ${m.type}`);
    return m.message;
  }

  private decode(h: unknown): ChannelMessage {
    if (typeof h !== 'string' || !/^([0-9a-f]{2})+$/.test(h)) throw new ClientError('BAD_RELAY_ANSWER', expected('channel message', 'lowercase hex', h));
    try {
      return decodeChannelMessage(hex.decode(h));
    } catch (cause) {
      throw new ClientError('BAD_RELAY_ANSWER', `the relay sent a channel message that does not decode: ${(cause as Error).message}`, { cause });
    }
  }

  private record(id: string): ChannelRecord {
    const p = id.toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(p)) throw new ClientError('UNKNOWN_CHANNEL', expected('channel id', '4 to 64 hex characters', id));
    const found = this.payer.book.list('payer').filter((c) => c.id.startsWith(p));
    if (found.length === 0) throw new ClientError('UNKNOWN_CHANNEL', `no channel ${id} in this data directory (see \`satpost channel list\`)`);
    if (found.length > 1) throw new ClientError('UNKNOWN_CHANNEL', `"${id}" matches several channels; give more of the id`);
    return found[0]!;
  }

  private summary(c: ChannelRecord, tip?: number): ChannelSummary {
    // After a force close the commitment on chain says what is whose, not a later state this
    // side signed and the relay refused (e.g. a fail of an output whose k it had revealed).
    const s = (c.commitmentN !== null ? this.payer.book.stateAt(c.id, c.commitmentN) : undefined) ?? c.state;
    const inFlightSats = s.inFlight.reduce((a, h) => a + h.amount, 0);
    const r = this.relayOf(c);
    const problem = this.problems.get(c.id);
    return {
      id: c.id, relay: r?.relay ?? '', status: c.status, capacity: s.capacity, relayBalance: s.relayBalance,
      payerBalance: s.capacity - s.relayBalance - inFlightSats, carried: s.nextHtlcId, inFlight: s.inFlight.length, inFlightSats, expiry: s.channelLocktime,
      ...(tip !== undefined ? { blocksLeft: s.channelLocktime - tip } : {}),
      fundingTxid: c.fundingTxid, ...(c.closeTxid ? { closeTxid: c.closeTxid } : {}),
      ...(c.closeRaw ? { closeFee: s.capacity - parseTx(c.closeRaw).outputs.reduce((a, o) => a + o.value, 0) } : {}),
      relayTold: r?.toldAt != null,
      ...(problem ? { problem } : {}),
    };
  }
}

/** A WatchError about a channel in the client's terms (an unknown id, a channel in the wrong state). */
export function channelProblem(err: unknown): unknown {
  if (WatchError.is(err, 'UNKNOWN_CHANNEL')) return new ClientError('UNKNOWN_CHANNEL', err.message, { cause: err });
  if (WatchError.is(err, 'BAD_STATE')) return new ClientError('BAD_STATE', err.message, { cause: err });
  return err;
}
