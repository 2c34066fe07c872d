/**
 * The relay's side of payment channels.
 *
 *   accept(open, funding raw): checked against the channel script (checkFundingTx), committed
 *         'opening'; 'open' once the funding has minConfirmations (before that an add is
 *         FUNDING_UNCONFIRMED).
 *   onAdd / onSettleAck / onFail: the payer's signed state is verified and committed with its
 *         signature. The same message twice (a resend) is a no-op; another message for a state
 *         already taken is STATE_NUMBER_MISMATCH.
 *   settle(k, r?): "k revealed for htlc i" is committed before SettleHtlc is returned, so after a
 *         crash the relay knows it must claim i on chain if the payer never acknowledges.
 *   requestClose / completeClose: the fully signed close is committed, then broadcast.
 *   forceClose: the latest commitment (completed with the relay's signature) and ONE claim of
 *         every output it holds preimages for are committed, then broadcast in that order.
 *   watcher pass: confirms fundings, force-closes from tip T_ch − claim_margin − closeLead, or
 *         from T_i − claim_margin − closeLead for an output it holds k (and r) for, rebroadcasts
 *         what a reorg removed, and follows its claim to confirmation.
 */
import type { ChainTip, TxStatus } from '../chain/backend.ts';
import {
  acceptAdd, acceptFail, acceptSettleAck, channelFromOpen, checkFundingTx, commitmentCoins, completeClose as completeCloseTx, confirmFunding,
  cooperativeCloseTx, decodeChannelMessage, requestClose as closeRequestOf, requestSettle, unilateralClose,
  type AddHtlc, type ChannelMessage, type ChannelOpen, type CloseRequest, type CloseSigned, type FailHtlc, type SettleAck, type SettleHtlc,
} from '../channels/index.ts';
import { ChannelError } from '../channels/errors.ts';
import { bytesEqual } from '../contracts/index.ts';
import { expected } from '../core/errors.ts';
import { encodeChannelMessage } from '../channels/index.ts';
import type { ChannelRecord, ChannelStatus, HtlcRecord } from './channel-book.ts';
import { assertStatus, ChannelParty, type ChannelPartyOptions } from './channel-party.ts';
import { confirmedHeight, contractOutSpend, depth, rebroadcast, statusOf } from './chain.ts';
import { WatchError } from './errors.ts';

export interface RelayChannelOptions extends ChannelPartyOptions {
  /** Confirmations of the funding before the channel opens for HTLCs (devnet 1). */
  minConfirmations: number;
  /** Blocks before a deadline (T_ch − claim_margin, T_i − claim_margin) at which the watcher force-closes; default 1. */
  closeLead?: number;
}

/** How a stored close or commitment moves the channel: statuses while it is pending / once confirmed, and their events. */
interface TxMoves { pending: ChannelStatus; final: ChannelStatus; confirmed: string; lost: string }
const CLOSE_MOVES: TxMoves = { pending: 'closing-cooperative', final: 'closed-cooperative', confirmed: 'close-confirmed', lost: 'close-lost' };
const COMMITMENT_MOVES: TxMoves = { pending: 'force-closing', final: 'force-closed', confirmed: 'commitment-confirmed', lost: 'commitment-lost' };

export class RelayChannels extends ChannelParty {
  readonly minConfirmations: number;
  readonly closeLead: number;

