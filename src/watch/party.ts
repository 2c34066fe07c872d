/**
 * What the payer and relay sides share: their collaborators, their events and the small
 * helpers that keep every state change persisted and announced in one place.
 */
import { EventEmitter } from 'node:events';
import type { ChainBackend, ChainTip } from '../chain/backend.ts';
import type { Wallet } from '../wallet/index.ts';
import { bytesEqual, type PayerEvent, type RelayEvent } from '../contracts/index.ts';
import type { ContractBook, ContractPatch, ContractRecord, ContractState, Role } from './book.ts';
import { WatchError } from './errors.ts';
import { feeRateFromEstimates } from '../wallet/fees.ts';
import { Serial, eachReporting } from './serial.ts';

/** Re-checks settled contracts this many blocks deep before forgetting them (default 6). */
export const DEFAULT_REORG_DEPTH = 6;

export interface PartyOptions {
  book: ContractBook;
  wallet: Wallet;
  backend: ChainBackend;
  /** sat/vB for the transactions this side signs; default: the backend's 6-block estimate. */
  feeRate?: number;
  reorgDepth?: number;
}

export interface StateChange { id: string; role: Role; event: string; from: ContractState; to: ContractState; height: number | null }
export interface KeyLearned { id: string; k: Uint8Array; r?: Uint8Array; txid: string }
export interface Settled { id: string; txid: string; height: number }
export interface Problem { id?: string; error: unknown }

/** Events: 'state' StateChange, 'key-learned' KeyLearned, 'claimed' Settled, 'refunded' Settled, 'problem' Problem. */
export interface WatchEvents {
  state: [StateChange];
  'key-learned': [KeyLearned];
  claimed: [Settled];
  refunded: [Settled];
  problem: [Problem];
}
export const WATCH_EVENTS: readonly (keyof WatchEvents)[] = ['state', 'key-learned', 'claimed', 'refunded', 'problem'];

export abstract class Party extends EventEmitter<WatchEvents> {
  readonly book: ContractBook;
  protected readonly wallet: Wallet;
  protected readonly backend: ChainBackend;
  protected readonly feeRate: number | undefined;
  protected readonly reorgDepth: number;

  constructor(o: PartyOptions) {
    super();
    this.book = o.book;
    this.wallet = o.wallet;
    this.backend = o.backend;
    this.feeRate = o.feeRate;
    this.reorgDepth = o.reorgDepth ?? DEFAULT_REORG_DEPTH;
  }

  /** One watcher pass over this side's contracts at `tip`. */
  abstract pass(tip: ChainTip, signal?: AbortSignal): Promise<void>;

  /** State events of the SQLite transaction in progress: announced only once it commits. */
  private queued: StateChange[] = [];

  protected move(id: string, event: PayerEvent | RelayEvent, height: number | null, patch?: ContractPatch, detail?: string): ContractRecord {
    const before = this.book.get(id);
    const after = this.book.transition(id, event, { height, ...(patch ? { patch } : {}), ...(detail ? { detail } : {}) });
    const change: StateChange = { id, role: after.role, event, from: before.state, to: after.state, height };
    if (this.book.db.inTransaction) this.queued.push(change);
    else this.emit('state', change);
    return after;
  }

  /** Runs fn in one SQLite transaction; its state events are emitted after the commit, or dropped. */
  protected commit<T>(fn: () => T): T {
    let result: T;
    try {
      result = this.book.tx(fn);
    } catch (err) {
      this.queued = [];
      throw err;
    }
    const done = this.queued;
    this.queued = [];
    for (const change of done) this.emit('state', change);
    return result;
  }

  protected async rate(signal?: AbortSignal): Promise<number> {
    if (this.feeRate !== undefined) return this.feeRate;
    return feeRateFromEstimates(await this.backend.getFeeEstimates(signal));
  }

  protected keyOf(keyIndex: number, expectedPubkey: Uint8Array, what: string, keyAccount = 0): Uint8Array {
    const kp = this.wallet.contractKey(keyIndex, keyAccount);
    if (!bytesEqual(kp.pubkey33, expectedPubkey)) {
      throw new WatchError('WRONG_KEY', `wallet contract key ${keyAccount}'/${keyIndex}' expected to be the contract's ${what}, got another key`);
    }
    return kp.privkey32;
  }

  /** Runs fn per contract; a failure is announced and the pass goes on with the others. */
  protected each(contracts: ContractRecord[], fn: (c: ContractRecord) => Promise<void>, signal?: AbortSignal): Promise<void> {
    return eachReporting(contracts, fn, (p) => this.emit('problem', p), signal);
  }

  private readonly serial = new Serial();

  /**
   * Public operations (fund, fundingSeen, signClaims, pass) run one at a time per party, so
   * that a watcher pass never sees a contract half-way through an operation (e.g. 'created'
   * while fund() is still building its funding) and builds a second transaction for it.
   */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run(fn);
  }
}
