/**
 * The chain state machine: accepts blocks on any branch, keeps the most-work valid
 * branch active (first seen wins ties), connects and disconnects blocks with undo data,
 * and validates transactions for the mempool. Every block connect or disconnect is one
 * SQLite transaction, mempool bookkeeping included.
 */
import { ChainError } from '../backend.ts';
import type { ChainTip, TxStatus } from '../backend.ts';
import { expected } from '../../core/errors.ts';
import {
  REGTEST_BITS,
  bip34HeightPush,
  blockWork,
  buildCoinbase,
  checkProofOfWork,
  decodeBlock,
  encodeBlock,
  findWitnessCommitment,
  headerHash,
  merkleMutated,
  merkleRoot,
  regtestGenesis,
  solve,
  witnessCommitmentScript,
} from './block.ts';
import type { Block } from './block.ts';
import { COINBASE_MATURITY, MAX_BLOCK_WEIGHT, MAX_STANDARD_TX_WEIGHT, blockSubsidy, checkTransaction } from './consensus.ts';
import { isFinalTx, medianTime, sequenceLocks, sequenceLocksSatisfied } from './locks.ts';
import { Mempool } from './mempool.ts';
import { CONSENSUS_FLAGS, STANDARD_FLAGS, ScriptChecker } from './script-check.ts';
import type { Prevout } from './script-check.ts';
import type { BlockRow, CoinRow, DevnetStore } from './store.ts';
import { isCoinbase, parseTx } from './tx.ts';
import type { ParsedTx } from './tx.ts';

/** Room kept for the coinbase when assembling a block. */
const COINBASE_WEIGHT_RESERVE = 4_000;
const MEDIAN_TIME_SPAN = 11;
/** BIP125: an input with nSequence <= this signals that its transaction may be replaced. */
const MAX_BIP125_RBF_SEQUENCE = 0xfffffffd;
/** Core's MAX_REPLACEMENT_CANDIDATES: a replacement may evict at most this many transactions. */
const MAX_REPLACEMENT_EVICTIONS = 100;

export interface ChainstateOptions {
  now: () => number;
  /** sat/vB */
  minRelayFeeRate: number;
}

/** Outputs nobody can spend never enter the UTXO set (Core's IsUnspendable). */
function isUnspendable(script: Uint8Array): boolean {
  return (script.length > 0 && script[0] === 0x6a) || script.length > 10_000;
}

const prefix = (a: Uint8Array, p: Uint8Array): boolean => a.length >= p.length && p.every((b, i) => a[i] === b);

export class Chainstate {
  readonly mempool = new Mempool();
  readonly scripts = new ScriptChecker();
  private tipHash: string;
  private tipHeight: number;
  private readonly tipListeners = new Set<(tip: ChainTip) => void>();
  /** True when this open created the file's chain (genesis only). */
  readonly created: boolean;

  constructor(
    readonly store: DevnetStore,
    private readonly opts: ChainstateOptions,
  ) {
    let tip = store.getMeta('tip');
    this.created = tip === undefined;
    if (tip === undefined) tip = this.initGenesis();
    this.tipHash = tip;
    this.tipHeight = store.getBlock(tip)!.height;
    this.loadMempool();
  }

  private initGenesis(): string {
    const g = regtestGenesis();
    this.store.tx(() => {
      this.store.insertBlock({
        hash: g.hash,
        prev: g.block.header.prev,
        height: 0,
        chainwork: Number(blockWork(REGTEST_BITS)),
        seq: 0,
        status: 'valid',
        time: g.block.header.time,
        header: g.header,
        raw: g.raw,
        weight: 4 * 81 + g.block.txs[0]!.weight,
        size: g.raw.length,
      });
      this.store.setChain(0, g.hash);
      this.store.setMeta('tip', g.hash);
    });
    return g.hash;
  }

