/**
 * Fee rates in sat/vB. The backend's estimates are keyed by confirmation target in
 * blocks; the wallet takes the estimate for the largest target not above the one asked
 * for (a faster estimate is never cheaper), else the slowest one it has, else the floor.
 */
import type { FeeEstimates } from '../chain/backend.ts';
import { expected } from '../core/errors.ts';
import { WalletError } from './errors.ts';

/** Bitcoin Core's default minimum relay fee, 1 sat/vB. */
export const MIN_RELAY_FEE_RATE = 1;
/** Default sanity cap: a fee rate above this is almost surely a unit mistake. */
export const DEFAULT_MAX_FEE_RATE = 1000;
/** Default confirmation target in blocks. */
export const DEFAULT_CONF_TARGET = 6;

export function feeRateFromEstimates(estimates: FeeEstimates, confTarget = DEFAULT_CONF_TARGET): number {
  const entries = Object.entries(estimates)
    .map(([k, v]) => [Number(k), v] as const)
    .filter(([k, v]) => Number.isInteger(k) && k > 0 && Number.isFinite(v) && v > 0)
    .sort((a, b) => a[0] - b[0]);
  if (entries.length === 0) return MIN_RELAY_FEE_RATE;
  const atOrBelow = entries.filter(([k]) => k <= confTarget);
  const chosen = atOrBelow.length > 0 ? atOrBelow[atOrBelow.length - 1]! : entries[0]!;
  return Math.max(MIN_RELAY_FEE_RATE, chosen[1]);
}

export function checkFeeRate(feeRate: number, maxFeeRate = DEFAULT_MAX_FEE_RATE): number {
  if (!Number.isFinite(feeRate) || feeRate < MIN_RELAY_FEE_RATE) {
    throw new WalletError('BAD_FEE_RATE', expected('feeRate', `a number of sat/vB >= ${MIN_RELAY_FEE_RATE}`, feeRate));
  }
  if (feeRate > maxFeeRate) {
    throw new WalletError('FEE_RATE_TOO_HIGH', expected('feeRate', `<= ${maxFeeRate} sat/vB (sanity cap)`, feeRate));
  }
  return feeRate;
}
