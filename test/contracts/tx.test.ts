// Every transaction the builders make is judged by bitcore-lib's interpreter (an
// independent implementation) under Core's standard flags, and every bad input is
// refused with its code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '@scure/base';
import { RawTx, Transaction } from '@scure/btc-signer';
import { buildFundingTx, estimateFundingVsize } from '../../src/contracts/funding.ts';
import type { FundingInput, FundingRequest } from '../../src/contracts/funding.ts';
import { buildClaimTx } from '../../src/contracts/claim.ts';
import type { ClaimItem } from '../../src/contracts/claim.ts';
import { buildRefundTx } from '../../src/contracts/refund.ts';
import { extractPreimages, findContractSpends } from '../../src/contracts/extract.ts';
import { buildContractScript, contractScriptPubKey } from '../../src/contracts/script.ts';
import type { ContractMode, ContractTerms } from '../../src/contracts/script.ts';
import type { ContractCoin } from '../../src/contracts/tx.ts';
import { ContractError } from '../../src/contracts/errors.ts';
import * as h from './helpers.ts';

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => ContractError.is(e) && e.code === code, `expected ContractError ${code}`);

const walletCoin = (label: string, value: number): FundingInput => ({ outpoint: { txid: h.fakeTxid(label), vout: 1 }, value, script: h.WALLET_SCRIPT, privateKey: h.WALLET });

interface Fixture { coins: (ContractCoin & { k: Uint8Array; r?: Uint8Array; terms: ContractTerms })[]; raw: Uint8Array; txid: string }

function fund(modes: ContractMode[], amount = 10_000, locktime = 900): Fixture {
  const cs = modes.map((m, i) => h.terms(m, i, locktime + i));
  const f = buildFundingTx({
    inputs: [walletCoin('a', 2_000_000)],
    contracts: cs.map((c) => ({ terms: c.terms, amount })),
    changeScript: h.WALLET_SCRIPT,
    feeRate: 2,
  });
  return {
    raw: f.tx,
    txid: f.txid,
    coins: f.contracts.map((o, i) => ({ outpoint: { txid: f.txid, vout: o.vout }, amount: o.amount, script: o.script, k: cs[i]!.k, r: cs[i]!.r, terms: cs[i]!.terms })),
  };
}
const claimItems = (fx: Fixture): ClaimItem[] => fx.coins.map((c) => ({ outpoint: c.outpoint, amount: c.amount, script: c.script, k: c.k, ...(c.r ? { r: c.r } : {}) }));
const judge = (raw: Uint8Array, coins: ContractCoin[]) => coins.map((c, i) => h.interpret(raw, i, contractScriptPubKey(c.script), c.amount));

/** A signature by `priv` over input idx of raw, as a relay with another key would make. */
function foreignSig(raw: Uint8Array, idx: number, coin: ContractCoin, priv: Uint8Array): Uint8Array {
  const tx = Transaction.fromRaw(raw, { allowUnknownInputs: true, allowUnknownOutputs: true });
  const hash = tx.preimageWitnessV0(idx, coin.script, 1, BigInt(coin.amount));
  return Uint8Array.from([...h.secp.sign(hash, priv, { prehash: false, format: 'der' }), 1]);
}