  /** Rebuilds the in-memory mempool from its table; rows were validated when accepted. */
  private loadMempool(): void {
    for (const row of this.store.allMempool()) {
      const tx = parseTx(new Uint8Array(row.raw));
      const prevouts = tx.inputs.map((i) => {
        const parent = this.mempool.get(i.txid);
        if (parent) return parent.tx.outputs[i.vout]!;
        const c = this.store.getCoin(i.txid, i.vout);
        return { value: c?.value ?? 0, script: c?.script ?? new Uint8Array() };
      });
      this.mempool.add({ tx, fee: row.fee, seq: row.seq, time: row.time, prevouts });
    }
  }

  tip(): ChainTip {
    return { height: this.tipHeight, hash: this.tipHash };
  }

  onTip(listener: (tip: ChainTip) => void): () => void {
    this.tipListeners.add(listener);
    return () => this.tipListeners.delete(listener);
  }

  block(hash: string): BlockRow | undefined {
    return this.store.getBlock(hash);
  }

  /** Median time past of a block (its own and its ten ancestors' times), on its own branch. */
  mtpOf(hash: string): number {
    const times: number[] = [];
    let h: string | undefined = hash;
    while (h && times.length < MEDIAN_TIME_SPAN) {
      const row = this.store.getBlock(h);
      if (!row) break;
      times.push(row.time);
      h = row.height === 0 ? undefined : row.prev;
    }
    return medianTime(times);
  }

  private mtpAtHeight = (height: number): number => this.mtpOf(this.store.chainHash(height)!);

  statusAt(height: number): TxStatus {
    const hash = this.store.chainHash(height);
    if (!hash) return { confirmed: false };
    return { confirmed: true, blockHeight: height, blockHash: hash, blockTime: this.store.getBlock(hash)!.time };
  }

  // ------------------------------------------------------------------ blocks

  /** Assembles and mines a block on `parentHash` paying to `script`; mempool txs only on the active tip. */
  /** `minFeeRate` (sat/vB): leaves cheaper mempool txs out, as miners do in a fee spike. */
  buildBlock(parentHash: string, script: Uint8Array, minFeeRate = 0): Uint8Array {
    const parent = this.store.getBlock(parentHash);
    if (!parent) throw new ChainError('NOT_FOUND', `no block ${parentHash}`);
    if (parent.status === 'invalid') throw new ChainError('BAD_BLOCK', `block ${parentHash} is invalid; cannot mine on it`);
    const height = parent.height + 1;
    const txs = parentHash === this.tipHash ? this.mempool.select(MAX_BLOCK_WEIGHT - COINBASE_WEIGHT_RESERVE, minFeeRate) : [];
    const fees = txs.reduce((s, e) => s + e.fee, 0);
    const coinbase = buildCoinbase(height, script, blockSubsidy(height) + fees, this.store.nextSeq(), txs.map((e) => e.tx));
    const all = [coinbase, ...txs.map((e) => e.tx)];
    const time = Math.max(this.mtpOf(parentHash) + 1, Math.floor(this.opts.now()));
    const solved = solve({ version: 0x20000000, prev: parentHash, merkleRoot: merkleRoot(all.map((t) => t.txid)), time, bits: REGTEST_BITS, nonce: 0 });
    return encodeBlock(solved.bytes, all);
  }

