/**
 * What the payer and relay sides of a channel share: collaborators, events, the one-at-a-time
 * lock, and the chain questions about the funding output (who spent it, is a stored tx still there).
 */
import { EventEmitter } from 'node:events';
import { ChainError, type ChainBackend, type ChainTip, type TxStatus } from '../chain/backend.ts';
import { p2wpkh } from '@scure/btc-signer';
import { bytesEqual, feeFor, segwitVsize } from '../contracts/index.ts';
import { dustThreshold, type Wallet } from '../wallet/index.ts';
import { buildSignedTx } from '../wallet/spend.ts';
import { parseTx } from '../wallet/tx-parse.ts';
import type { ChannelBook, ChannelChange, ChannelRecord, ChannelRole, ChannelStatus } from './channel-book.ts';
import { rebroadcast, statusOf } from './chain.ts';
import { ChannelError } from '../channels/errors.ts';
import { expected } from '../core/errors.ts';
import { WatchError } from './errors.ts';
import { DEFAULT_REORG_DEPTH } from './party.ts';
import { feeRateFromEstimates } from '../wallet/fees.ts';
import { Serial, eachReporting } from './serial.ts';

export interface ChannelPartyOptions {
  book: ChannelBook;
  wallet: Wallet;
  backend: ChainBackend;
  /** sat/vB of the on-chain transactions this side signs (claims, refunds, exits); default the backend's 6-block estimate. */
  feeRate?: number;
  reorgDepth?: number;
}

export interface ChannelStatusChange { id: string; role: ChannelRole; event: string; from: ChannelStatus; to: ChannelStatus; height: number | null }
export interface ChannelKeyLearned { id: string; htlcId: number; k: Uint8Array; r?: Uint8Array; txid: string }
export interface ChannelProblem { id?: string; error: unknown }

/** Events: 'status' on every status change (after its commit), 'key-learned' (payer, from a claim on chain), 'problem'. */
export interface ChannelEvents {
  status: [ChannelStatusChange];
  'key-learned': [ChannelKeyLearned];
  problem: [ChannelProblem];
}
export const CHANNEL_EVENTS: readonly (keyof ChannelEvents)[] = ['status', 'key-learned', 'problem'];

export abstract class ChannelParty extends EventEmitter<ChannelEvents> {
  readonly book: ChannelBook;
  protected readonly wallet: Wallet;
  protected readonly backend: ChainBackend;
  protected readonly feeRate: number | undefined;
  protected readonly reorgDepth: number;

  constructor(o: ChannelPartyOptions) {
    super();
    this.book = o.book;
    this.wallet = o.wallet;
    this.backend = o.backend;
    this.feeRate = o.feeRate;
    this.reorgDepth = o.reorgDepth ?? DEFAULT_REORG_DEPTH;
  }

  abstract pass(tip: ChainTip, signal?: AbortSignal): Promise<void>;

  /** book.apply, then the status event once committed. */
  protected change(id: string, ch: ChannelChange): ChannelRecord {
    const before = this.book.get(id);
    const after = this.book.apply(id, ch);
    if (after.status !== before.status) {
      this.emit('status', { id, role: after.role, event: ch.event ?? `status-${after.status}`, from: before.status, to: after.status, height: ch.height ?? null });
    }
    return after;
  }

  protected async rate(signal?: AbortSignal): Promise<number> {
    if (this.feeRate !== undefined) return this.feeRate;
    return feeRateFromEstimates(await this.backend.getFeeEstimates(signal));
  }

  // BIP32 derivation costs as much as a signature: a channel's key is derived once per process.
  private readonly keys = new Map<number, { pubkey33: Uint8Array; privkey32: Uint8Array }>();

  /** The private key of wallet contract key `keyIndex`, which must be `pubkey`. */
  protected keyOf(keyIndex: number, pubkey: Uint8Array, what: string): Uint8Array {
    let kp = this.keys.get(keyIndex);
    if (!kp) {
      kp = this.wallet.contractKey(keyIndex);
      this.keys.set(keyIndex, kp);
    }
    if (!bytesEqual(kp.pubkey33, pubkey)) throw new WatchError('WRONG_KEY', `wallet contract key ${keyIndex} expected to be the channel's ${what}, got another key`);
    return kp.privkey32;
  }

