/**
 * Pending transactions in memory, mirrored row by row into the `mempool` table by the
 * caller. Knows who spends which outpoint (conflicts, outspends) and the parent/child
 * links that block assembly, eviction and BIP125 replacement need. No validation here:
 * chainstate.ts validates (and applies the replacement rules) before adding.
 */
import type { ParsedTx } from './tx.ts';
import type { Prevout } from './script-check.ts';

export interface MempoolEntry {
  tx: ParsedTx;
  fee: number;
  /** Acceptance order; survives restarts. */
  seq: number;
  /** Unix seconds of acceptance. */
  time: number;
  /** The coins it spends, input by input (for script history of spends). */
  prevouts: Prevout[];
}

const key = (txid: string, vout: number): string => `${txid}:${vout}`;

export class Mempool {
  private readonly entries = new Map<string, MempoolEntry>();
  private readonly spentBy = new Map<string, { txid: string; vin: number }>();
  private nextSeq = 0;

  get size(): number {
    return this.entries.size;
  }

  takeSeq(): number {
    return this.nextSeq++;
  }

  get(txid: string): MempoolEntry | undefined {
    return this.entries.get(txid);
  }

  has(txid: string): boolean {
    return this.entries.has(txid);
  }

  /** All entries in acceptance order. */
  all(): MempoolEntry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }

  spender(txid: string, vout: number): { txid: string; vin: number } | undefined {
    return this.spentBy.get(key(txid, vout));
  }

  add(e: MempoolEntry): void {
    this.entries.set(e.tx.txid, e);
    e.tx.inputs.forEach((i, vin) => this.spentBy.set(key(i.txid, i.vout), { txid: e.tx.txid, vin }));
    if (e.seq >= this.nextSeq) this.nextSeq = e.seq + 1;
  }

  /** Removes one entry (its children stay: used when it confirms). */
  remove(txid: string): MempoolEntry | undefined {
    const e = this.entries.get(txid);
    if (!e) return undefined;
    this.entries.delete(txid);
    for (const i of e.tx.inputs) {
      const k = key(i.txid, i.vout);
      if (this.spentBy.get(k)?.txid === txid) this.spentBy.delete(k);
    }
    return e;
  }

  /** Removes an entry and everything that spends its outputs, transitively; returns the removed txids. */
  removeWithDescendants(txid: string): string[] {
    const removed: string[] = [];
    const stack = [txid];
    while (stack.length) {
      const id = stack.pop()!;
      const e = this.remove(id);
      if (!e) continue;
      removed.push(id);
      e.tx.outputs.forEach((_, vout) => {
        const child = this.spentBy.get(key(id, vout));
        if (child) stack.push(child.txid);
      });
    }
    return removed;
  }

  clear(): void {
    this.entries.clear();
    this.spentBy.clear();
  }

  /** Mempool parents of an entry (txs whose outputs it spends). */
  parents(e: MempoolEntry): string[] {
    return [...new Set(e.tx.inputs.map((i) => i.txid).filter((t) => this.entries.has(t)))];
  }

  /**
   * Block assembly: highest fee rate first among txs whose mempool parents are already
   * chosen, until `maxWeight` is used. Parents always precede children; a child does not
   * pull in a cheaper parent (no CPFP package scoring). Entries paying less than
   * `minFeeRate` sat/vB are left out.
   */
  select(maxWeight: number, minFeeRate = 0): MempoolEntry[] {
    const pending = [...this.entries.values()].filter((e) => e.fee >= minFeeRate * e.tx.vsize).sort((a, b) => b.fee * a.tx.weight - a.fee * b.tx.weight || a.seq - b.seq);
    const chosen: MempoolEntry[] = [];
    const chosenIds = new Set<string>();
    let weight = 0;
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const e = pending[i]!;
        if (!this.parents(e).every((p) => chosenIds.has(p))) continue;
        pending.splice(i, 1);
        i--;
        if (weight + e.tx.weight > maxWeight) continue;
        chosen.push(e);
        chosenIds.add(e.tx.txid);
        weight += e.tx.weight;
        progress = true;
        // Restart so a child just unlocked competes by fee rate with everything left.
        break;
      }
    }
    return chosen;
  }
}