  /**
   * Validates and stores a block, then moves to the best chain. Throws when the block
   * itself is refused (BAD_BLOCK, BLOCK_TOO_LARGE) or turned out invalid on connect.
   */
  submitBlock(raw: Uint8Array): string {
    let block: Block;
    try {
      block = decodeBlock(raw);
    } catch (cause) {
      if (cause instanceof ChainError && cause.code === 'BAD_BLOCK') throw cause;
      throw new ChainError('BAD_BLOCK', `block does not parse: ${(cause as Error).message}`, { cause });
    }
    const headerBytes = raw.subarray(0, 80);
    const hash = headerHash(headerBytes);
    const known = this.store.getBlock(hash);
    if (known) {
      if (known.status === 'invalid') throw new ChainError('BAD_BLOCK', `block ${hash} is known to be invalid`);
      return hash;
    }
    const weight = this.checkBlock(block, headerBytes);
    const parent = this.store.getBlock(block.header.prev);
    if (!parent) throw new ChainError('BAD_BLOCK', `block ${hash} builds on unknown block ${block.header.prev}`);
    if (parent.status === 'invalid') throw new ChainError('BAD_BLOCK', `block ${hash} builds on invalid block ${parent.hash}`);
    const height = parent.height + 1;
    if (block.header.time <= this.mtpOf(parent.hash)) {
      throw new ChainError('BAD_BLOCK', expected('block time', `> median time past ${this.mtpOf(parent.hash)}`, block.header.time));
    }
    if (!prefix(block.txs[0]!.inputs[0]!.scriptSig, bip34HeightPush(height))) {
      throw new ChainError('BAD_BLOCK', `bad-cb-height: coinbase does not start with height ${height}`);
    }
    this.store.insertBlock({
      hash,
      prev: block.header.prev,
      height,
      chainwork: parent.chainwork + Number(blockWork(block.header.bits)),
      seq: this.store.nextSeq(),
      status: 'valid',
      time: block.header.time,
      header: Uint8Array.from(headerBytes),
      raw,
      weight,
      size: raw.length,
    });
    const failure = this.activateBestChain([]);
    if (this.store.getBlock(hash)!.status === 'invalid') {
      throw new ChainError('BAD_BLOCK', `block ${hash} is invalid: ${failure?.message ?? 'an ancestor is invalid'}`, { cause: failure });
    }
    return hash;
  }

  /** Context-free block rules (Core's CheckBlock); returns the block weight. */
  private checkBlock(block: Block, headerBytes: Uint8Array): number {
    const { header, txs } = block;
    if (header.bits !== REGTEST_BITS) throw new ChainError('BAD_BLOCK', expected('bits', '0x207fffff', `0x${header.bits.toString(16)}`));
    if (!checkProofOfWork(headerBytes, header.bits)) throw new ChainError('BAD_BLOCK', 'high-hash: proof of work does not meet the target');
    if (txs.length === 0 || !isCoinbase(txs[0]!)) throw new ChainError('BAD_BLOCK', 'bad-cb-missing: first transaction is not a coinbase');
    if (txs.slice(1).some(isCoinbase)) throw new ChainError('BAD_BLOCK', 'bad-cb-multiple: more than one coinbase');
    const txids = txs.map((t) => t.txid);
    if (merkleRoot(txids) !== header.merkleRoot) throw new ChainError('BAD_BLOCK', 'bad-txnmrklroot: merkle root does not match');
    if (merkleMutated(txids) || new Set(txids).size !== txids.length) throw new ChainError('BAD_BLOCK', 'bad-txns-duplicate: duplicate transaction');
    const countLen = txs.length < 0xfd ? 1 : txs.length <= 0xffff ? 3 : 5;
    const weight = 4 * (80 + countLen) + txs.reduce((s, t) => s + t.weight, 0);
    if (weight > MAX_BLOCK_WEIGHT) throw new ChainError('BLOCK_TOO_LARGE', expected('block weight', `<= ${MAX_BLOCK_WEIGHT}`, weight));
    for (const tx of txs) {
      try {
        checkTransaction(tx);
      } catch (cause) {
        throw new ChainError('BAD_BLOCK', `transaction ${tx.txid}: ${(cause as Error).message}`, { cause });
      }
    }
    const cb = txs[0]!;
    const at = findWitnessCommitment(cb);
    if (at >= 0) {
      const w = cb.inputs[0]!.witness;
      if (w.length !== 1 || w[0]!.length !== 32) throw new ChainError('BAD_BLOCK', 'bad-witness-nonce-size: coinbase witness must be one 32-byte item');
      const want = witnessCommitmentScript(txs);
      const got = cb.outputs[at]!.script.subarray(0, 38);
      if (!want.every((b, i) => got[i] === b)) throw new ChainError('BAD_BLOCK', 'bad-witness-merkle-match: witness commitment does not match');
    } else if (txs.some((t) => t.hasWitness)) {
      throw new ChainError('BAD_BLOCK', 'unexpected-witness: witness data without a commitment');
    }
    return weight;
  }

