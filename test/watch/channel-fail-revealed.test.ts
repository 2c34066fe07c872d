// A FailHtlc for an output whose k the relay already revealed (issue 13, item 1): the payer sends
// it once T_i − claim_margin is reached, before the relay's watcher has force-closed. The relay
// refuses it (HTLC_REVEALED), force-closes with the latest commitment it holds and claims the
// output with k and r; both watchers follow the chain and every sat ends where that state says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelError, commitmentCoins } from '../../src/channels/index.ts';
import { ClientChannels, memoryChannelRelays } from '../../src/client/channels.ts';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { Env } from './helpers.ts';
import { addBoth, fundedPair, htlc, MARGIN, openChannel, paidTo, settleBoth, txFee, wire } from './channel-helpers.ts';

test('a payer who fails an HTLC whose k was revealed is force-closed and loses nothing', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const capacity = 300_000;
    const { id, relayKeyIndex } = await openChannel(env, alice, bob, capacity, tip + 100);
    const paid = htlc('revealed', 0, 'recipient-pays', tip + 60, 5_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, paid), paid);
    const x = htlc('revealed', 1, 'sender-pays', tip + 15, 5_000);
    const hx = await addBoth(alice, bob, id, x);
    // The relay hands k to the reader; its SettleHtlc never reaches the payer.
    await bob.relay.settle(id, hx, x.k, x.r);
    const latest = bob.book.get(id);
    assert.equal(alice.book.get(id).n, latest.n, 'both sides hold the same latest state');

    // Blocks arrive; the payer fails the output as soon as the rules let it, before the relay's watcher runs.
    const failFrom = x.terms.locktime - MARGIN;
    env.devnet.mine(failFrom - env.devnet.tip().height);
    await alice.watcher.poll();
    const fail = await alice.payer.fail(id, hx);
    await assert.rejects(bob.relay.onFail(wire('fail', fail)), (err: unknown) => ChannelError.is(err, 'HTLC_REVEALED'));

    const closing = bob.book.get(id);
    assert.equal(closing.status, 'force-closing');
    assert.equal(closing.commitmentN, latest.n, 'the relay closed with the latest state both sides signed');
    assert.equal(closing.n, latest.n, 'the refused fail changed no state at the relay');
    assert.ok(closing.claimTxid && env.devnet.mempoolTxids().includes(closing.claimTxid), 'the claim with k and r is in the mempool');
    assert.ok(env.devnet.mempoolTxids().includes(closing.commitmentTxid!));

    env.devnet.mine(1);
    await bob.watcher.poll();
    await alice.watcher.poll();
    env.devnet.mine(1);
    await bob.watcher.poll();
    await alice.watcher.poll();
    assert.equal(bob.book.get(id).status, 'force-closed');
    assert.equal(bob.book.htlc(id, hx)!.status, 'claimed');
    const a = alice.book.get(id);
    assert.equal(a.status, 'force-closed');
    assert.equal(a.commitmentTxid, closing.commitmentTxid);
    assert.equal(a.commitmentN, latest.n, "the payer's book follows the commitment on chain, not its refused fail");
    assert.equal(alice.book.htlc(id, hx)!.status, 'claimed');
    assert.deepEqual(alice.book.htlc(id, hx)!.k, x.k, 'the payer learned k from the claim');

    // What the SDK shows is the state on chain, not the refused fail's.
    const shown = new ClientChannels({ payer: alice.payer, relays: memoryChannelRelays(), tip: async () => env.devnet.tip().height }).get(id);
    assert.deepEqual([shown.relayBalance, shown.inFlight], [latest.state.relayBalance, latest.state.inFlight.length]);

    // To the sat: the commitment pays exactly what the latest state says to each side.
    const s = bob.book.stateAt(id, latest.n)!;
    const outs = commitmentCoins(s).layout.outputs;
    const payerOut = outs.find((o) => o.kind === 'payer')!.amount;
    assert.equal(outs.reduce((t, o) => t + o.amount, 0) + txFee(env, closing.commitmentTxid!), capacity);
    assert.equal(paidTo(env, closing.commitmentTxid!, s.payerPubkey), payerOut, "the payer's output is the latest state's");
    assert.equal(payerOut + txFee(env, closing.commitmentTxid!), capacity - paid.terms.amount - x.terms.amount, 'the payer pays the two messages and the commitment fee, nothing more');
    assert.equal(paidTo(env, closing.commitmentTxid!, bob.base.wallet.contractKey(relayKeyIndex).pubkey33), paid.terms.amount, "the relay's output is its balance of that state");
    const claimOut = parseTx(env.devnet.getTx(closing.claimTxid!)!.raw).outputs.reduce((t, o) => t + o.value, 0);
    assert.equal(claimOut, x.terms.amount - txFee(env, closing.claimTxid!), 'the claim takes exactly the revealed output');
    // The payer's watcher sweeps its output into its wallet.
    await alice.base.wallet.sync();
    const sweep = alice.book.get(id).sweepTxid;
    assert.ok(sweep && env.devnet.getTxStatus(sweep).confirmed, 'the payer swept its output');
    assert.equal(alice.base.wallet.history().find((e) => e.txid === sweep)!.net, payerOut - txFee(env, sweep), 'the sweep reaches the payer wallet');
  } finally {
    await env.done();
  }
});
