import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  dustThreshold,
  feeFor,
  outpointKey,
  selectCoins,
  txWeight,
  P2WPKH_INPUT_WEIGHT,
  type Coin,
} from '../../src/wallet/coin-select.ts';
import { WalletError } from '../../src/wallet/errors.ts';

const p2wpkh = (fill = 1) => Uint8Array.of(0x00, 0x14, ...new Array<number>(20).fill(fill));
const p2wsh = () => Uint8Array.of(0x00, 0x20, ...new Array<number>(32).fill(7));
const p2pkh = () => Uint8Array.of(0x76, 0xa9, 0x14, ...new Array<number>(20).fill(3), 0x88, 0xac);
const coin = (i: number, value: number): Coin => ({ txid: i.toString(16).padStart(64, '0'), vout: i % 3, value });

test('dust thresholds match Bitcoin Core at 3 sat/vB', () => {
  assert.equal(dustThreshold(p2wpkh()), 294);
  assert.equal(dustThreshold(p2wsh()), 330);
  assert.equal(dustThreshold(p2pkh()), 546);
  assert.equal(dustThreshold(Uint8Array.of(0x6a, 0x01, 0x00)), 0);
});

test('a P2WPKH input weighs 272 WU (68 vB) and a 1-in 2-out P2WPKH tx 141 vB at most', () => {
  assert.equal(P2WPKH_INPUT_WEIGHT, 272);
  assert.equal(Math.ceil(txWeight(1, [22, 22]) / 4), 141);
});

test('an exact-ish match needs no change; the small excess goes to fee', () => {
  const fee = feeFor(txWeight(1, [22]), 2);
  const s = selectCoins({ coins: [coin(1, 10_000 + fee + 50)], outputs: [{ script: p2wpkh(), amount: 10_000 }], feeRate: 2 });
  assert.equal(s.change, 0);
  assert.equal(s.fee, fee + 50);
  assert.equal(s.algorithm, 'bnb');
});

test('change that would be dust is folded into the fee', () => {
  const fee1 = feeFor(txWeight(1, [22]), 1);
  const s = selectCoins({ coins: [coin(1, 50_000 + fee1 + 200)], outputs: [{ script: p2wpkh(), amount: 50_000 }], feeRate: 1 });
  assert.equal(s.change, 0);
  assert.equal(s.fee, fee1 + 200);
});

test('typed refusals: insufficient funds says needed and available, dust output, bad amount, bad fee rate', () => {
  assert.throws(
    () => selectCoins({ coins: [coin(1, 5_000), coin(2, 3_000)], outputs: [{ script: p2wpkh(), amount: 9_000 }], feeRate: 1 }),
    (e) => WalletError.is(e, 'INSUFFICIENT_FUNDS') && /need \d+ sats/.test((e as Error).message) && /8000 sats spendable/.test((e as Error).message),
  );
  assert.throws(
    () => selectCoins({ coins: [coin(1, 5_000)], outputs: [{ script: p2wpkh(), amount: 293 }], feeRate: 1 }),
    (e) => WalletError.is(e, 'DUST_OUTPUT'),
  );
  for (const amount of [-1, 1.5, Number.NaN]) {
    assert.throws(
      () => selectCoins({ coins: [coin(1, 5_000)], outputs: [{ script: p2wpkh(), amount }], feeRate: 1 }),
      (e) => WalletError.is(e, 'BAD_AMOUNT'),
    );
  }
  assert.throws(() => selectCoins({ coins: [coin(1, 5_000)], outputs: [], feeRate: 1 }), (e) => WalletError.is(e, 'BAD_AMOUNT'));
  assert.throws(
    () => selectCoins({ coins: [coin(1, 5_000)], outputs: [{ script: p2wpkh(), amount: 1000 }], feeRate: 0 }),
    (e) => WalletError.is(e, 'BAD_FEE_RATE'),
  );
});

test('locked coins are never spent even when they are the only way to pay', () => {
  const coins = [coin(1, 100_000), coin(2, 1_000)];
  assert.throws(
    () =>
      selectCoins({ coins, locked: new Set([outpointKey(coins[0]!)]), outputs: [{ script: p2wpkh(), amount: 5_000 }], feeRate: 1 }),
    (e) => WalletError.is(e, 'INSUFFICIENT_FUNDS'),
  );
});

const coinsArb = fc.array(fc.integer({ min: 1, max: 5_000_000 }), { minLength: 0, maxLength: 25 }).map((vs) => vs.map((v, i) => coin(i, v)));
const scriptArb = fc.constantFrom(p2wpkh(9), p2wsh(), p2pkh());

test('property: selection balances, respects locks, never makes dust change, pays at least the fee rate', () => {
  fc.assert(
    fc.property(
      coinsArb,
      fc.array(fc.tuple(scriptArb, fc.integer({ min: 546, max: 3_000_000 })), { minLength: 1, maxLength: 4 }),
      fc.double({ min: 1, max: 200, noNaN: true }),
      fc.array(fc.nat(30)),
      (coins, outs, feeRate, lockIdx) => {
        const locked = new Set(lockIdx.filter((i) => i < coins.length).map((i) => outpointKey(coins[i]!)));
        const outputs = outs.map(([script, amount]) => ({ script, amount }));
        const amount = outputs.reduce((s, o) => s + o.amount, 0);
        let sel;
        try {
          sel = selectCoins({ coins, locked, outputs, feeRate });
        } catch (e) {
          assert.ok(WalletError.is(e, 'INSUFFICIENT_FUNDS'), String(e));
          // Refusal is honest: spending every unlocked coin cannot pay outputs + fee.
          const free = coins.filter((c) => !locked.has(outpointKey(c)));
          const all = free.reduce((s, c) => s + c.value, 0);
          assert.ok(all < amount + feeFor(txWeight(free.length, outputs.map((o) => o.script.length)), feeRate));
          return;
        }
        for (const c of sel.inputs) assert.ok(!locked.has(outpointKey(c)), 'spent a locked coin');
        assert.equal(new Set(sel.inputs.map(outpointKey)).size, sel.inputs.length, 'same coin twice');
        const inSum = sel.inputs.reduce((s, c) => s + c.value, 0);
        assert.equal(inSum, amount + sel.change + sel.fee, 'inputs = outputs + change + fee');
        assert.ok(sel.change === 0 || sel.change >= dustThreshold(p2wpkh()), `dust change ${sel.change}`);
        const lens = [...outputs.map((o) => o.script.length), ...(sel.change ? [22] : [])];
        const weight = txWeight(sel.inputs.length, lens);
        assert.equal(sel.vsize, Math.ceil(weight / 4));
        assert.ok(sel.fee >= feeFor(weight, feeRate), `fee ${sel.fee} below rate ${feeRate} x ${sel.vsize} vB`);
      },
    ),
    { numRuns: 400 },
  );
});
