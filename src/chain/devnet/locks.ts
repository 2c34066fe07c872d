/**
 * Time locks: nLockTime finality (with BIP113 median-time-past) and BIP68 relative
 * locks. Pure: the caller supplies heights and median times.
 */
import type { ParsedTx } from './tx.ts';

export const LOCKTIME_THRESHOLD = 500_000_000;
export const SEQUENCE_FINAL = 0xffffffff;
const SEQUENCE_LOCKTIME_DISABLE_FLAG = 0x80000000;
const SEQUENCE_LOCKTIME_TYPE_FLAG = 0x00400000;
const SEQUENCE_LOCKTIME_MASK = 0x0000ffff;
const SEQUENCE_LOCKTIME_GRANULARITY = 9;

/** Core's IsFinalTx: `blockHeight` is the height of the block that would contain tx, `mtp` its parent's MTP. */
export function isFinalTx(tx: ParsedTx, blockHeight: number, mtp: number): boolean {
  if (tx.lockTime === 0) return true;
  const limit = tx.lockTime < LOCKTIME_THRESHOLD ? blockHeight : mtp;
  if (tx.lockTime < limit) return true;
  return tx.inputs.every((i) => i.sequence === SEQUENCE_FINAL);
}

export function medianTime(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * BIP68 (Core's CalculateSequenceLocks): the last height and time at which tx is still
 * locked; -1 when unconstrained. `coinHeights[i]` is the height of the block holding input
 * i's coin (the next block's height for mempool coins); `mtpAt(h)` is the median time past
 * of the active-chain block at height h (median of its and its 10 ancestors' times).
 */
export function sequenceLocks(tx: ParsedTx, coinHeights: number[], mtpAt: (height: number) => number): { minHeight: number; minTime: number } {
  let minHeight = -1;
  let minTime = -1;
  // Core compares the version as uint32: a "negative" version enforces BIP68 too.
  if (tx.version >>> 0 < 2) return { minHeight, minTime };
  tx.inputs.forEach((inp, i) => {
    if (inp.sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG) return;
    const coinHeight = coinHeights[i]!;
    const value = inp.sequence & SEQUENCE_LOCKTIME_MASK;
    if (inp.sequence & SEQUENCE_LOCKTIME_TYPE_FLAG) {
      const coinTime = mtpAt(Math.max(coinHeight - 1, 0));
      minTime = Math.max(minTime, coinTime + (value << SEQUENCE_LOCKTIME_GRANULARITY) - 1);
    } else {
      minHeight = Math.max(minHeight, coinHeight + value - 1);
    }
  });
  return { minHeight, minTime };
}

/** Core's EvaluateSequenceLocks for a block at `blockHeight` whose parent has MTP `prevMtp`. */
export function sequenceLocksSatisfied(locks: { minHeight: number; minTime: number }, blockHeight: number, prevMtp: number): boolean {
  return locks.minHeight < blockHeight && locks.minTime < prevMtp;
}