  private markInvalid(hash: string): void {
    const stack = [hash];
    while (stack.length) {
      const h = stack.pop()!;
      this.store.setStatus(h, 'invalid');
      stack.push(...this.store.children(h));
    }
  }

  /** Marks a block and its descendants invalid, disconnecting them if active, then re-picks the best chain. */
  invalidateBlock(hash: string): void {
    const row = this.store.getBlock(hash);
    if (!row) throw new ChainError('NOT_FOUND', `no block ${hash}`);
    if (row.height === 0) throw new ChainError('BAD_REQUEST', 'the genesis block cannot be invalidated');
    const disconnected: ParsedTx[] = [];
    const before = this.tipHash;
    if (this.store.chainHash(row.height) === hash) {
      while (this.tipHeight >= row.height) disconnected.unshift(...this.disconnectTip());
    }
    this.markInvalid(hash);
    this.activateBestChain(disconnected, before);
  }

  /**
   * Moves the active chain to the most-work valid block (Core's ActivateBestChain).
   * Blocks that fail to connect are marked invalid with their descendants; the first
   * failure is returned. Transactions of disconnected blocks go back through mempool
   * acceptance, followed by the old mempool.
   */
  private activateBestChain(disconnected: ParsedTx[], tipBefore = this.tipHash): ChainError | undefined {
    let failure: ChainError | undefined;
    while (true) {
      const best = this.store.getBlock(this.store.bestCandidate()!)!;
      const tip = this.store.getBlock(this.tipHash)!;
      if (best.chainwork <= tip.chainwork) break;
      const path: BlockRow[] = [];
      let b = best;
      while (this.store.chainHash(b.height) !== b.hash) {
        path.push(b);
        b = this.store.getBlock(b.prev)!;
      }
      while (this.tipHash !== b.hash) disconnected.unshift(...this.disconnectTip());
      for (const step of path.reverse()) {
        try {
          this.connectBlock(step);
        } catch (err) {
          failure ??= err instanceof ChainError ? err : new ChainError('BAD_BLOCK', String(err), { cause: err });
          this.markInvalid(step.hash);
          break;
        }
      }
    }
    if (disconnected.length > 0) this.resubmit(disconnected);
    if (this.tipHash !== tipBefore) {
      const t = this.tip();
      for (const l of this.tipListeners) l(t);
    }
    return failure;
  }

  private connectBlock(row: BlockRow): void {
    const { txs } = decodeBlock(row.raw);
    const height = row.height;
    const prevMtp = this.mtpOf(row.prev);
    this.store.tx(() => {
      let fees = 0;
      let n = 0;
      txs.forEach((tx, pos) => {
        let fee: number | null = null;
        if (pos > 0) {
          const coins = this.contextualCheck(tx, height, prevMtp, (i) => this.store.getCoin(i.txid, i.vout));
          this.scripts.check(tx, coins, CONSENSUS_FLAGS);
          fee = coins.reduce((s, c) => s + c.value, 0) - tx.outputs.reduce((s, o) => s + o.value, 0);
          fees += fee;
          tx.inputs.forEach((inp, vin) => {
            const c = coins[vin]!;
            this.store.delCoin(c.txid, c.vout);
            this.store.addUndo(row.hash, n++, c);
            this.store.addOutspend(c.txid, c.vout, tx.txid, vin);
            this.store.addScriptTx(c.script, tx.txid, height, pos);
          });
        }
        tx.outputs.forEach((o, vout) => {
          this.store.addScriptTx(o.script, tx.txid, height, pos);
          if (!isUnspendable(o.script)) {
            this.store.addCoin({ txid: tx.txid, vout, value: o.value, script: o.script, height, coinbase: pos === 0 ? 1 : 0 });
          }
        });
        this.store.addTx({ txid: tx.txid, block: row.hash, height, pos, raw: tx.raw, fee, weight: tx.weight });
      });
      const claimed = txs[0]!.outputs.reduce((s, o) => s + o.value, 0);
      if (claimed > blockSubsidy(height) + fees) {
        throw new ChainError('BAD_BLOCK', expected('coinbase value', `<= ${blockSubsidy(height) + fees}`, claimed));
      }
      this.store.setChain(height, row.hash);
      this.store.setMeta('tip', row.hash);
      this.evictForBlock(txs);
    });
    this.tipHash = row.hash;
    this.tipHeight = height;
  }

