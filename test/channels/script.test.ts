// The funding script, the commitment, close and exit transactions, judged by bitcore-lib's
// interpreter (independent of @scure/btc-signer, which built them), and the vectors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hex } from '@scure/base';
import { RawTx } from '@scure/btc-signer';
import { ChannelError } from '../../src/channels/errors.ts';
import { buildFundingScript, fundingAddress, fundingScriptPubKey, parseFundingScript } from '../../src/channels/script.ts';
import {
  buildExitTx, commitment, cooperativeCloseTx, fundingScriptOf, SEQUENCE_COMMITMENT, SEQUENCE_CLOSE, SEQUENCE_EXIT, signDigest,
} from '../../src/channels/commitment.ts';
import { NETWORKS } from '../../src/core/network.ts';
import { buildChannelVectors, VECTOR_HTLCS, VECTOR_PARAMS, VECTOR_RELAY_BALANCE } from './vectors.ts';
import * as c from './helpers.ts';

const { h } = c;
const V = JSON.parse(readFileSync(new URL('../vectors/channels.json', import.meta.url), 'utf8')) as ReturnType<typeof buildChannelVectors>;
const notAChannel = (fn: () => unknown) => assert.throws(fn, (e: unknown) => ChannelError.is(e, 'NOT_A_CHANNEL'));

describe('channel funding script', () => {
  const terms = { payerPubkey: h.pub(h.PAYER), relayPubkey: h.pub(h.RELAY), channelLocktime: 850_144 };

  it('builds the template byte for byte and parses it back', () => {
    const s = buildFundingScript(terms);
    assert.equal(hex.encode(s), V.funding.script);
    assert.equal(hex.encode(fundingScriptPubKey(s)), V.funding.scriptPubKey);
    assert.equal(fundingAddress(s, NETWORKS.regtest), V.funding.addressRegtest);
    assert.deepEqual(parseFundingScript(s), terms);
    // small locktimes are OP_n
    const small = buildFundingScript({ ...terms, channelLocktime: 16 });
    assert.equal(small[small.length - 39], 0x60);
    assert.deepEqual(parseFundingScript(small).channelLocktime, 16);
  });

  it('refuses every vector that is not exactly the template (NOT_A_CHANNEL)', () => {
    assert.ok(V.invalidScripts.length >= 6);
    for (const v of V.invalidScripts) {
      assert.notEqual(v.script, V.funding.script, v.description);
      notAChannel(() => parseFundingScript(hex.decode(v.script)));
    }
    notAChannel(() => parseFundingScript(new Uint8Array(0)));
    notAChannel(() => parseFundingScript('63' as unknown as Uint8Array));
  });

  it('refuses bad terms: same key twice, a key off the curve, a time locktime', () => {
    notAChannel(() => buildFundingScript({ ...terms, relayPubkey: terms.payerPubkey }));
    notAChannel(() => buildFundingScript({ ...terms, relayPubkey: Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)) }));
    notAChannel(() => buildFundingScript({ ...terms, channelLocktime: 500_000_000 }));
    notAChannel(() => buildFundingScript({ ...terms, channelLocktime: -1 }));
  });

  it('recomputes the commitment vector exactly (outputs, order, fee, signatures, tx)', () => {
    assert.deepEqual(buildChannelVectors(), V);
    const cm = V.commitment;
    assert.deepEqual(cm.outputs.map((o) => o.kind), ['relay', 'payer', 'htlc', 'htlc']);
    assert.deepEqual(cm.outputs.filter((o) => o.kind === 'htlc').map((o) => o.htlcId), [1, 0], 'HTLCs by T_i');
    assert.equal(cm.outputs.reduce((a, o) => a + o.amount, 0) + cm.fee, cm.capacity);
    const d = RawTx.decode(hex.decode(cm.tx));
    assert.equal(d.version, 2);
    assert.equal(d.lockTime, 0);
    assert.equal(d.inputs[0]!.sequence, SEQUENCE_COMMITMENT);
    assert.equal(hex.encode(d.inputs[0]!.txid), cm.fundingTxid);
    assert.equal(d.witnesses![0]!.length, 5);
    assert.equal(d.witnesses![0]![0]!.length, 0, 'CHECKMULTISIG dummy is empty');
  });
});

