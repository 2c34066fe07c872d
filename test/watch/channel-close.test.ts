// Closing without the other side: the relay's commitment with 10 outputs in flight (claims what
// it can, the payer refunds the rest after T_i); a payer who vanishes (the relay's watcher
// closes in time and claims); a relay who vanishes (the payer exits after T_ch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitmentCoins } from '../../src/channels/index.ts';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { Env } from './helpers.ts';
import { addBoth, fundedPair, htlc, MARGIN, mineTo, openChannel, settleBoth, txFee, paidTo } from './channel-helpers.ts';

test('unilateral close with 10 in flight: the relay claims the 6 it holds preimages for, the payer refunds the other 4 after T_i', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const { id, relayKeyIndex } = await openChannel(env, alice, bob, 500_000, tip + 200);
    // One settled payment first, so the relay has a balance output too.
    const first = htlc('uni', 100, 'recipient-pays', tip + 60, 5_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, first), first);
    const xs = Array.from({ length: 10 }, (_, i) => htlc('uni', i, i % 2 ? 'sender-pays' : 'recipient-pays', tip + 20 + (i % 3), 2_000 + i));
    const ids: number[] = [];
    for (const x of xs) ids.push(await addBoth(alice, bob, id, x));
    // The relay reveals 6; the payer never answers.
    for (let i = 0; i < 6; i++) await bob.relay.settle(id, ids[i]!, xs[i]!.k, xs[i]!.r);
    assert.equal(bob.relay.unacknowledged(id).length, 6);

    const closing = await bob.relay.forceClose(id);
    assert.equal(closing.status, 'force-closing');
    assert.ok(closing.claimTxid && closing.commitmentTxid);
    assert.ok(env.devnet.mempoolTxids().includes(closing.commitmentTxid!));
    assert.ok(env.devnet.mempoolTxids().includes(closing.claimTxid!));
    env.devnet.mine(1);
    await bob.watcher.poll();
    await alice.watcher.poll();
    assert.equal(bob.book.get(id).status, 'force-closed');
    assert.equal(alice.book.get(id).status, 'force-closed');
    assert.equal(alice.book.get(id).commitmentTxid, closing.commitmentTxid);
    assert.deepEqual(bob.book.htlcs(id).filter((x) => x.status === 'claimed').map((x) => x.id).sort(), ids.slice(0, 6).sort());
    assert.deepEqual(alice.learned.sort(), ids.slice(0, 6).sort(), 'the payer learned k (and r) of every claimed output');
    for (let i = 0; i < 6; i++) assert.deepEqual(alice.book.htlc(id, ids[i]!)!.k, xs[i]!.k);

    // The rest: refundable from tip >= T_i, not before.
    const maxT = Math.max(...xs.slice(6).map((x) => x.terms.locktime));
    const minT = Math.min(...xs.slice(6).map((x) => x.terms.locktime));
    await mineTo(env, minT - 1, alice, bob);
    assert.equal(alice.book.htlcs(id).filter((x) => x.refundTxid).length, 0, 'no refund before T_i');
    await mineTo(env, maxT + 1, alice, bob);
    await alice.watcher.poll();
    await bob.watcher.poll();
    const a = alice.book.htlcs(id);
    assert.deepEqual(a.filter((x) => x.status === 'refunded').map((x) => x.id).sort(), ids.slice(6).sort());
    assert.deepEqual(bob.book.htlcs(id).filter((x) => x.status === 'refunded').map((x) => x.id).sort(), ids.slice(6).sort());

    // To the sat: the commitment pays relay balance + payer change + outputs; claim and refunds take fees only.
    const s = bob.book.stateAt(id, closing.commitmentN!)!;
    const { layout } = commitmentCoins(s);
    assert.equal(layout.outputs.reduce((t, o) => t + o.amount, 0) + txFee(env, closing.commitmentTxid!), 500_000);
    assert.equal(paidTo(env, closing.commitmentTxid!, bob.base.wallet.contractKey(relayKeyIndex).pubkey33), 5_000, 'relay balance output');
    const claimed = xs.slice(0, 6).reduce((t, x) => t + x.terms.amount, 0);
    const claimFee = txFee(env, closing.claimTxid!);
    assert.equal(parseTx(env.devnet.getTx(closing.claimTxid!)!.raw).outputs.reduce((t, o) => t + o.value, 0), claimed - claimFee);
    await bob.base.wallet.sync();
    const sweep = bob.book.get(id).sweepTxid!;
    assert.ok(env.devnet.getTxStatus(sweep).confirmed, 'the relay swept its balance output');
    assert.equal(bob.base.wallet.balance().confirmed, claimed - claimFee + 5_000 - txFee(env, sweep), 'claim and sweep pay the relay wallet');
    await alice.base.wallet.sync();
    const history = alice.base.wallet.history();
    const refunded = a.filter((x) => x.status === 'refunded');
    for (const x of refunded) {
      assert.equal(history.find((e) => e.txid === x.refundTxid)!.net, x.amount - txFee(env, x.refundTxid!), `refund of htlc ${x.id} reaches the wallet`);
    }
  } finally {
    await env.done();
  }
});

