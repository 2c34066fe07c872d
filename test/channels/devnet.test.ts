// Channels on the embedded chain: the devnet (bitcore-lib script checks, regtest policy)
// accepts or refuses every transaction a channel can produce, amounts checked to the sat.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { p2wpkh } from '@scure/btc-signer';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { ChainError } from '../../src/chain/backend.ts';
import { ChannelError } from '../../src/channels/errors.ts';
import { fundingScriptOf } from '../../src/channels/commitment.ts';
import type { ChannelParams } from '../../src/channels/commitment.ts';
import { fundingScriptPubKey } from '../../src/channels/script.ts';
import { checkFundingTx, completeClose, confirmFunding, openChannel, requestClose, signClose } from '../../src/channels/state.ts';
import type { ChannelState } from '../../src/channels/state.ts';
import { commitmentCoins, payerExit, refundHtlcs, unilateralClose } from '../../src/channels/close.ts';
import * as c from './helpers.ts';

const { h } = c;
const rejects = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => ChainError.is(e) && e.code === code, `expected ChainError ${code}`);
const RELAY_SCRIPT = p2wpkh(h.pub(h.RELAY)).script;
const PAYER_SCRIPT = p2wpkh(h.pub(h.PAYER)).script;

describe('channels on the devnet', () => {
  let dn: Devnet;
  before(() => {
    dn = Devnet.open({ path: ':memory:' });
  });
  after(() => dn?.close());

  /** Funds a channel through the faucet, checks the funding, confirms it. */
  function fund(over: Partial<ChannelParams>, capacity: number): ChannelState {
    const probe = c.params({ ...over, capacity });
    const spk = fundingScriptPubKey(fundingScriptOf(probe));
    const txid = dn.faucet(spk, capacity);
    const utxo = dn.getScriptUtxos(spk).find((u) => u.txid === txid)!;
    const s = openChannel({ ...probe, fundingOutpoint: { txid, vout: utxo.vout } });
    const raw = dn.getTx(txid)!.raw;
    checkFundingTx(s, raw);
    assert.throws(() => checkFundingTx({ ...s, capacity: capacity + 1 }, raw), (e: unknown) => ChannelError.is(e, 'FUNDING_MISMATCH'));
    assert.throws(() => checkFundingTx({ ...s, fundingOutpoint: { txid, vout: utxo.vout + 1 } }, raw), (e: unknown) => ChannelError.is(e, 'FUNDING_MISMATCH'));
    assert.throws(() => checkFundingTx(s, raw.slice(0, 20)), (e: unknown) => ChannelError.is(e, 'BAD_TX'));
    dn.mine(1);
    assert.equal(dn.getTxStatus(txid).confirmed, true);
    return confirmFunding(s);
  }

  it('open, 1,000 sender-pays add + settle cycles, cooperative close: balances exact to the sat', (t) => {
    const T_ch = dn.tip().height + 500;
    const s = fund({ channelLocktime: T_ch, claimMargin: 6 }, 5_000_000);
    const T = T_ch - 100;
    let p: c.Pair = { payer: s, relay: s };
    let paid = 0;
    const start = performance.now();
    for (let i = 0; i < 1_000; i++) {
      const x = c.htlcFor(i, 'sender-pays', T, 1_000 + (i % 13));
      const a = c.add(p, x.terms, dn.tip().height);
      p = c.settle(a, a.id, x.k, x.r);
      paid += x.terms.amount;
    }
    const ms = performance.now() - start;
    t.diagnostic(`1,000 add+settle cycles = 2,000 states, each signed by the payer and verified by the relay: ${ms.toFixed(0)} ms (${(2_000_000 / ms).toFixed(0)} states/s)`);
    assert.deepEqual(p.relay, p.payer);
    assert.equal(p.relay.n, 2_000);
    assert.equal(p.relay.relayBalance, paid);

    const req = requestClose(p.relay, h.RELAY);
    const { message } = signClose(p.payer, req, h.PAYER);
    const close = completeClose(p.relay, message, h.RELAY);
    assert.equal(dn.submitTx(close.tx), close.txid);
    dn.mine(1);
    assert.equal(dn.getTxStatus(close.txid).confirmed, true);
    const relayGot = dn.getScriptUtxos(RELAY_SCRIPT).filter((u) => u.txid === close.txid).reduce((a, u) => a + u.value, 0);
    const payerGot = dn.getScriptUtxos(PAYER_SCRIPT).filter((u) => u.txid === close.txid).reduce((a, u) => a + u.value, 0);
    assert.equal(relayGot, paid);
    assert.equal(payerGot, s.capacity - paid - close.fee);
    assert.equal(dn.getTx(close.txid)!.fee, close.fee);
    assert.ok(close.fee >= close.vsize * s.feeRate && close.fee <= (close.vsize + 1) * s.feeRate, `fee ${close.fee} at ${s.feeRate} sat/vB for ${close.vsize} vB`);
  });

  it('unilateral close with 10 outputs in flight: commitment accepted, relay claims what it can, payer refunds the rest after T_i', () => {
    const tip = dn.tip().height;
    const T_ch = tip + 200;
    const s = fund({ channelLocktime: T_ch, claimMargin: 6 }, 1_000_000);
    let p: c.Pair = { payer: s, relay: s };
    // one settled message first, so the relay's balance output exists
    const first = c.htlcFor(100, 'recipient-pays', tip + 30, 7_000);
    const a0 = c.add(p, first.terms, tip);
    p = c.settle(a0, a0.id, first.k);
    const xs = Array.from({ length: 10 }, (_, i) => c.htlcFor(200 + i, i % 3 === 0 ? 'recipient-pays' : 'sender-pays', tip + 20 + (i % 4), 3_000 + i));
    const ids: number[] = [];
    for (const x of xs) {
      const a = c.add(p, x.terms, tip);
      ids.push(a.id);
      p = { payer: a.payer, relay: a.relay };
    }
    assert.equal(p.relay.inFlight.length, 10);
    // the relay knows k for all, r only for those Carol acknowledged: claims 6, leaves 4
    const known = [0, 1, 2, 3, 4, 5].map((i) => ({ htlcId: ids[i]!, k: xs[i]!.k, ...(xs[i]!.r ? { r: xs[i]!.r } : {}) }));
    const u = unilateralClose(p.relay, { relayPrivkey: h.RELAY, preimages: known, destScript: h.DEST_SCRIPT, feeRate: 2 });
    assert.equal(u.claimed.length, 6);
    assert.equal(u.unclaimed.length, 4);
    const spk = fundingScriptPubKey(fundingScriptOf(s));
    assert.equal(h.interpret(u.commitment.tx, 0, spk, s.capacity), '');
    assert.equal(dn.submitTx(u.commitment.tx), u.commitment.txid);
    dn.mine(1);
    const outs = u.commitment.layout.outputs;
    assert.equal(outs.length, 12);
    assert.equal(outs[0]!.kind, 'relay');
    assert.equal(outs[0]!.amount, 7_000);
    assert.equal(outs.reduce((a, o) => a + o.amount, 0) + u.commitment.fee, s.capacity);
    assert.equal(dn.getTx(u.commitment.txid)!.fee, u.commitment.fee);

    const claim = u.claim!;
    const coins = commitmentCoins(p.relay).htlcs;
    const claimedCoins = coins.filter((x) => u.claimed.includes(x.htlcId));
    claimedCoins.forEach((coin, i) => {
      const o = outs[coin.outpoint.vout]!;
      assert.equal(h.interpret(claim.tx, i, o.scriptPubKey, coin.amount), '');
    });
    assert.equal(dn.submitTx(claim.tx), claim.txid);
    dn.mine(1);
    assert.equal(claim.amount, claimedCoins.reduce((a, x) => a + x.amount, 0) - claim.fee);
    assert.equal(dn.getScriptUtxos(h.DEST_SCRIPT).find((x) => x.txid === claim.txid)!.value, claim.amount);

    const refund = refundHtlcs(p.payer, u.unclaimed.map((x) => x.htlcId), { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 });
    const maxT = Math.max(...u.unclaimed.map((x) => p.payer.inFlight.find((y) => y.id === x.htlcId)!.locktime));
    assert.equal(refund.lockTime, maxT);
    rejects(() => dn.submitTx(refund.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(maxT - 1 - dn.tip().height);
    rejects(() => dn.submitTx(refund.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(1);
    assert.equal(dn.submitTx(refund.tx), refund.txid);
    dn.mine(1);
    assert.equal(refund.amount, u.unclaimed.reduce((a, x) => a + x.amount, 0) - refund.fee);
    // every in-flight output is spent now: 6 by the claim, 4 by the refund
    for (const coin of coins) assert.equal(dn.getOutspend(coin.outpoint.txid, coin.outpoint.vout).spent, true);
    // and the payer's exit can no longer spend the funding
    const exit = payerExit(s, { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 });
    dn.mine(Math.max(0, T_ch - dn.tip().height));
    rejects(() => dn.submitTx(exit.tx), 'INPUT_SPENT');
  });

  it('payer exit: refused before T_ch, accepted from it; then no commitment can spend the funding', () => {
    const tip = dn.tip().height;
    const T_ch = tip + 15;
    const s = fund({ channelLocktime: T_ch, claimMargin: 2 }, 200_000);
    const x = c.htlcFor(300, 'sender-pays', tip + 10, 5_000);
    const p = c.add({ payer: s, relay: s }, x.terms, dn.tip().height);
    const exit = payerExit(s, { payerPrivkey: h.PAYER, destScript: h.WALLET_SCRIPT, feeRate: 2 });
    rejects(() => dn.submitTx(exit.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(T_ch - 1 - dn.tip().height);
    rejects(() => dn.submitTx(exit.tx), 'LOCKTIME_NOT_REACHED');
    dn.mine(1);
    assert.equal(dn.submitTx(exit.tx), exit.txid);
    dn.mine(1);
    assert.equal(dn.getScriptUtxos(h.WALLET_SCRIPT).find((u) => u.txid === exit.txid)!.value, s.capacity - exit.fee);
    const u = unilateralClose(p.relay, { relayPrivkey: h.RELAY, preimages: [], destScript: h.DEST_SCRIPT, feeRate: 2 });
    rejects(() => dn.submitTx(u.commitment.tx), 'INPUT_SPENT');
  });
});