describe('funding transaction', () => {
  for (const n of [1, 10]) {
    it(`funds ${n} contract(s) in one transaction, valid to bitcore, RBF-signalling, with change`, () => {
      const inputs = [walletCoin('a', 60_000), walletCoin('b', 70_000)];
      const cs = Array.from({ length: n }, (_, i) => h.terms(i % 2 ? 'recipient-pays' : 'sender-pays', i));
      const f = buildFundingTx({ inputs, contracts: cs.map((c) => ({ terms: c.terms, amount: 5_000 })), changeScript: h.WALLET_SCRIPT, feeRate: 3 });
      inputs.forEach((inp, i) => assert.equal(h.interpret(f.tx, i, inp.script, inp.value), ''));
      const d = RawTx.decode(f.tx);
      assert.equal(d.outputs.length, n + 1);
      cs.forEach((c, i) => {
        assert.equal(hex.encode(d.outputs[i]!.script), hex.encode(contractScriptPubKey(buildContractScript(c.terms))));
        assert.equal(d.outputs[i]!.amount, 5_000n);
      });
      assert.ok(d.inputs.every((i) => i.sequence === 0xfffffffd));
      const est = estimateFundingVsize(2, n, h.WALLET_SCRIPT.length);
      assert.ok(f.vsize <= est && est - f.vsize <= 1, `vsize ${f.vsize} vs estimate ${est}`);
      assert.equal(f.fee, est * 3);
      assert.equal(f.change!.amount, 130_000 - n * 5_000 - f.fee);
      assert.equal(Number(d.outputs[n]!.amount), f.change!.amount);
    });
  }

  it('drops change below dust into the fee', () => {
    const c = h.terms('sender-pays');
    const feeNoChange = estimateFundingVsize(1, 1) * 2;
    const f = buildFundingTx({ inputs: [walletCoin('a', 5_000 + feeNoChange + 200)], contracts: [{ terms: c.terms, amount: 5_000 }], changeScript: h.WALLET_SCRIPT, feeRate: 2 });
    assert.equal(f.change, undefined);
    assert.equal(f.fee, feeNoChange + 200);
    assert.equal(RawTx.decode(f.tx).outputs.length, 1);
  });

  it('signs inputs without keys through the signInput callback', () => {
    const c = h.terms('recipient-pays');
    const seen: number[] = [];
    const f = buildFundingTx({
      inputs: [{ ...walletCoin('a', 50_000), privateKey: undefined }],
      contracts: [{ terms: c.terms, amount: 5_000 }], changeScript: h.WALLET_SCRIPT, feeRate: 1,
      signInput: (tx, idx) => { seen.push(idx); tx.signIdx(h.WALLET, idx); tx.finalizeIdx(idx); },
    });
    assert.deepEqual(seen, [0]);
    assert.equal(h.interpret(f.tx, 0, h.WALLET_SCRIPT, 50_000), '');
  });

  const base = (): FundingRequest => ({ inputs: [walletCoin('a', 50_000)], contracts: [{ terms: h.terms('sender-pays').terms, amount: 5_000 }], changeScript: h.WALLET_SCRIPT, feeRate: 2 });
  const bad: [string, (r: FundingRequest) => void, string][] = [
    ['coins below contracts + fee', (r) => { r.inputs[0]!.value = 5_100; }, 'INSUFFICIENT_FUNDS'],
    ['a contract amount of 329 sats', (r) => { r.contracts[0]!.amount = 329; }, 'DUST'],
    ['a fractional amount', (r) => { r.contracts[0]!.amount = 5000.5; }, 'BAD_AMOUNT'],
    ['a zero fee rate', (r) => { r.feeRate = 0; }, 'BAD_AMOUNT'],
    ['an H(k) of 31 bytes', (r) => { r.contracts[0]!.terms = { ...r.contracts[0]!.terms, hk: new Uint8Array(31) }; }, 'BAD_HASH'],
    ['an invalid relay key', (r) => { r.contracts[0]!.terms = { ...r.contracts[0]!.terms, relayPubkey: Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]) }; }, 'BAD_PUBKEY'],
    ['a time-based locktime', (r) => { r.contracts[0]!.terms = { ...r.contracts[0]!.terms, locktime: 1_700_000_000 }; }, 'BAD_LOCKTIME'],
    ['a P2WSH wallet input', (r) => { r.inputs[0]!.script = contractScriptPubKey(new Uint8Array([0x51])); }, 'BAD_SCRIPT'],
    ['an input key that is not the coin\'s', (r) => { r.inputs[0]!.privateKey = h.OTHER; }, 'WRONG_KEY'],
    ['an input with neither key nor callback', (r) => { delete r.inputs[0]!.privateKey; }, 'WRONG_KEY'],
    ['a private key of zeros', (r) => { r.inputs[0]!.privateKey = new Uint8Array(32); }, 'BAD_PRIVKEY'],
    ['the same coin twice', (r) => { r.inputs.push({ ...r.inputs[0]! }); }, 'BAD_TX'],
    ['a txid in the wrong form', (r) => { r.inputs[0]!.outpoint = { txid: 'zz', vout: 0 }; }, 'BAD_TX'],
    ['no contracts', (r) => { r.contracts = []; }, 'BAD_TX'],
    ['an empty change script', (r) => { r.changeScript = new Uint8Array(0); }, 'BAD_SCRIPT'],
  ];
  for (const [what, mutate, code] of bad) {
    it(`refuses ${what} with ${code}`, () => {
      const r = base();
      mutate(r);
      throwsCode(() => buildFundingTx(r), code);
    });
  }
});