  /** Drops confirmed txs from the mempool and evicts those that now conflict (with descendants). */
  private evictForBlock(txs: ParsedTx[]): void {
    for (const tx of txs) {
      if (this.mempool.remove(tx.txid)) this.store.delMempool(tx.txid);
    }
    for (const tx of txs.slice(1)) {
      for (const i of tx.inputs) {
        const s = this.mempool.spender(i.txid, i.vout);
        if (s && s.txid !== tx.txid) for (const id of this.mempool.removeWithDescendants(s.txid)) this.store.delMempool(id);
      }
    }
  }

  /** Disconnects the active tip using its undo data; returns its non-coinbase txs in block order. */
  private disconnectTip(): ParsedTx[] {
    const row = this.store.getBlock(this.tipHash)!;
    if (row.height === 0) throw new ChainError('BAD_REQUEST', 'cannot disconnect the genesis block');
    const { txs } = decodeBlock(row.raw);
    const own = new Set(txs.map((t) => t.txid));
    this.store.tx(() => {
      for (const tx of [...txs].reverse()) {
        this.store.delCoinsOf(tx.txid);
        this.store.delTx(tx.txid);
        this.store.delOutspendsBy(tx.txid);
        this.store.delScriptTxs(tx.txid);
      }
      for (const c of this.store.undoOf(row.hash)) if (!own.has(c.txid)) this.store.addCoin(c);
      this.store.delUndo(row.hash);
      this.store.delChain(row.height);
      this.store.setMeta('tip', row.prev);
    });
    this.tipHash = row.prev;
    this.tipHeight = row.height - 1;
    return txs.slice(1);
  }

  private resubmit(disconnected: ParsedTx[]): void {
    const old = this.mempool.all().map((e) => e.tx);
    this.store.tx(() => {
      this.mempool.clear();
      this.store.clearMempool();
      for (const tx of [...disconnected, ...old]) {
        try {
          this.acceptTx(tx);
        } catch {
          // No longer valid on the new chain (double-spent, immature, locked): dropped, as Core does.
        }
      }
    });
  }

  // ------------------------------------------------------------ transactions