  constructor(o: RelayChannelOptions) {
    super(o);
    for (const [name, v, min] of [['minConfirmations', o.minConfirmations, 1], ['closeLead', o.closeLead ?? 1, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new WatchError('BAD_INPUT', expected(name, `an integer >= ${min}`, v));
    }
    this.minConfirmations = o.minConfirmations;
    this.closeLead = o.closeLead ?? 1;
  }

  /**
   * A payer's ChannelOpen and its funding transaction. keyIndex: the wallet contract key whose
   * public key the relay gave the payer for this channel (WRONG_KEY otherwise).
   */
  accept(open: ChannelOpen, fundingRaw: Uint8Array, keyIndex: number, signal?: AbortSignal): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      if (open === null || typeof open !== 'object') throw new ChannelError('BAD_PARAMS', expected('open', 'a ChannelOpen', open));
      const state = channelFromOpen(open);
      this.keyOf(keyIndex, state.relayPubkey, 'relay_pubkey');
      checkFundingTx(state, fundingRaw);
      const tip = await this.backend.getTip(signal);
      if (state.channelLocktime - state.claimMargin - this.closeLead <= tip.height) {
        throw new ChannelError('BAD_PARAMS', expected('channelLocktime', `> tip ${tip.height} + claim_margin ${state.claimMargin} + closeLead ${this.closeLead}`, state.channelLocktime));
      }
      this.book.tx(() => {
        const c = this.book.insert({ role: 'relay', status: 'opening', keyIndex, state, fundingRaw: Uint8Array.from(fundingRaw), height: tip.height });
        this.book.apply(c.id, { received: { type: 'open', message: open } });
      });
      await rebroadcast(this.backend, fundingRaw, signal);
      await this.step(state.id, tip, signal);
      return this.book.get(state.id);
    });
  }

  onAdd(m: AddHtlc, signal?: AbortSignal): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      const c = this.channelOf(m);
      if (this.isResend(c, { type: 'add', message: m })) return c;
      assertStatus(c, ['opening', 'open'], 'an add');
      const tip = await this.backend.getTip(signal);
      const state = acceptAdd(c.state, m, { tip: tip.height });
      return this.change(c.id, { state, newHtlcs: [m.htlc], received: { type: 'add', message: m } });
    });
  }

  /**
   * One watcher step for one channel now, at the current tip: a payer asking about a channel
   * still 'opening' gets the chain's answer (its funding deep enough: 'open'), not the last
   * pass's, which may be a block behind.
   */
  refresh(id: string, signal?: AbortSignal): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      await this.step(id, await this.backend.getTip(signal), signal);
      return this.book.get(id);
    });
  }

  /** Reveals k (and r) for an in-flight output: "revealed" is committed before the message is returned. */
  settle(channelId: string, htlcId: number, k: Uint8Array, r?: Uint8Array): Promise<SettleHtlc> {
    return this.exclusive(() => {
      const c = this.book.get(channelId);
      assertStatus(c, ['open'], 'a settle');
      const message = requestSettle(c.state, htlcId, k, r);
      if (this.book.htlc(c.id, htlcId)?.status !== 'revealed') {
        this.change(c.id, { htlcs: [{ htlcId, k, ...(r ? { r } : {}), status: 'revealed' }], sent: { type: 'settle', message } });
      }
      return message;
    });
  }

  onSettleAck(m: SettleAck): Promise<ChannelRecord> {
    return this.exclusive(() => {
      const c = this.channelOf(m);
      if (this.isResend(c, { type: 'settle-ack', message: m })) return c;
      assertStatus(c, ['open'], 'a settle acknowledgement');
      const state = acceptSettleAck(c.state, m);
      return this.change(c.id, { state, htlcs: [{ htlcId: m.htlcId, status: 'settled' }], received: { type: 'settle-ack', message: m } });
    });
  }

  /**
   * `release`: give the output up before T_i − claim_margin (the relay's own choice).
   *
   * A fail of an output whose k this relay has revealed (or started to: "revealed" is committed
   * before k leaves) is HTLC_REVEALED, and the relay force-closes with the latest commitment and
   * claims the output with k (and r). Taking the fail instead would leave the relay holding the
   * payer's signature of the older commitment that still carries the output, together with k:
   * a payer could never be sure which of the two ends on chain. The fail is checked first
   * (state number, the payer's signature), so only the payer can cause the close.
   */
  onFail(m: FailHtlc, opts: { release?: boolean; signal?: AbortSignal } = {}): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      const c = this.channelOf(m);
      if (this.isResend(c, { type: 'fail', message: m })) return c;
      assertStatus(c, ['open'], 'a fail');
      const tip = await this.backend.getTip(opts.signal);
      const x = this.book.htlc(c.id, m.htlcId);
      if (x?.status === 'revealed') {
        acceptFail(c.state, m, { tip: tip.height, release: true });
        await this.doForceClose(c, tip.height, `fail-of-revealed ${x.id}`, opts.signal);
        throw new ChannelError('HTLC_REVEALED', `htlc ${x.id} of channel ${c.id}: k was revealed, so it can only be settled; the relay closed the channel with commitment ${c.n} and claims it`);
      }
      const state = acceptFail(c.state, m, { tip: tip.height, ...(opts.release ? { release: true } : {}) });
      return this.change(c.id, { state, htlcs: [{ htlcId: m.htlcId, status: 'failed' }], received: { type: 'fail', message: m } });
    });
  }

  /** CloseRequest for the current state (nothing in flight); logged before it leaves. */
  requestClose(channelId: string): Promise<CloseRequest> {
    return this.exclusive(() => {
      const c = this.book.get(channelId);
      assertStatus(c, ['open'], 'a cooperative close');
      const message = closeRequestOf(c.state, this.priv(c));
      this.change(c.id, { sent: { type: 'close-request', message } });
      return message;
    });
  }

  /** The payer's CloseSigned: the close is completed and committed ('closing-cooperative'), then broadcast. */
  completeClose(m: CloseSigned, signal?: AbortSignal): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      const c = this.channelOf(m);
      if (c.status === 'open') {
        const close = completeCloseTx(c.state, m, this.priv(c));
        this.change(c.id, { status: 'closing-cooperative', patch: { closeTxid: close.txid, closeRaw: close.tx }, received: { type: 'close-signed', message: m }, event: 'close-completed' });
      } else {
        assertStatus(c, ['closing-cooperative', 'closed-cooperative'], 'completing a close');
      }
      const after = this.book.get(c.id);
      await rebroadcast(this.backend, after.closeRaw!, signal);
      return after;
    });
  }

  /** Broadcasts the latest commitment and claims every output whose preimages the relay holds. */
  forceClose(channelId: string, signal?: AbortSignal): Promise<ChannelRecord> {
    return this.exclusive(async () => {
      const tip = await this.backend.getTip(signal);
      await this.doForceClose(this.book.get(channelId), tip.height, 'force-close', signal);
      return this.book.get(channelId);
    });
  }

  /** SettleHtlc messages not yet acknowledged: what to resend after a crash or a lost connection. */
  unacknowledged(channelId: string): SettleHtlc[] {
    this.book.get(channelId);
    return this.book.htlcs(channelId).filter((x) => x.status === 'revealed').map((x) => ({ channelId, htlcId: x.id, k: x.k!, ...(x.r ? { r: x.r } : {}) }));
  }

  /** The last message this side sent on the channel. */
  lastSent(channelId: string): ChannelMessage | undefined {
    this.book.get(channelId);
    const m = this.book.messages(channelId, { direction: 'out' }).at(-1);
    return m && decodeChannelMessage(m.bytes);
  }

  pass(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    return this.exclusive(() => this.each(this.book.active('relay', tip.height, this.reorgDepth), (c) => this.step(c.id, tip, signal), signal));
  }

  private async doForceClose(c: ChannelRecord, h: number, why: string, signal?: AbortSignal): Promise<void> {
    if (c.status === 'force-closing' || c.status === 'force-closed') return;
    assertStatus(c, ['open', 'opening'], 'a force close');
    const known = this.book.htlcs(c.id).filter((x) => (x.status === 'in-flight' || x.status === 'revealed') && this.claimable(x));
    const u = unilateralClose(c.state, {
      relayPrivkey: this.priv(c),
      preimages: known.map((x) => ({ htlcId: x.id, k: x.k!, ...(x.r ? { r: x.r } : {}) })),
      destScript: this.wallet.newReceiveAddress().script,
      feeRate: await this.rate(signal),
    });
    this.change(c.id, {
      status: 'force-closing', event: why, height: h, detail: `state ${c.n}, claiming ${u.claimed.length} of ${c.state.inFlight.length}`,
      patch: { commitmentTxid: u.commitment.txid, commitmentRaw: u.commitment.tx, commitmentN: c.n, ...(u.claim ? { claimTxid: u.claim.txid, claimRaw: u.claim.tx } : {}) },
    });
    await rebroadcast(this.backend, u.commitment.tx, signal);
    if (u.claim) await rebroadcast(this.backend, u.claim.tx, signal);
  }

  private claimable(x: HtlcRecord): boolean {
    return x.k !== null && (x.mode !== 'sender-pays' || x.r !== null);
  }

  private async step(id: string, tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const h = tip.height;
    for (let guard = 0; guard < 6; guard++) {
      const c = this.book.get(id);
      await this.ensure(c.fundingRaw, c.fundingTxid, signal);
      const spend = await this.fundingSpender(c, signal);
      if (spend && spend.txid !== c.commitmentTxid && spend.txid !== c.closeTxid && (await this.adoptSpend(c, spend.txid, h, signal))) continue;
      switch (c.status) {
        case 'opening': {
          const st = await statusOf(this.backend, c.fundingTxid, signal);
          if (depth(st, h) < this.minConfirmations) return;
          this.change(id, { state: confirmFunding(c.state), status: 'open', event: 'funding-confirmed', height: h });
          continue;
        }
        case 'open': {
          const why = this.closeReason(c, h);
          if (why && c.n > 0) { await this.doForceClose(c, h, why, signal); continue; }
          return;
        }
        case 'closing-cooperative':
        case 'closed-cooperative': {
          const { final } = await this.followOwnTx(c, c.closeRaw, c.closeTxid!, CLOSE_MOVES, h, signal);
          if (final) await this.sweep(this.book.get(id), c.closeTxid!, c.state.relayPubkey, h, signal);
          return;
        }
        case 'force-closing':
        case 'force-closed': {
          const { st, final } = await this.followOwnTx(c, c.commitmentRaw, c.commitmentTxid!, COMMITMENT_MOVES, h, signal);
          if (st) await this.followOutputs(this.book.get(id), h, signal);
          if (final) await this.sweep(this.book.get(id), c.commitmentTxid!, c.state.relayPubkey, h, signal);
          return;
        }
        case 'exiting':
        case 'exited': {
          const st = spend ? spend.status : undefined;
          const at = confirmedHeight(st, h);
          const to = at !== null ? 'exited' : 'exiting';
          if (!spend) { this.change(id, { status: 'open', event: 'exit-lost', height: h }); continue; }
          if (to !== c.status) this.change(id, { status: to, patch: { settledHeight: at }, event: at !== null ? 'exit-confirmed' : 'exit-seen', height: h });
          return;
        }
        default:
          return;
      }
    }
  }

  /**
   * The stored close or commitment `txid`: rebroadcast while missing; the channel is `final`
   * (settled at its confirmation height) once it confirms, and back to `pending` if a reorg drops it.
   */
  private async followOwnTx(c: ChannelRecord, raw: Uint8Array | null, txid: string, m: TxMoves, h: number, signal?: AbortSignal): Promise<{ st: TxStatus | undefined; final: boolean }> {
    const st = await this.ensure(raw, txid, signal);
    const at = confirmedHeight(st, h);
    const to = at !== null ? m.final : m.pending;
    if (to !== c.status) this.change(c.id, { status: to, patch: { settledHeight: at }, event: at !== null ? m.confirmed : m.lost, height: h });
    return { st, final: at !== null };
  }

  /** Why the watcher must close now, if it must: the channel's or an output's claim deadline is near. */
  private closeReason(c: ChannelRecord, h: number): string | undefined {
    if (h >= c.state.channelLocktime - c.state.claimMargin - this.closeLead) return 'channel-deadline';
    const due = this.book.htlcs(c.id).find((x) => (x.status === 'in-flight' || x.status === 'revealed') && this.claimable(x) && h >= x.locktime - c.state.claimMargin - this.closeLead);
    return due && `htlc-deadline ${due.id}`;
  }

  /** A spend of the funding this relay did not broadcast: the payer's copy of the close, or its exit. */
  private async adoptSpend(c: ChannelRecord, txid: string, h: number, signal?: AbortSignal): Promise<boolean> {
    if (c.status === 'exiting' || c.status === 'exited') return false;
    if (c.state.inFlight.length === 0 && cooperativeCloseTx(c.state, c.state.relayBalance).txid === txid) {
      const raw = await this.backend.getTx(txid, signal);
      this.change(c.id, { status: 'closing-cooperative', patch: { closeTxid: txid, ...(raw ? { closeRaw: raw } : {}) }, event: 'close-seen', height: h });
      return true;
    }
    // Only the relay completes commitments, so any other spend is the payer's exit.
    this.change(c.id, { status: 'exiting', event: 'exit-seen', height: h, detail: txid });
    return true;
  }

  /** Rebroadcasts the stored claim while it is needed and records each output's end. */
  private async followOutputs(c: ChannelRecord, h: number, signal?: AbortSignal): Promise<void> {
    const state = this.book.stateAt(c.id, c.commitmentN!)!;
    const { htlcs } = commitmentCoins(state);
    let claimMissing = false;
    for (const coin of htlcs) {
      const x = this.book.htlc(c.id, coin.htlcId)!;
      const sp = await contractOutSpend(this.backend, coin.outpoint, coin.script, signal);
      const at = sp.kind === 'unspent' ? null : confirmedHeight(sp.status, h);
      const status = sp.kind === 'claim' && at !== null ? 'claimed' : sp.kind === 'refund' && at !== null ? 'refunded' : 'in-flight';
      if (sp.kind === 'unspent' && this.claimable(x)) claimMissing = true;
      if (status !== x.status || at !== x.resolvedHeight) {
        this.change(c.id, { htlcs: [{ htlcId: x.id, status, resolvedTxid: sp.kind === 'unspent' ? null : sp.txid, resolvedHeight: at }] });
      }
    }
    if (claimMissing && c.claimRaw) await rebroadcast(this.backend, c.claimRaw, signal);
  }

  /** True when m is exactly a message already taken (a resend): nothing to do. */
  private isResend(c: ChannelRecord, m: Extract<ChannelMessage, { type: 'add' | 'settle-ack' | 'fail' }>): boolean {
    const n = m.message?.n;
    if (typeof n !== 'number' || n > c.n) return false;
    const prior = this.book.messages(c.id, { direction: 'in', type: m.type, n }).at(-1);
    if (!prior) return false;
    let bytes: Uint8Array;
    try {
      bytes = encodeChannelMessage(m);
    } catch {
      return false;
    }
    return bytesEqual(prior.bytes, bytes);
  }

  private priv(c: ChannelRecord): Uint8Array {
    return this.keyOf(c.keyIndex, c.state.relayPubkey, 'relay_pubkey');
  }
}