describe('channel spends under an independent interpreter', () => {
  const p = VECTOR_PARAMS;
  const spk = fundingScriptPubKey(fundingScriptOf(p));
  const signedCommitment = () => {
    const cm = commitment(p, VECTOR_RELAY_BALANCE, VECTOR_HTLCS);
    return cm.complete(signDigest(h.PAYER, cm.digest), signDigest(h.RELAY, cm.digest)).tx;
  };

  it('accepts the commitment and the cooperative close', () => {
    assert.equal(h.interpret(signedCommitment(), 0, spk, p.capacity), '');
    const close = cooperativeCloseTx(p, 40_000);
    const raw = close.complete(signDigest(h.PAYER, close.digest), signDigest(h.RELAY, close.digest)).tx;
    assert.equal(RawTx.decode(raw).inputs[0]!.sequence, SEQUENCE_CLOSE);
    assert.equal(h.interpret(raw, 0, spk, p.capacity), '');
    assert.notEqual(close.txid, commitment(p, 40_000, []).txid, 'a close is never a commitment');
  });

  it('refuses the 2-of-2 with signatures in the wrong order, a missing signature, a foreign one, a wrong amount', () => {
    const raw = signedCommitment();
    const w = RawTx.decode(raw).witnesses![0]!;
    const swapped = h.withWitnessItem(h.withWitnessItem(raw, 0, 1, w[2]!), 0, 2, w[1]!);
    assert.notEqual(h.interpret(swapped, 0, spk, p.capacity), '');
    assert.notEqual(h.interpret(h.withWitnessItem(raw, 0, 2, new Uint8Array(0)), 0, spk, p.capacity), '');
    const cm = commitment(p, VECTOR_RELAY_BALANCE, VECTOR_HTLCS);
    const foreign = cm.complete(signDigest(h.PAYER, cm.digest), signDigest(h.OTHER, cm.digest)).tx;
    assert.notEqual(h.interpret(foreign, 0, spk, p.capacity), '');
    assert.notEqual(h.interpret(raw, 0, spk, p.capacity + 1), '', 'BIP143 commits to the amount');
  });

  it('accepts the payer exit at nLockTime T_ch and refuses it below', () => {
    const exit = buildExitTx(p, { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 });
    const d = RawTx.decode(exit.tx);
    assert.equal(d.lockTime, p.channelLocktime);
    assert.equal(d.inputs[0]!.sequence, SEQUENCE_EXIT);
    assert.equal(exit.amount + exit.fee, p.capacity);
    assert.equal(h.interpret(exit.tx, 0, spk, p.capacity), '');
    assert.notEqual(h.interpret(h.withLockTime(exit.tx, p.channelLocktime - 1), 0, spk, p.capacity), '');
    assert.notEqual(h.interpret(h.withLockTime(exit.tx, p.channelLocktime, 0xffffffff), 0, spk, p.capacity), '', 'final sequence disables CLTV');
    assert.throws(() => buildExitTx(p, { payerPrivkey: h.RELAY, destScript: h.WALLET_SCRIPT, feeRate: 2 }), (e: unknown) => ChannelError.is(e, 'WRONG_KEY'));
    assert.throws(() => buildExitTx(p, { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 0 }), (e: unknown) => ChannelError.is(e, 'BAD_PARAMS'));
  });

  it('leaves dust balances out of the commitment and gives them to the fee', () => {
    const cm = commitment(p, 293, []);
    assert.deepEqual(cm.layout.outputs.map((o) => o.kind), ['payer']);
    const cm2 = commitment(p, 294, []);
    assert.deepEqual(cm2.layout.outputs.map((o) => o.kind), ['relay', 'payer']);
    assert.equal(cm.layout.fee, p.capacity - cm.layout.outputs[0]!.amount);
    const allRelay = commitment({ ...p, capacity: 10_000 }, 10_000 - 350, []);
    assert.deepEqual(allRelay.layout.outputs.map((o) => o.kind), ['relay'], 'payer change below dust goes to the fee');
    assert.throws(() => commitment({ ...p, capacity: 10_000 }, 10_000 - 100, []), (e: unknown) => ChannelError.is(e, 'INSUFFICIENT_CAPACITY'));
    assert.equal(c.h.interpret(allRelay.complete(signDigest(h.PAYER, allRelay.digest), signDigest(h.RELAY, allRelay.digest)).tx, 0, spk, 10_000), '');
  });
});
