/**
 * The embedded development chain: regtest consensus rules, real blocks and proof of
 * work, persisted in one SQLite file. This is the in-process API; the HTTP service and
 * the ChainBackend adapter are built on exactly these methods.
 *
 *   const dn = Devnet.open({ path: 'devnet.sqlite' });   // new file: genesis + 110 faucet blocks
 *   const txid = dn.faucet(myScript, 100_000);
 *   dn.mine(1);
 */
import { ChainError } from '../backend.ts';
import type { ChainTip, FeeEstimates, OutSpend, ScriptTx, TxStatus, Utxo } from '../backend.ts';
import { expected } from '../../core/errors.ts';
import { decodeBlock } from './block.ts';
import { Chainstate } from './chainstate.ts';
import { COINBASE_MATURITY, MAX_BLOCK_WEIGHT } from './consensus.ts';
import { DEVNET_FAUCET_SCRIPT, buildFaucetTx, checkFaucetAmount } from './faucet.ts';
import type { FaucetCoin } from './faucet.ts';
import { DevnetStore } from './store.ts';
import { parseTx } from './tx.ts';

export { DEVNET_FAUCET_SCRIPT, DEVNET_FAUCET_KEY, DEVNET_FAUCET_PUBKEY, DEVNET_FAUCET_SEED } from './faucet.ts';

export interface DevnetOptions {
  /** SQLite file, or ':memory:'. */
  path: string;
  /** Clock in unix seconds; default the system clock. Block time = max(MTP + 1, now()). */
  now?: () => number;
  /** Minimum relay fee rate in sat/vB; default 1. */
  minRelayFeeRate?: number;
  /** SQLite synchronous mode; default NORMAL (a dev chain: survives kill -9, not power loss). */
  synchronous?: 'FULL' | 'NORMAL';
  /** Blocks mined to the faucet when the file is new (ignored on reopen); default 110 (10 mature coinbases). */
  faucetBlocks?: number;
}

export interface DevnetTxInfo {
  txid: string;
  raw: Uint8Array;
  status: TxStatus;
  fee?: number;
  weight: number;
}

