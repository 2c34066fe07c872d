/**
 * The payer's side of payment channels (Alice for sender-pays, Carol for recipient-pays).
 *
 *   open: intent committed -> wallet builds the funding -> state 0 + the exit (nLockTime T_ch)
 *         signed and committed ('opening') -> funding broadcast -> 1 confirmation: 'open'
 *   add / onSettle / fail / onCloseRequest: the new state (and its signature) is committed,
 *         then the message to send is returned. A message received twice (a resend after a
 *         crash) returns the answer already given, never a second signature of another state.
 *   watcher pass: confirms the funding, rebroadcasts what a reorg removed, follows a close
 *         (cooperative or the relay's commitment), refunds in-flight outputs from tip >= T_i,
 *         and exits with the stored exit tx from tip >= T_ch if the funding is still unspent.
 */
import { ChainError, type ChainTip } from '../chain/backend.ts';
import {
  acceptSettle, buildFundingScript, commitmentCoins, confirmFunding, decodeChannelMessage, fundingScriptPubKey, openChannel, openMessage,
  NO_CHANNEL, payerExit, proposeAdd, proposeFail, refundHtlcs, signChannelAuth, signClose, type ChannelAuth,
  type ChannelMessage, type ChannelOpen, type CloseRequest, type CloseSigned, type FailHtlc, type NewHtlc, type AddHtlc,
  type SettleAck, type SettleHtlc,
} from '../channels/index.ts';
import { ChannelError } from '../channels/errors.ts';
import { bytesEqual } from '../contracts/index.ts';
import { expected } from '../core/errors.ts';
import { WalletError } from '../wallet/index.ts';
import { parseTx } from '../wallet/tx-parse.ts';
import { fundingScriptId, type ChannelRecord, type HtlcPatch, type OpenIntent } from './channel-book.ts';
import { assertStatus, ChannelParty, type ChannelPartyOptions } from './channel-party.ts';
import { confirmedHeight, contractOutSpend, depth, rebroadcast, statusOf } from './chain.ts';

export interface OpenRequest {
  relayPubkey: Uint8Array;
  capacity: number;
  /** T_ch, a block height. */
  channelLocktime: number;
  claimMargin: number;
  /** sat/vB of every commitment and the cooperative close (fixed for the channel's life). */
  feeRate: number;
  /** sat/vB of the funding transaction; default the party's fee rate. */
  fundingFeeRate?: number;
  /** The payer key from newPayerKey (the one that asked the relay for its key); default a fresh one. */
  payerKeyIndex?: number;
}

const ZERO_TXID = '0'.repeat(64);

export class PayerChannels extends ChannelParty {
  constructor(o: ChannelPartyOptions) {
    super(o);
  }

  /** Opens a channel: persists, funds through the wallet, signs the exit, broadcasts. */
  open(req: OpenRequest, signal?: AbortSignal): Promise<{ channel: ChannelRecord; message: ChannelOpen }> {
    return this.exclusive(async () => {
      const tip = await this.backend.getTip(signal);
      const keyIndex = req.payerKeyIndex ?? this.wallet.nextContractKeyIndex();
      if (this.book.list('payer').some((c) => c.keyIndex === keyIndex) || this.book.unfinishedOpens().some((i) => i.keyIndex === keyIndex)) {
        throw new ChannelError('BAD_PARAMS', expected('payerKeyIndex', 'a key no other channel uses', keyIndex));
      }
      const payerPubkey = this.wallet.contractKey(keyIndex).pubkey33;
      const params = { relayPubkey: req.relayPubkey, channelLocktime: req.channelLocktime, claimMargin: req.claimMargin, feeRate: req.feeRate, capacity: req.capacity };
      // Every parameter is checked before the wallet is touched (a probe outpoint stands in).
      openChannel({ ...params, payerPubkey, fundingOutpoint: { txid: ZERO_TXID, vout: 0 } });
      if (req.channelLocktime - req.claimMargin <= tip.height + 1) {
        throw new ChannelError('BAD_PARAMS', expected('channelLocktime', `> tip ${tip.height} + claim_margin ${req.claimMargin} + 1`, req.channelLocktime));
      }
      const script = buildFundingScript({ payerPubkey, relayPubkey: req.relayPubkey, channelLocktime: req.channelLocktime });
      const scriptId = fundingScriptId(script);
      this.book.insertOpenIntent({ scriptId, keyIndex, params });
      let built;
      try {
        built = await this.wallet.createTransaction({
          outputs: [{ script: fundingScriptPubKey(script), amount: req.capacity, contractLabel: scriptId }],
          feeRate: req.fundingFeeRate ?? this.feeRate ?? (await this.rate(signal)),
        });
      } catch (err) {
        if (WalletError.is(err) && !this.wallet.locks().some((l) => l.kind === 'contract' && l.ref === scriptId)) this.book.forgetOpenIntent(scriptId);
        throw err;
      }
      const c = this.record({ scriptId, keyIndex, params, channelId: null }, payerPubkey, built.txid, 0, built.raw, tip.height);
      await this.broadcastFunding(c, tip.height, signal);
      return { channel: this.book.get(c.id), message: openMessage(c.state) };
    });
  }