test('payer vanishes: the relay watcher closes before T_i − claim_margin for a revealed output, and claims it', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const { id } = await openChannel(env, alice, bob, 300_000, tip + 100);
    const x = htlc('vanish', 0, 'sender-pays', tip + 15, 4_000);
    const y = htlc('vanish', 1, 'recipient-pays', tip + 15, 3_000);
    const hx = await addBoth(alice, bob, id, x);
    await addBoth(alice, bob, id, y);
    await bob.relay.settle(id, hx, x.k, x.r);
    alice.base.crash(); // the payer is gone, files closed

    const deadline = x.terms.locktime - MARGIN;
    await mineTo(env, deadline - 3, bob);
    assert.equal(bob.book.get(id).status, 'open', 'nothing before the lead');
    await mineTo(env, deadline - 1, bob);
    const c = bob.book.get(id);
    assert.equal(c.status, 'force-closing');
    assert.equal(bob.book.history(id).at(-1)!.event, `htlc-deadline ${hx}`);
    env.devnet.mine(1);
    await bob.watcher.poll();
    const claimed = env.devnet.getTxStatus(c.claimTxid!);
    assert.ok(claimed.confirmed && claimed.blockHeight! <= deadline, `claim confirmed at ${claimed.blockHeight}, deadline ${deadline}`);
    assert.equal(bob.book.htlc(id, hx)!.status, 'claimed');
    assert.equal(bob.book.get(id).status, 'force-closed');
  } finally {
    await env.done();
  }
});

test('payer vanishes with nothing in flight: the relay closes before T_ch − claim_margin', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const tCh = tip + 20;
    const { id, relayKeyIndex } = await openChannel(env, alice, bob, 300_000, tCh);
    const x = htlc('deadline', 0, 'recipient-pays', tip + 10, 7_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, x), x);
    alice.base.crash();
    await mineTo(env, tCh - MARGIN - 2, bob);
    assert.equal(bob.book.get(id).status, 'open');
    await mineTo(env, tCh - MARGIN - 1, bob);
    const c = bob.book.get(id);
    assert.equal(c.status, 'force-closing');
    env.devnet.mine(1);
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).status, 'force-closed');
    assert.ok(env.devnet.getTxStatus(c.commitmentTxid!).blockHeight! < tCh - MARGIN + 1);
    assert.equal(paidTo(env, c.commitmentTxid!, bob.base.wallet.contractKey(relayKeyIndex).pubkey33), 7_000);
    assert.ok(bob.book.get(id).sweepTxid, 'the relay sweeps its balance output');
  } finally {
    await env.done();
  }
});

test('relay vanishes: the payer exits with its pre-signed exit from tip T_ch, not before', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const tCh = tip + 15;
    const { id } = await openChannel(env, alice, bob, 300_000, tCh);
    const x = htlc('exit', 0, 'recipient-pays', tip + 8, 7_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, x), x);
    bob.base.crash();
    const exit = alice.book.get(id);
    assert.ok(exit.exitRaw && exit.exitTxid, 'exit signed and stored at open');
    await mineTo(env, tCh - 1, alice);
    assert.equal(alice.book.get(id).status, 'open');
    await mineTo(env, tCh, alice);
    assert.equal(alice.book.get(id).status, 'exiting');
    assert.ok(env.devnet.mempoolTxids().includes(exit.exitTxid!));
    env.devnet.mine(1);
    assert.equal(alice.base.wallet.balance().lockedInContracts, 300_000, 'the exit in the mempool keeps the funding locked');
    await alice.watcher.poll();
    assert.equal(alice.book.get(id).status, 'exited');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 0, 'the confirmed exit releases the funding lock');
    await alice.base.wallet.sync();
    const fee = txFee(env, exit.exitTxid!);
    const got = env.devnet.getTx(exit.exitTxid!)!;
    assert.ok(got.status.confirmed);
    assert.equal(300_000 - fee, alice.base.wallet.history().find((h) => h.txid === exit.exitTxid)!.net, 'the whole capacity less the exit fee, back in the wallet');
  } finally {
    await env.done();
  }
});

test('the relay force-closes an older state than the payer holds (an add it never received): the payer matches it and drops the add', async () => {
  const env = new Env(true);
  try {
    const { alice, bob, tip } = await fundedPair(env, 1_000_000);
    const { id } = await openChannel(env, alice, bob, 300_000, tip + 100);
    const x = htlc('older', 0, 'recipient-pays', tip + 30, 4_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, x), x);
    const lost = await alice.payer.add(id, htlc('older', 1, 'recipient-pays', tip + 30, 3_000).terms);
    assert.equal(alice.book.get(id).n, 3);
    const closing = await bob.relay.forceClose(id);
    assert.equal(closing.commitmentN, 2);
    await alice.watcher.poll();
    assert.equal(alice.book.get(id).status, 'force-closing');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 300_000, 'an unconfirmed commitment keeps the funding locked');
    env.devnet.mine(1);
    await alice.watcher.poll();
    const a = alice.book.get(id);
    assert.equal(a.status, 'force-closed');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 0, "the relay's confirmed commitment releases the funding lock");
    assert.equal(a.commitmentN, 2, 'matched to the state the relay held');
    assert.equal(alice.book.htlc(id, lost.htlc.id)!.status, 'failed');
    await mineTo(env, env.devnet.tip().height + 6, alice, bob);
    assert.deepEqual(alice.book.active('payer', env.devnet.tip().height, 6), [], 'nothing left to watch');
  } finally {
    await env.done();
  }
});