  /**
   * Rules that need the chain (Core's ContextualCheck + CheckTxInputs + BIP68), for a tx
   * going into a block at `height` whose parent has median time `prevMtp`. Returns the
   * coins spent, input by input.
   */
  private contextualCheck(tx: ParsedTx, height: number, prevMtp: number, coinOf: (i: { txid: string; vout: number }) => CoinRow | undefined): CoinRow[] {
    if (!isFinalTx(tx, height, prevMtp)) {
      throw new ChainError('LOCKTIME_NOT_REACHED', `non-final: nLockTime ${tx.lockTime} not reached at height ${height}, median time ${prevMtp}`);
    }
    const coins = tx.inputs.map((i, vin) => {
      const c = coinOf(i);
      if (c) return c;
      if (this.store.getOutspend(i.txid, i.vout)) {
        throw new ChainError('INPUT_SPENT', `input ${vin} spends ${i.txid}:${i.vout}, which is already spent`);
      }
      throw new ChainError('MISSING_INPUT', `input ${vin} spends ${i.txid}:${i.vout}, which does not exist`);
    });
    coins.forEach((c, vin) => {
      if (c.coinbase && height - c.height < COINBASE_MATURITY) {
        throw new ChainError('IMMATURE_COINBASE', `input ${vin} spends a coinbase of height ${c.height} with ${height - c.height} of ${COINBASE_MATURITY} confirmations`);
      }
    });
    const locks = sequenceLocks(tx, coins.map((c) => c.height), this.mtpAtHeight);
    if (!sequenceLocksSatisfied(locks, height, prevMtp)) {
      throw new ChainError('SEQUENCE_LOCK_NOT_REACHED', `BIP68 relative lock: needs height > ${locks.minHeight} and median time > ${locks.minTime}; block would be ${height} at ${prevMtp}`);
    }
    const valueIn = coins.reduce((s, c) => s + c.value, 0);
    const valueOut = tx.outputs.reduce((s, o) => s + o.value, 0);
    if (valueIn < valueOut) throw new ChainError('FEE_TOO_LOW', `bad-txns-in-belowout: inputs ${valueIn} sats < outputs ${valueOut} sats`);
    return coins;
  }

  /**
   * Mempool acceptance (Core's AcceptToMemoryPool), with BIP125 replacement of mempool
   * transactions it conflicts with (see replacementOf). Returns the txid.
   */
  acceptTx(tx: ParsedTx): string {
    checkTransaction(tx);
    if (isCoinbase(tx)) throw new ChainError('MALFORMED_TX', 'a coinbase is only valid in a block');
    if (tx.weight > MAX_STANDARD_TX_WEIGHT) throw new ChainError('TX_TOO_LARGE', expected('transaction weight', `<= ${MAX_STANDARD_TX_WEIGHT}`, tx.weight));
    if (tx.version < 1 || tx.version > 3) throw new ChainError('NON_STANDARD', expected('transaction version', '1..3', tx.version));
    if (this.mempool.has(tx.txid) || this.store.getTx(tx.txid)) throw new ChainError('DUPLICATE_TX', `transaction ${tx.txid} is already known`);
    const conflicts = new Set<string>();
    tx.inputs.forEach((i, vin) => {
      const s = this.mempool.spender(i.txid, i.vout);
      if (!s) return;
      if (!this.signalsReplacement(s.txid)) {
        throw new ChainError('INPUT_SPENT', `input ${vin} spends ${i.txid}:${i.vout}, already spent by mempool tx ${s.txid} (which does not signal BIP125 replacement)`);
      }
      conflicts.add(s.txid);
    });
    const height = this.tipHeight + 1;
    const coins = this.contextualCheck(tx, height, this.mtpOf(this.tipHash), (i) => {
      const parent = this.mempool.get(i.txid);
      if (parent) {
        const o = parent.tx.outputs[i.vout];
        return o ? { txid: i.txid, vout: i.vout, value: o.value, script: o.script, height, coinbase: 0 } : undefined;
      }
      return this.store.getCoin(i.txid, i.vout);
    });
    const fee = coins.reduce((s, c) => s + c.value, 0) - tx.outputs.reduce((s, o) => s + o.value, 0);
    const minFee = Math.ceil(this.opts.minRelayFeeRate * tx.vsize);
    if (fee < minFee) throw new ChainError('FEE_TOO_LOW', expected('fee', `>= ${minFee} sats (${this.opts.minRelayFeeRate} sat/vB x ${tx.vsize} vB)`, fee));
    const evicted = conflicts.size > 0 ? this.replacementOf(tx, fee, conflicts) : [];
    const prevouts: Prevout[] = coins.map((c) => ({ value: c.value, script: c.script }));
    this.scripts.check(tx, prevouts, STANDARD_FLAGS);
    for (const id of evicted) {
      this.mempool.remove(id);
      this.store.delMempool(id);
    }
    const seq = this.mempool.takeSeq();
    const time = Math.floor(this.opts.now());
    this.store.addMempool(tx.txid, seq, tx.raw, fee, time);
    this.mempool.add({ tx, fee, seq, time, prevouts });
    return tx.txid;
  }