describe('claim transaction', () => {
  for (const mode of ['sender-pays', 'recipient-pays'] as const) {
    it(`${mode}: claim with the right preimages and key is valid to bitcore`, () => {
      const fx = fund([mode]);
      const c = buildClaimTx({ contracts: claimItems(fx), relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 });
      assert.deepEqual(judge(c.tx, fx.coins), ['']);
      const w = RawTx.decode(c.tx).witnesses![0]!;
      assert.equal(w.length, mode === 'sender-pays' ? 5 : 4);
      assert.equal(c.amount, fx.coins[0]!.amount - c.fee);
    });
  }

  it('sweeps 10 contracts of both modes in one transaction', () => {
    const fx = fund(Array.from({ length: 10 }, (_, i) => (i % 3 ? 'sender-pays' : 'recipient-pays')));
    const c = buildClaimTx({ contracts: claimItems(fx), relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 1.5 });
    assert.deepEqual(judge(c.tx, fx.coins), new Array(10).fill(''));
    const d = RawTx.decode(c.tx);
    assert.equal(d.inputs.length, 10);
    assert.equal(d.outputs.length, 1);
    assert.equal(Number(d.outputs[0]!.amount), 100_000 - c.fee);
  });

  it('the chain rules reject a wrong k, a wrong r, a wrong-length k, a non-minimal selector and another relay\'s signature', () => {
    const fx = fund(['sender-pays']);
    const coin = fx.coins[0]!;
    const good = buildClaimTx({ contracts: claimItems(fx), relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 }).tx;
    const spk = contractScriptPubKey(coin.script);
    const check = (raw: Uint8Array) => h.interpret(raw, 0, spk, coin.amount);
    assert.equal(check(good), '');
    assert.equal(check(h.withWitnessItem(good, 0, 2, h.secret('not k'))), 'SCRIPT_ERR_EQUALVERIFY'); // k
    assert.equal(check(h.withWitnessItem(good, 0, 1, h.secret('not r'))), 'SCRIPT_ERR_EQUALVERIFY'); // r
    assert.equal(check(h.withWitnessItem(good, 0, 2, new Uint8Array([...coin.k, 0]))), 'SCRIPT_ERR_EQUALVERIFY');
    assert.equal(check(h.withWitnessItem(good, 0, 3, Uint8Array.of(2))), 'SCRIPT_ERR_MINIMALIF');
    assert.equal(check(h.withWitnessItem(good, 0, 0, foreignSig(good, 0, coin, h.OTHER))), 'SCRIPT_ERR_SIG_NULLFAIL');
    assert.equal(check(h.withWitnessItem(good, 0, 0, foreignSig(good, 0, coin, h.RELAY))), '', 'the same construction with the right key passes');
  });

  const items = () => claimItems(fund(['sender-pays', 'recipient-pays']));
  const bad: [string, (c: ClaimItem[]) => { relayPrivkey?: Uint8Array; feeRate?: number; destScript?: Uint8Array } | void, string][] = [
    ['a k that does not hash to H(k)', (c) => { c[0]!.k = h.secret('x'); }, 'PREIMAGE_MISMATCH'],
    ['an r that does not hash to H(r)', (c) => { c[0]!.r = h.secret('x'); }, 'PREIMAGE_MISMATCH'],
    ['a sender-pays claim without r', (c) => { delete c[0]!.r; }, 'PREIMAGE_MISMATCH'],
    ['an r for a recipient-pays contract', (c) => { c[1]!.r = h.secret('r0'); }, 'PREIMAGE_MISMATCH'],
    ['a 31-byte k', (c) => { c[1]!.k = c[1]!.k.slice(1); }, 'PREIMAGE_MISMATCH'],
    ['another relay\'s key', () => ({ relayPrivkey: h.OTHER }), 'WRONG_KEY'],
    ['no key at all', () => ({ relayPrivkey: undefined }), 'BAD_PRIVKEY'],
    ['a script that is not a contract', (c) => { c[0]!.script = h.WALLET_SCRIPT; }, 'NOT_A_CONTRACT'],
    ['the same contract twice', (c) => { c.push({ ...c[0]! }); }, 'BAD_TX'],
    ['a sweep that would be dust', (c) => { c.forEach((x) => { x.amount = 400; }); }, 'DUST'],
    ['contracts worth less than the fee', (c) => { c.forEach((x) => { x.amount = 100; }); }, 'INSUFFICIENT_FUNDS'],
    ['a negative fee rate', () => ({ feeRate: -1 }), 'BAD_AMOUNT'],
  ];
  for (const [what, mutate, code] of bad) {
    it(`refuses ${what} with ${code}`, () => {
      const c = items();
      const over = mutate(c) ?? {};
      throwsCode(() => buildClaimTx({ contracts: c, relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2, ...over }), code);
    });
  }
});