  /**
   * A fresh payer key for a channel about to be opened: its ChannelAuth asks the relay for the
   * relay key, which the relay then keeps for a channel of this payer key (pass the index to open).
   */
  newPayerKey(): { keyIndex: number; pubkey: Uint8Array } {
    const keyIndex = this.wallet.nextContractKeyIndex();
    return { keyIndex, pubkey: this.wallet.contractKey(keyIndex).pubkey33 };
  }

  /**
   * A ChannelAuth for one request to relay `relayId`: op 'view' or 'close' signed by the
   * channel's payer key, op 'key' by the fresh key `payerKeyIndex` (newPayerKey).
   */
  authorize(
    req: { op: 'key'; payerKeyIndex: number } | { op: 'view' | 'close' | 'terms'; channelId: string },
    relayId: Uint8Array, fresh: { timestamp: number; nonce: Uint8Array },
  ): ChannelAuth {
    if (req.op === 'key') {
      const k = this.wallet.contractKey(req.payerKeyIndex);
      return signChannelAuth({ op: 'key', channelId: NO_CHANNEL, ...fresh }, relayId, { privkey: k.privkey32, pubkey: k.pubkey33 });
    }
    const c = this.book.get(req.channelId);
    return signChannelAuth({ op: req.op, channelId: c.id, ...fresh }, relayId, { privkey: this.priv(c), pubkey: c.state.payerPubkey });
  }

  /** State 0 and the exit signed and committed ('opening'); the funding is the wallet's pending tx. */
  private record(i: OpenIntent, payerPubkey: Uint8Array, txid: string, vout: number, raw: Uint8Array, height: number): ChannelRecord {
    const state = openChannel({ ...i.params, payerPubkey, fundingOutpoint: { txid, vout } });
    const priv = this.keyOf(i.keyIndex, payerPubkey, 'payer_pubkey');
    // The exit pays the funding's own change address (as contract refunds do): no unused address gap.
    const change = parseTx(raw).outputs.find((o) => o.vout !== vout);
    const exit = payerExit(state, { payerPrivkey: priv, destScript: change?.script ?? this.wallet.newReceiveAddress().script, feeRate: state.feeRate });
    return this.book.tx(() => {
      const c = this.book.insert({ role: 'payer', status: 'opening', keyIndex: i.keyIndex, state, fundingRaw: raw, exitTxid: exit.txid, exitRaw: exit.tx, scriptId: i.scriptId, height });
      return this.book.apply(c.id, { sent: { type: 'open', message: openMessage(state) } });
    });
  }

  private async broadcastFunding(c: ChannelRecord, height: number, signal?: AbortSignal): Promise<void> {
    try {
      try {
        await this.wallet.broadcast(c.fundingTxid);
      } catch (err) {
        if (!WalletError.is(err, 'UNKNOWN_TX')) throw err;
        await rebroadcast(this.backend, c.fundingRaw!, signal);
      }
    } catch (err) {
      const cause = WalletError.is(err, 'BROADCAST_FAILED') ? err.cause : err;
      const code = ChainError.is(cause) ? cause.code : undefined;
      if (code !== undefined && code !== 'BACKEND_UNAVAILABLE') {
        this.change(c.id, { status: 'abandoned', event: 'funding-refused', height, detail: code });
        return;
      }
      throw err;
    }
  }

  /**
   * AddHtlc for a new in-flight output, returned once state n+1 and its signature are committed.
   * `tipHeight`: a tip the caller fetched for this payment (saves a round trip to the chain).
   */
  add(channelId: string, terms: NewHtlc, signal?: AbortSignal, tipHeight?: number): Promise<AddHtlc> {
    return this.exclusive(async () => {
      const c = this.book.get(channelId);
      assertStatus(c, ['open'], 'an add');
      const tip = tipHeight ?? (await this.backend.getTip(signal)).height;
      const { state, message } = proposeAdd(c.state, terms, { tip, payerPrivkey: this.priv(c) });
      this.change(channelId, { state, newHtlcs: [message.htlc], sent: { type: 'add', message } });
      return message;
    });
  }