export interface DevnetBlockInfo {
  hash: string;
  height: number;
  prev: string;
  time: number;
  txids: string[];
  weight: number;
  size: number;
  header: Uint8Array;
  raw: Uint8Array;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The confirmation targets electrs' /fee-estimates answers for: 1 to 25, 144, 504 and 1008 blocks. */
export const FEE_TARGETS: readonly number[] = [...Array.from({ length: 25 }, (_, i) => i + 1), 144, 504, 1008];

function checkHash(what: string, h: string): void {
  if (typeof h !== 'string' || !HEX64.test(h)) throw new ChainError('BAD_REQUEST', expected(what, '64 lowercase hex characters', h));
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ChainError('BAD_REQUEST', expected('blocks', 'a non-negative integer', n));
}

/** SQLite hands back Buffers; callers get plain Uint8Arrays (deepEqual-safe), without copying. */
const plain = (b: Uint8Array): Uint8Array => (Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class Devnet {
  readonly network = 'regtest' as const;
  private readonly chain: Chainstate;
  private readonly store: DevnetStore;
  private readonly minRelayFeeRate: number;
  private autoMine: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  private constructor(opts: DevnetOptions) {
    this.minRelayFeeRate = opts.minRelayFeeRate ?? 1;
    if (!(this.minRelayFeeRate >= 0)) throw new ChainError('BAD_REQUEST', expected('minRelayFeeRate', 'a rate >= 0 sat/vB', this.minRelayFeeRate));
    this.store = new DevnetStore(opts.path, opts.synchronous ?? 'NORMAL');
    this.chain = new Chainstate(this.store, { now: opts.now ?? (() => Date.now() / 1000), minRelayFeeRate: this.minRelayFeeRate });
  }

  static open(opts: DevnetOptions): Devnet {
    const dn = new Devnet(opts);
    if (dn.chain.created) dn.mine(opts.faucetBlocks ?? 110);
    return dn;
  }

  tip(): ChainTip {
    return this.chain.tip();
  }

  /**
   * Mines `blocks` blocks on the tip with the mempool's best transactions. `minFeeRate`
   * (sat/vB) leaves cheaper ones waiting: a fee spike, for tests of fee bumping.
   */
  mine(blocks: number, script: Uint8Array = DEVNET_FAUCET_SCRIPT, opts: { minFeeRate?: number } = {}): string[] {
    checkCount(blocks);
    const minFeeRate = opts.minFeeRate ?? 0;
    if (!(minFeeRate >= 0)) throw new ChainError('BAD_REQUEST', expected('minFeeRate', 'a rate >= 0 sat/vB', minFeeRate));
    const hashes: string[] = [];
    for (let i = 0; i < blocks; i++) hashes.push(this.chain.submitBlock(this.chain.buildBlock(this.tip().hash, script, minFeeRate)));
    return hashes;
  }

  /** Mines on any known block; mempool txs are included only when the parent is the active tip. */
  mineOn(parentHash: string, blocks: number, script: Uint8Array = DEVNET_FAUCET_SCRIPT): string[] {
    checkHash('parentHash', parentHash);
    checkCount(blocks);
    const hashes: string[] = [];
    let parent = parentHash;
    for (let i = 0; i < blocks; i++) {
      parent = this.chain.submitBlock(this.chain.buildBlock(parent, script));
      hashes.push(parent);
    }
    return hashes;
  }

  /** Submits a fully built block (any branch). Exposed for tools and tests of block rules. */
  submitBlock(raw: Uint8Array): string {
    return this.chain.submitBlock(raw);
  }

  invalidateBlock(hash: string): void {
    checkHash('hash', hash);
    this.chain.invalidateBlock(hash);
  }

  submitTx(raw: Uint8Array): string {
    if (!(raw instanceof Uint8Array)) throw new ChainError('MALFORMED_TX', expected('raw', 'bytes', raw));
    return this.chain.acceptTx(parseTx(Uint8Array.from(raw)));
  }

  /**
   * Pays `sats` to `script` from the faucet, spending mature coinbases and unconfirmed
   * faucet change; mines blocks to the faucet while it lacks mature coins.
   */
  faucet(script: Uint8Array, sats: number): string {
    checkFaucetAmount(sats);
    for (let mined = 0; ; mined++) {
      const raw = buildFaucetTx(this.faucetCoins(), script, sats, Math.max(this.minRelayFeeRate, 1));
      if (raw) return this.submitTx(raw);
      // Each new block matures one older faucet coinbase; a young chain needs up to 100.
      if (mined > COINBASE_MATURITY + 10_000) throw new ChainError('BAD_REQUEST', `the faucet cannot fund ${sats} sats`);
      this.mine(1);
    }
  }

  private faucetCoins(): FaucetCoin[] {
    const next = this.tip().height + 1;
    const coins: FaucetCoin[] = this.store
      .coinsByScript(DEVNET_FAUCET_SCRIPT)
      .filter((c) => !c.coinbase || next - c.height >= COINBASE_MATURITY)
      .filter((c) => !this.chain.mempool.spender(c.txid, c.vout));
    for (const e of this.chain.mempool.all()) {
      e.tx.outputs.forEach((o, vout) => {
        if (sameBytes(o.script, DEVNET_FAUCET_SCRIPT) && !this.chain.mempool.spender(e.tx.txid, vout)) coins.push({ txid: e.tx.txid, vout, value: o.value });
      });
    }
    return coins;
  }

  getTx(txid: string): DevnetTxInfo | undefined {
    checkHash('txid', txid);
    const m = this.chain.mempool.get(txid);
    if (m) return { txid, raw: plain(m.tx.raw), status: { confirmed: false }, fee: m.fee, weight: m.tx.weight };
    const row = this.store.getTx(txid);
    if (!row) return undefined;
    const info: DevnetTxInfo = { txid, raw: plain(row.raw), status: this.chain.statusAt(row.height), weight: row.weight };
    if (row.fee !== null) info.fee = row.fee;
    return info;
  }

  getTxStatus(txid: string): TxStatus {
    checkHash('txid', txid);
    const row = this.store.getTx(txid);
    return row ? this.chain.statusAt(row.height) : { confirmed: false };
  }

  getOutspend(txid: string, vout: number): OutSpend {
    checkHash('txid', txid);
    if (!Number.isSafeInteger(vout) || vout < 0) throw new ChainError('BAD_REQUEST', expected('vout', 'a non-negative integer', vout));
    const m = this.chain.mempool.spender(txid, vout);
    if (m) return { spent: true, txid: m.txid, vin: m.vin, status: { confirmed: false } };
    const s = this.store.getOutspend(txid, vout);
    if (!s) return { spent: false };
    return { spent: true, txid: s.spender, vin: s.vin, status: this.getTxStatus(s.spender) };
  }

  getScriptUtxos(script: Uint8Array): Utxo[] {
    const out: Utxo[] = [];
    const statuses = new Map<number, TxStatus>();
    for (const c of this.store.coinsByScript(script)) {
      if (this.chain.mempool.spender(c.txid, c.vout)) continue;
      let st = statuses.get(c.height);
      if (!st) statuses.set(c.height, (st = this.chain.statusAt(c.height)));
      out.push({ txid: c.txid, vout: c.vout, value: c.value, status: st });
    }
    for (const e of this.chain.mempool.all()) {
      e.tx.outputs.forEach((o, vout) => {
        if (sameBytes(o.script, script) && !this.chain.mempool.spender(e.tx.txid, vout)) {
          out.push({ txid: e.tx.txid, vout, value: o.value, status: { confirmed: false } });
        }
      });
    }
    return out;
  }

  getScriptHistory(script: Uint8Array): ScriptTx[] {
    const out: ScriptTx[] = [];
    for (const e of this.chain.mempool.all().reverse()) {
      const touches = e.tx.outputs.some((o) => sameBytes(o.script, script)) || e.prevouts.some((p) => sameBytes(p.script, script));
      if (touches) out.push({ txid: e.tx.txid, status: { confirmed: false } });
    }
    const statuses = new Map<number, TxStatus>();
    for (const r of this.store.scriptTxs(script)) {
      let st = statuses.get(r.height);
      if (!st) statuses.set(r.height, (st = this.chain.statusAt(r.height)));
      out.push({ txid: r.txid, status: st });
    }
    return out;
  }

  getBlock(hash: string): DevnetBlockInfo | undefined {
    checkHash('hash', hash);
    const row = this.store.getBlock(hash);
    if (!row) return undefined;
    return {
      hash,
      height: row.height,
      prev: row.prev,
      time: row.time,
      txids: decodeBlock(row.raw).txs.map((t) => t.txid),
      weight: row.weight,
      size: row.size,
      header: plain(row.header),
      raw: plain(row.raw),
    };
  }

  getBlockHash(height: number): string | undefined {
    if (!Number.isSafeInteger(height) || height < 0) return undefined;
    return this.store.chainHash(height);
  }

  /**
   * Fee rates (sat/vB) from the mempool: for a target of n blocks, the rate of the
   * transaction at the edge of the first n blocks' worth of weight, ordered by fee rate;
   * the minimum relay rate when the mempool would fit in n blocks. One rate per
   * target of FEE_TARGETS.
   */
  feeEstimates(): FeeEstimates {
    const floor = Math.max(this.minRelayFeeRate, 1);
    const rates = this.chain.mempool
      .all()
      .map((e) => ({ rate: e.fee / e.tx.vsize, weight: e.tx.weight }))
      .sort((a, b) => b.rate - a.rate);
    const at = (blocks: number): number => {
      let w = 0;
      for (const r of rates) {
        w += r.weight;
        if (w > blocks * MAX_BLOCK_WEIGHT) return Math.max(floor, Math.ceil(r.rate));
      }
      return floor;
    };
    const out: FeeEstimates = {};
    for (const target of FEE_TARGETS) out[String(target)] = at(target);
    return out;
  }

  mempoolTxids(): string[] {
    return this.chain.mempool.all().map((e) => e.tx.txid);
  }

  onTip(listener: (tip: ChainTip) => void): () => void {
    return this.chain.onTip(listener);
  }

  /** Mines one block every `intervalMs` (to the faucet) until stopAutoMine or close; keeps the process alive meanwhile. */
  startAutoMine(intervalMs: number): void {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new ChainError('BAD_REQUEST', expected('intervalMs', 'a number >= 1', intervalMs));
    this.stopAutoMine();
    this.autoMine = setInterval(() => {
      if (!this.closed) this.mine(1);
    }, intervalMs);
  }

  stopAutoMine(): void {
    if (this.autoMine) clearInterval(this.autoMine);
    this.autoMine = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.stopAutoMine();
    this.closed = true;
    this.store.close();
  }
}
