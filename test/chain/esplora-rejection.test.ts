// How refusals travel over POST /tx: our devnet's tagged form, and bitcoind's reasons
// as public electrs servers pass them through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChainError } from '../../src/chain/backend.ts';
import { formatRejection, parseRejection } from '../../src/chain/esplora/rejection.ts';
import { difficultyFromBits, medianTimePast, scriptPubKeyType } from '../../src/chain/esplora/render.ts';
import { hex } from '@scure/base';

describe('POST /tx rejections', () => {
  it('round-trips every code through the devnet form with a bitcoind RPC number', () => {
    const cases: [ChainError['code'], number][] = [['FEE_TOO_LOW', -26], ['MISSING_INPUT', -25], ['MALFORMED_TX', -22], ['DUPLICATE_TX', -27], ['BAD_SIGNATURE', -26]];
    for (const [code, rpc] of cases) {
      const text = formatRejection(new ChainError(code, 'why: "quoted"\nsecond line'));
      assert.ok(text.startsWith(`sendrawtransaction RPC error: {"code":${rpc},"message":"${code}: `), text);
      const back = parseRejection(400, text);
      assert.equal(back.code, code);
      assert.equal(back.message, 'why: "quoted"\nsecond line');
    }
  });

  it('recognises bitcoind reject reasons from public Esplora servers', () => {
    const rpc = (code: number, message: string) => `sendrawtransaction RPC error: ${JSON.stringify({ code, message })}`;
    const cases: [string, ChainError['code']][] = [
      [rpc(-26, 'min relay fee not met, 100 < 141'), 'FEE_TOO_LOW'],
      [rpc(-25, 'bad-txns-inputs-missingorspent'), 'MISSING_INPUT'],
      [rpc(-26, 'txn-mempool-conflict'), 'INPUT_SPENT'],
      [rpc(-26, 'non-BIP68-final'), 'SEQUENCE_LOCK_NOT_REACHED'],
      [rpc(-26, 'non-final'), 'LOCKTIME_NOT_REACHED'],
      [rpc(-26, 'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)'), 'BAD_SIGNATURE'],
      [rpc(-26, 'mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)'), 'SCRIPT_FAILED'],
      [rpc(-27, 'Transaction already in block chain'), 'DUPLICATE_TX'],
      [rpc(-22, 'TX decode failed'), 'MALFORMED_TX'],
      [rpc(-26, 'dust'), 'NON_STANDARD'],
      ['sendrawtransaction RPC error: not json at all', 'BAD_REQUEST'],
      [rpc(-26, 'SOMETHING_ELSE: unknown tag'), 'BAD_REQUEST'],
    ];
    for (const [text, code] of cases) assert.equal(parseRejection(400, text).code, code, text);
    assert.match(parseRejection(400, 'teapot').message, /HTTP 400.*teapot/);
  });
});

describe('Esplora rendering helpers', () => {
  it('computes difficulty as bitcoind does', () => {
    assert.equal(difficultyFromBits(0x1d00ffff), 1);
    assert.ok(Math.abs(difficultyFromBits(0x207fffff) - 4.656542373906925e-10) < 1e-22);
    // Block 100000's bits and difficulty as block explorers show them.
    assert.ok(Math.abs(difficultyFromBits(0x1b04864c) - 14484.1623612254) < 1e-6);
  });

  it('takes the median of up to eleven times', () => {
    assert.equal(medianTimePast([5]), 5);
    assert.equal(medianTimePast([3, 1, 2]), 2);
    assert.equal(medianTimePast([1, 2, 3, 4]), 3);
    assert.throws(() => medianTimePast([]), RangeError);
  });

  it('names output types as electrs does', () => {
    const h = (s: string) => hex.decode(s);
    assert.equal(scriptPubKeyType(h('0014' + '11'.repeat(20))), 'v0_p2wpkh');
    assert.equal(scriptPubKeyType(h('0020' + '11'.repeat(32))), 'v0_p2wsh');
    assert.equal(scriptPubKeyType(h('5120' + '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798')), 'v1_p2tr');
    assert.equal(scriptPubKeyType(h('76a914' + '11'.repeat(20) + '88ac')), 'p2pkh');
    assert.equal(scriptPubKeyType(h('a914' + '11'.repeat(20) + '87')), 'p2sh');
    assert.equal(scriptPubKeyType(h('6a0401020304')), 'op_return');
    assert.equal(scriptPubKeyType(new Uint8Array()), 'empty');
    assert.equal(scriptPubKeyType(h('51')), 'unknown');
  });
});