  /**
   * The relay refused `add` (its answer said so, and its view is still at the state before it):
   * the add is undone in the book in one transaction (ChannelBook.refuseAdd), so no later
   * process resends it and the next add builds on the relay's state. `code`: the refusal's.
   */
  refuseAdd(channelId: string, add: AddHtlc, code: string): Promise<ChannelRecord> {
    return this.exclusive(() => this.book.refuseAdd(channelId, add.n, add.htlc.id, code));
  }

  /** The relay shows k (and r): checked against the hashes, state n+1 committed with the preimages, SettleAck returned. */
  onSettle(m: SettleHtlc): Promise<SettleAck> {
    return this.exclusive(() => {
      const c = this.channelOf(m);
      const h = this.book.htlc(c.id, m.htlcId);
      if (h?.status === 'settled' && m.k instanceof Uint8Array && h.k && bytesEqual(h.k, m.k)) {
        const prior = this.book.messages(c.id, { direction: 'out', type: 'settle-ack', htlcId: m.htlcId }).at(-1);
        if (prior) return decodeChannelMessage(prior.bytes).message as SettleAck;
      }
      assertStatus(c, ['open'], 'a settle');
      const { state, message } = acceptSettle(c.state, m, { payerPrivkey: this.priv(c) });
      this.change(c.id, {
        state, htlcs: [{ htlcId: m.htlcId, k: m.k, ...(m.r ? { r: m.r } : {}), status: 'settled' }],
        received: { type: 'settle', message: m }, sent: { type: 'settle-ack', message },
      });
      return message;
    });
  }

  /** FailHtlc taking an expired output back (tip >= T_i − claim_margin). */
  fail(channelId: string, htlcId: number, signal?: AbortSignal): Promise<FailHtlc> {
    return this.exclusive(async () => {
      const c = this.book.get(channelId);
      assertStatus(c, ['open'], 'a fail');
      const tip = await this.backend.getTip(signal);
      const { state, message } = proposeFail(c.state, htlcId, { tip: tip.height, payerPrivkey: this.priv(c) });
      this.change(channelId, { state, htlcs: [{ htlcId, status: 'failed' }], sent: { type: 'fail', message } });
      return message;
    });
  }

  /** Signs the cooperative close the relay asks for; the close is stored (and rebroadcast by the watcher) before CloseSigned leaves. */
  onCloseRequest(m: CloseRequest): Promise<CloseSigned> {
    return this.exclusive(() => {
      const c = this.channelOf(m);
      if (c.status === 'closing-cooperative' || c.status === 'closed-cooperative') {
        const prior = this.book.messages(c.id, { direction: 'out', type: 'close-signed', n: m.n }).at(-1);
        if (prior) return decodeChannelMessage(prior.bytes).message as CloseSigned;
      }
      assertStatus(c, ['open'], 'a cooperative close');
      const { message, close } = signClose(c.state, m, this.priv(c));
      this.change(c.id, {
        status: 'closing-cooperative', patch: { closeTxid: close.txid, closeRaw: close.tx },
        received: { type: 'close-request', message: m }, sent: { type: 'close-signed', message }, event: 'close-signed',
      });
      return message;
    });
  }

  /** The last message this side sent on the channel: what to resend after a crash or a lost connection. */
  lastSent(channelId: string): ChannelMessage | undefined {
    this.book.get(channelId);
    const m = this.book.messages(channelId, { direction: 'out' }).at(-1);
    return m && decodeChannelMessage(m.bytes);
  }

  pass(tip: ChainTip, signal?: AbortSignal): Promise<void> {
    return this.exclusive(async () => {
      for (const i of this.book.unfinishedOpens()) {
        try {
          this.resumeOpen(i, tip.height);
        } catch (error) {
          this.emit('problem', { error });
        }
      }
      await this.each(this.book.active('payer', tip.height, this.reorgDepth), (c) => this.step(c.id, tip, signal), signal);
    });
  }

  /** A crash between the intent and 'opening': the wallet's pending funding (by its label) is recorded, else the intent dropped. */
  private resumeOpen(i: OpenIntent, height: number): void {
    const lock = this.wallet.locks().find((l) => l.kind === 'contract' && l.ref === i.scriptId);
    const pending = lock && this.wallet.pendingTransactions().find((p) => p.txid === lock.txid);
    if (!lock || !pending) {
      this.book.forgetOpenIntent(i.scriptId);
      return;
    }
    this.record(i, this.wallet.contractKey(i.keyIndex).pubkey33, pending.txid, lock.vout, pending.raw, height);
  }