  /** BIP125: a mempool tx is replaceable when it or one of its mempool ancestors signals (an input nSequence < 0xfffffffe). */
  private signalsReplacement(txid: string): boolean {
    const seen = new Set<string>();
    const stack = [txid];
    while (stack.length) {
      const e = this.mempool.get(stack.pop()!);
      if (!e || seen.has(e.tx.txid)) continue;
      seen.add(e.tx.txid);
      if (e.tx.inputs.some((i) => i.sequence <= MAX_BIP125_RBF_SEQUENCE)) return true;
      stack.push(...this.mempool.parents(e));
    }
    return false;
  }

  /**
   * Core's replacement rules (BIP125 as Bitcoin Core applies them) for `tx`, paying `fee`,
   * against the mempool txs it directly conflicts with. Returns every txid it would evict
   * (conflicts and their descendants), or throws:
   *   - more than MAX_REPLACEMENT_EVICTIONS evicted, or tx spends an output of a tx it
   *     replaces, or a new unconfirmed input: NON_STANDARD;
   *   - a fee rate not above every direct conflict's, a fee below the sum of the evicted
   *     fees, or an increase below the incremental relay fee (minRelayFeeRate x vsize): FEE_TOO_LOW.
   */
  private replacementOf(tx: ParsedTx, fee: number, conflicts: Set<string>): string[] {
    const evicted = new Set<string>();
    for (const id of conflicts) {
      const stack = [id];
      while (stack.length) {
        const e = this.mempool.get(stack.pop()!);
        if (!e || evicted.has(e.tx.txid)) continue;
        evicted.add(e.tx.txid);
        e.tx.outputs.forEach((_, vout) => {
          const child = this.mempool.spender(e.tx.txid, vout);
          if (child) stack.push(child.txid);
        });
        if (evicted.size > MAX_REPLACEMENT_EVICTIONS) {
          throw new ChainError('NON_STANDARD', expected('transactions replaced', `<= ${MAX_REPLACEMENT_EVICTIONS}`, `more than ${MAX_REPLACEMENT_EVICTIONS}`));
        }
      }
    }
    const conflictInputs = new Set([...conflicts].flatMap((id) => this.mempool.get(id)!.tx.inputs.map((i) => `${i.txid}:${i.vout}`)));
    for (const [vin, i] of tx.inputs.entries()) {
      if (evicted.has(i.txid)) throw new ChainError('NON_STANDARD', `input ${vin} spends ${i.txid}, a transaction it would replace`);
      if (this.mempool.has(i.txid) && !conflictInputs.has(`${i.txid}:${i.vout}`)) {
        throw new ChainError('NON_STANDARD', `input ${vin} spends unconfirmed ${i.txid}:${i.vout}, which no replaced transaction spent`);
      }
    }
    for (const id of conflicts) {
      const e = this.mempool.get(id)!;
      if (fee * e.tx.vsize <= e.fee * tx.vsize) {
        throw new ChainError('FEE_TOO_LOW', expected('replacement fee rate', `above ${(e.fee / e.tx.vsize).toFixed(2)} sat/vB of ${id}`, `${(fee / tx.vsize).toFixed(2)} sat/vB`));
      }
    }
    const replacedFees = [...evicted].reduce((sum, id) => sum + this.mempool.get(id)!.fee, 0);
    const needed = replacedFees + Math.ceil(this.opts.minRelayFeeRate * tx.vsize);
    if (fee < needed) {
      throw new ChainError('FEE_TOO_LOW', expected('replacement fee', `>= ${needed} sats (${replacedFees} replaced + incremental ${this.opts.minRelayFeeRate} sat/vB x ${tx.vsize} vB)`, fee));
    }
    return [...evicted];
  }
}