describe('refund transaction', () => {
  it('refunds a batch with nLockTime = the largest T and non-final sequences; bitcore accepts it', () => {
    const fx = fund(['sender-pays', 'recipient-pays', 'sender-pays'], 10_000, 900);
    const r = buildRefundTx({ contracts: fx.coins.map(({ outpoint, amount, script }) => ({ outpoint, amount, script })), payerPrivkey: h.PAYER, destScript: h.DEST_SCRIPT, feeRate: 2 });
    assert.equal(r.lockTime, 902);
    const d = RawTx.decode(r.tx);
    assert.equal(d.lockTime, 902);
    assert.ok(d.inputs.every((i) => i.sequence === 0xfffffffe));
    assert.deepEqual(judge(r.tx, fx.coins), ['', '', '']);
    assert.equal(r.amount, 30_000 - r.fee);
  });

  it('the chain rules reject a refund with nLockTime below T, a final sequence, or the claim selector', () => {
    const fx = fund(['recipient-pays'], 10_000, 900);
    const coin = fx.coins[0]!;
    const r = buildRefundTx({ contracts: [coin], payerPrivkey: h.PAYER, destScript: h.DEST_SCRIPT, feeRate: 2 });
    const check = (raw: Uint8Array) => h.interpret(raw, 0, contractScriptPubKey(coin.script), coin.amount);
    assert.equal(check(r.tx), '');
    assert.equal(check(h.withLockTime(r.tx, 899)), 'SCRIPT_ERR_UNSATISFIED_LOCKTIME');
    assert.equal(check(h.withLockTime(r.tx, 900, 0xffffffff)), 'SCRIPT_ERR_UNSATISFIED_LOCKTIME');
    assert.equal(check(h.withLockTime(r.tx, 1_700_000_000)), 'SCRIPT_ERR_UNSATISFIED_LOCKTIME');
    assert.equal(check(h.withWitnessItem(r.tx, 0, 1, Uint8Array.of(1))), 'SCRIPT_ERR_EQUALVERIFY');
    assert.equal(check(h.withWitnessItem(r.tx, 0, 0, foreignSig(r.tx, 0, coin, h.RELAY))), 'SCRIPT_ERR_SIG_NULLFAIL');
  });

  it('refuses the relay\'s key, a non-contract script and an empty batch', () => {
    const coin = fund(['sender-pays']).coins[0]!;
    const req = { contracts: [coin], payerPrivkey: h.PAYER, destScript: h.DEST_SCRIPT, feeRate: 2 };
    throwsCode(() => buildRefundTx({ ...req, payerPrivkey: h.RELAY }), 'WRONG_KEY');
    throwsCode(() => buildRefundTx({ ...req, contracts: [{ ...coin, script: coin.script.slice(1) }] }), 'NOT_A_CONTRACT');
    throwsCode(() => buildRefundTx({ ...req, contracts: [] }), 'BAD_TX');
    throwsCode(() => buildRefundTx({ ...req, contracts: [{ ...coin, amount: 0 }] }), 'BAD_AMOUNT');
  });
});

describe('preimage extraction', () => {
  it('reads k and r from a batched claim and checks them against the hashes', () => {
    const fx = fund(['sender-pays', 'recipient-pays', 'sender-pays']);
    const c = buildClaimTx({ contracts: claimItems(fx), relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 });
    const scripts = fx.coins.map((x) => x.script);
    const got = extractPreimages(c.tx, scripts);
    assert.equal(got.length, 3);
    got.forEach((g, i) => {
      assert.equal(g.inputIndex, i);
      assert.deepEqual(g.outpoint, fx.coins[i]!.outpoint);
      assert.deepEqual(g.k, fx.coins[i]!.k);
      assert.deepEqual(g.r, fx.coins[i]!.r);
      assert.equal(g.terms.mode, fx.coins[i]!.terms.mode);
    });
    assert.deepEqual(extractPreimages(c.tx, [scripts[1]!]).map((g) => g.inputIndex), [1], 'only known scripts count');
    assert.deepEqual(extractPreimages(fx.raw, scripts), [], 'a funding spends no contract');
  });

  it('tells refunds from claims and refuses forged preimages or malformed bytes', () => {
    const fx = fund(['sender-pays']);
    const scripts = [fx.coins[0]!.script];
    const r = buildRefundTx({ contracts: fx.coins, payerPrivkey: h.PAYER, destScript: h.DEST_SCRIPT, feeRate: 2 });
    assert.deepEqual(findContractSpends(r.tx, scripts).map((s) => s.branch), ['refund']);
    assert.deepEqual(extractPreimages(r.tx, scripts), []);
    const c = buildClaimTx({ contracts: claimItems(fx), relayPrivkey: h.RELAY, destScript: h.DEST_SCRIPT, feeRate: 2 });
    throwsCode(() => extractPreimages(h.withWitnessItem(c.tx, 0, 2, h.secret('forged')), scripts), 'PREIMAGE_MISMATCH');
    throwsCode(() => extractPreimages(h.withWitnessItem(c.tx, 0, 3, Uint8Array.of(2)), scripts), 'BAD_TX');
    throwsCode(() => extractPreimages(c.tx.slice(0, 40), scripts), 'BAD_TX');
  });
});