  private async step(id: string, tip: ChainTip, signal?: AbortSignal): Promise<void> {
    const h = tip.height;
    for (let guard = 0; guard < 6; guard++) {
      const c = this.book.get(id);
      switch (c.status) {
        case 'opening': {
          const st = await statusOf(this.backend, c.fundingTxid, signal);
          if (!st) { await this.broadcastFunding(c, h, signal); if (this.book.get(id).status === 'abandoned') return; continue; }
          if (depth(st, h) < 1) return;
          this.change(id, { state: confirmFunding(c.state), status: 'open', event: 'funding-confirmed', height: h });
          continue;
        }
        case 'open':
        case 'closing-cooperative':
        case 'closed-cooperative':
        case 'exiting':
        case 'exited':
        case 'force-closing':
        case 'force-closed': {
          if (await this.followFunding(c, h, signal)) continue;
          if (c.status === 'force-closing' || c.status === 'force-closed') await this.resolveHtlcs(this.book.get(id), h, signal);
          if (c.status === 'closed-cooperative') await this.sweep(c, c.closeTxid!, c.state.payerPubkey, h, signal);
          if (c.status === 'force-closed') await this.sweep(this.book.get(id), c.commitmentTxid!, c.state.payerPubkey, h, signal);
          return;
        }
        default:
          return;
      }
    }
  }

  /** Follows the funding output; true when the status changed (the caller looks again). */
  private async followFunding(c: ChannelRecord, h: number, signal?: AbortSignal): Promise<boolean> {
    await this.ensure(c.fundingRaw, c.fundingTxid, signal);
    const spend = await this.fundingSpender(c, signal);
    if (!spend) {
      // Nothing spends the funding (any more): rebroadcast what this side stored, or exit once T_ch is reached.
      if (c.status === 'closing-cooperative' || c.status === 'closed-cooperative') {
        await rebroadcast(this.backend, c.closeRaw!, signal);
        if (c.status !== 'closed-cooperative') return false;
        this.followLock(this.change(c.id, { status: 'closing-cooperative', event: 'close-lost', height: h }));
        return true;
      }
      if (c.status === 'force-closing' || c.status === 'force-closed') {
        if (c.commitmentRaw) await rebroadcast(this.backend, c.commitmentRaw, signal);
        if (c.status !== 'force-closed') return false;
        this.followLock(this.change(c.id, { status: 'force-closing', event: 'commitment-lost', height: h }));
        return true;
      }
      if (c.status === 'exiting' || c.status === 'exited' || h >= c.state.channelLocktime) {
        await rebroadcast(this.backend, c.exitRaw!, signal);
        if (c.status !== 'exiting') { this.followLock(this.change(c.id, { status: 'exiting', event: c.status === 'exited' ? 'exit-lost' : 'exit-broadcast', height: h })); return true; }
      }
      return false;
    }
    const confirmedAt = confirmedHeight(spend.status, h);
    if (spend.txid === c.closeTxid) {
      const to = confirmedAt !== null ? 'closed-cooperative' : 'closing-cooperative';
      if (to === c.status) return false;
      this.followLock(this.change(c.id, { status: to, patch: { settledHeight: confirmedAt }, event: to === 'closed-cooperative' ? 'close-confirmed' : 'close-seen', height: h }));
      return true;
    }
    if (spend.txid === c.exitTxid) {
      const to = confirmedAt !== null ? 'exited' : 'exiting';
      if (to === c.status) return false;
      this.followLock(this.change(c.id, { status: to, patch: { settledHeight: confirmedAt }, event: to === 'exited' ? 'exit-confirmed' : 'exit-seen', height: h }));
      return true;
    }
    const state = this.book.stateByCommitment(c.id, spend.txid);
    if (!state) throw new ChannelError('BAD_TX', `channel ${c.id}: funding spent by ${spend.txid}, which is no transaction this payer signed`);
    const to = confirmedAt !== null ? 'force-closed' : 'force-closing';
    if (to === c.status && c.commitmentTxid === spend.txid) return false;
    const raw = c.commitmentTxid === spend.txid ? c.commitmentRaw : ((await this.backend.getTx(spend.txid, signal)) ?? null);
    const onChain = new Set(state.inFlight.map((x) => x.id));
    this.followLock(this.change(c.id, {
      status: to, patch: { commitmentTxid: spend.txid, commitmentN: state.n, settledHeight: confirmedAt, ...(raw ? { commitmentRaw: raw } : {}) },
      // The outputs of that commitment are what is in flight now, whatever later states said.
      // An output added after that state never reached the chain: it is as good as failed.
      htlcs: this.book.htlcs(c.id).flatMap((x): HtlcPatch[] => {
        if (onChain.has(x.id)) return x.status === 'claimed' || x.status === 'refunded' || x.status === 'in-flight' ? [] : [{ htlcId: x.id, status: 'in-flight' as const }];
        return x.status === 'in-flight' || x.status === 'revealed' ? [{ htlcId: x.id, status: 'failed' as const }] : [];
      }),
      event: to === 'force-closed' ? 'commitment-confirmed' : 'commitment-seen', height: h, detail: `state ${state.n}`,
    }));
    return true;
  }