  /** Status of a stored transaction; rebroadcast when neither chain nor mempool has it (a reorg or a crash). */
  protected async ensure(raw: Uint8Array | null, txid: string, signal?: AbortSignal): Promise<TxStatus | undefined> {
    const st = await statusOf(this.backend, txid, signal);
    if (st || !raw) return st;
    await rebroadcast(this.backend, raw, signal);
    return statusOf(this.backend, txid, signal);
  }

  /** Which transaction spends the funding output, if any. */
  protected async fundingSpender(c: ChannelRecord, signal?: AbortSignal): Promise<{ txid: string; status: TxStatus } | undefined> {
    let os;
    try {
      os = await this.backend.getOutspend(c.fundingTxid, c.fundingVout, signal);
    } catch (err) {
      if (ChainError.is(err, 'NOT_FOUND')) return undefined; // the funding itself is gone: rebroadcast by ensure()
      throw err;
    }
    if (!os.spent || !os.txid) return undefined;
    const st = await statusOf(this.backend, os.txid, signal);
    return st ? { txid: os.txid, status: st } : undefined;
  }

  /**
   * Once the close or commitment `txid` is confirmed: its output paying this side's channel key
   * (P2WPKH, which the BIP84 wallet does not scan) is swept to a wallet receive address. The
   * sweep is stored before its broadcast and rebroadcast while it is missing.
   */
  protected async sweep(c: ChannelRecord, txid: string, ownPubkey: Uint8Array, h: number, signal?: AbortSignal): Promise<void> {
    if (c.sweepTxid) {
      await this.ensure(c.sweepRaw, c.sweepTxid, signal);
      return;
    }
    const raw = await this.backend.getTx(txid, signal);
    if (!raw) return;
    const script = p2wpkh(ownPubkey).script;
    const out = parseTx(raw).outputs.find((o) => bytesEqual(o.script, script));
    if (!out) return;
    const os = await this.backend.getOutspend(txid, out.vout, signal);
    if (os.spent) return;
    const dest = this.wallet.newReceiveAddress().script;
    // P2WPKH witness: count, signature (73-byte budget), pubkey.
    const fee = feeFor(segwitVsize([1 + 1 + 73 + 1 + 33], [dest.length]), await this.rate(signal));
    if (out.value - fee < dustThreshold(dest)) return;
    const key = this.wallet.contractKey(c.keyIndex);
    const tx = buildSignedTx({
      inputs: [{ txid, vout: out.vout, value: out.value, script, key }],
      outputs: [{ script: dest, amount: out.value - fee }],
      lockTime: h,
      masterFingerprint: 0,
    });
    this.change(c.id, { patch: { sweepTxid: tx.txid, sweepRaw: tx.raw }, event: 'sweep-signed', height: h, detail: `${out.value} sats from ${txid}:${out.vout}` });
    await rebroadcast(this.backend, tx.raw, signal);
  }

  /** The book's channel a peer message names (WRONG_CHANNEL for a non-object, UNKNOWN_CHANNEL for an unknown id). */
  protected channelOf(m: { channelId: string }): ChannelRecord {
    if (m === null || typeof m !== 'object') throw new ChannelError('WRONG_CHANNEL', expected('message', 'a channel message', m));
    return this.book.get(m.channelId);
  }

  protected each(channels: ChannelRecord[], fn: (c: ChannelRecord) => Promise<void>, signal?: AbortSignal): Promise<void> {
    return eachReporting(channels, fn, (p) => this.emit('problem', p), signal);
  }

  private readonly serial = new Serial();

  /** Public operations and watcher passes run one at a time per party (no pass sees half an operation). */
  protected exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.serial.run(fn);
  }
}

export function assertStatus(c: ChannelRecord, allowed: readonly ChannelStatus[], what: string): void {
  if (!allowed.includes(c.status)) {
    throw new WatchError('BAD_STATE', `channel ${c.id} is ${c.status}; ${what} needs ${allowed.map((s) => `"${s}"`).join(' or ')}`);
  }
}
