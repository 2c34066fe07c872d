import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFeeRate, feeRateFromEstimates } from '../../src/wallet/fees.ts';
import { WalletError } from '../../src/wallet/errors.ts';

test('fee rate: the estimate for the largest target not above the one asked, else the slowest, else 1 sat/vB', () => {
  const est = { '1': 40, '2': 25, '6': 10.5, '144': 2 };
  assert.equal(feeRateFromEstimates(est, 6), 10.5);
  assert.equal(feeRateFromEstimates(est, 3), 25);
  assert.equal(feeRateFromEstimates(est, 1000), 2);
  assert.equal(feeRateFromEstimates({ '6': 9, '144': 3 }, 2), 9);
  assert.equal(feeRateFromEstimates({}, 6), 1);
  assert.equal(feeRateFromEstimates({ '6': 0.2 }, 6), 1, 'never below the minimum relay fee');
  assert.equal(feeRateFromEstimates({ x: 50, '-1': 50, '3': Number.NaN }, 6), 1, 'malformed entries are ignored');
});

test('fee rate checks: below relay minimum or not a number, and above the sanity cap', () => {
  assert.equal(checkFeeRate(1), 1);
  assert.equal(checkFeeRate(1000), 1000);
  for (const bad of [0, 0.99, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => checkFeeRate(bad), (e) => WalletError.is(e, 'BAD_FEE_RATE'), String(bad));
  }
  assert.throws(() => checkFeeRate(1000.5), (e) => WalletError.is(e, 'FEE_RATE_TOO_HIGH') && /1000\.5/.test((e as Error).message));
  assert.throws(() => checkFeeRate(60, 50), (e) => WalletError.is(e, 'FEE_RATE_TOO_HIGH'));
});