  /**
   * The wallet counts the funding output in lockedInContracts until a spend of it (close,
   * commitment or exit) is confirmed; from then on the coins are the close's outputs. A reorg
   * that unconfirms the spend counts the funding again (locking is idempotent).
   */
  private followLock(c: ChannelRecord): void {
    if (c.status === 'closed-cooperative' || c.status === 'exited' || c.status === 'force-closed') {
      this.wallet.releaseContractOutput(c.fundingTxid, c.fundingVout);
    } else if (c.status === 'closing-cooperative' || c.status === 'exiting' || c.status === 'force-closing') {
      const label = fundingScriptId(buildFundingScript({ payerPubkey: c.state.payerPubkey, relayPubkey: c.state.relayPubkey, channelLocktime: c.state.channelLocktime }));
      if (!this.wallet.locks().some((l) => l.kind === 'contract' && l.txid === c.fundingTxid && l.vout === c.fundingVout)) {
        this.wallet.lockContractOutput({ txid: c.fundingTxid, vout: c.fundingVout, amount: c.state.capacity, label });
      }
    }
  }

  /** After the relay's commitment: learn k from its claims, refund the rest from tip >= T_i. */
  private async resolveHtlcs(c: ChannelRecord, h: number, signal?: AbortSignal): Promise<void> {
    const state = this.book.stateAt(c.id, c.commitmentN!)!;
    const coins = commitmentCoins(state).htlcs;
    const commitmentConfirmed = c.status === 'force-closed';
    for (const coin of coins) {
      const x = this.book.htlc(c.id, coin.htlcId)!;
      const sp = await contractOutSpend(this.backend, coin.outpoint, coin.script, signal);
      if (sp.kind === 'claim') {
        if (!x.k) this.emit('key-learned', { id: c.id, htlcId: x.id, k: sp.k, ...(sp.r ? { r: sp.r } : {}), txid: sp.txid });
        const at = confirmedHeight(sp.status, h);
        if (x.status !== 'claimed' || x.resolvedHeight !== at) {
          this.change(c.id, { htlcs: [{ htlcId: x.id, k: sp.k, ...(sp.r ? { r: sp.r } : {}), status: at !== null ? 'claimed' : 'in-flight', resolvedTxid: sp.txid, resolvedHeight: at }] });
        }
        continue;
      }
      if (sp.kind === 'refund') {
        const at = confirmedHeight(sp.status, h);
        if (x.status !== 'refunded' || x.resolvedHeight !== at) {
          this.change(c.id, { htlcs: [{ htlcId: x.id, status: at !== null ? 'refunded' : 'in-flight', resolvedTxid: sp.txid, resolvedHeight: at }] });
        }
        continue;
      }
      if (x.status === 'claimed' || x.status === 'refunded') this.change(c.id, { htlcs: [{ htlcId: x.id, status: 'in-flight', resolvedHeight: null }], event: 'htlc-reopened', detail: `htlc ${x.id}` });
      // nLockTime T_i is final in block T_i + 1: the refund enters the mempool once the tip is T_i.
      if (!commitmentConfirmed || h < x.locktime) continue;
      let raw = x.refundRaw;
      if (!raw) {
        const refund = refundHtlcs(state, [x.id], { payerPrivkey: this.priv(c), destScript: this.wallet.newReceiveAddress().script, feeRate: await this.rate(signal) });
        this.change(c.id, { htlcs: [{ htlcId: x.id, refundTxid: refund.txid, refundRaw: refund.tx }] });
        raw = refund.tx;
      }
      await rebroadcast(this.backend, raw, signal);
    }
  }

  private priv(c: ChannelRecord): Uint8Array {
    return this.keyOf(c.keyIndex, c.state.payerPubkey, 'payer_pubkey');
  }
}
