// Channels through the persisted parties on the devnet: open, many sender-pays add + settle
// cycles (every state committed per message), cooperative close with balances exact to the sat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { Env } from './helpers.ts';
import { addBoth, chParty, closeBoth, htlc, openChannel, settleBoth, txFee, paidTo } from './channel-helpers.ts';

const CYCLES = Number(process.env.SATPOST_CHANNEL_CYCLES ?? 1_000);

test(`open, ${CYCLES} sender-pays add + settle cycles through both persisted parties, cooperative close: exact to the sat`, async (t) => {
  const env = new Env(true);
  try {
    const alice = chParty(env, 'alice');
    const bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 3_000_000);
    const before = alice.base.wallet.balance();
    const capacity = 2_000_000;
    const tCh = env.devnet.tip().height + 500;
    const { id, relayKeyIndex } = await openChannel(env, alice, bob, capacity, tCh);
    const fundingFee = txFee(env, alice.book.get(id).fundingTxid);

    const T = tCh - 100;
    let paid = 0;
    const start = performance.now();
    for (let i = 0; i < CYCLES; i++) {
      const x = htlc('cycle', i, 'sender-pays', T, 1_000 + (i % 13));
      const hid = await addBoth(alice, bob, id, x);
      await settleBoth(alice, bob, id, hid, x);
      paid += x.terms.amount;
    }
    const ms = performance.now() - start;
    t.diagnostic(`${CYCLES} add+settle cycles through both books: ${ms.toFixed(0)} ms, ${((2 * CYCLES) / (ms / 1000)).toFixed(0)} states/s, 5 commits per cycle`);

    const a = alice.book.get(id);
    const b = bob.book.get(id);
    assert.equal(a.n, 2 * CYCLES);
    assert.equal(b.n, 2 * CYCLES);
    assert.equal(a.state.relayBalance, paid);
    assert.deepEqual(b.state, a.state, 'both books hold the same state');
    assert.equal(bob.book.htlcs(id).filter((x) => x.status === 'settled').length, CYCLES);
    assert.equal(alice.book.htlcs(id).filter((x) => x.status === 'settled' && x.k && x.r).length, CYCLES, 'the payer kept every k and r');
    assert.equal(alice.book.messages(id, { direction: 'out' }).length, 1 + 2 * CYCLES, 'open + add + settle-ack per cycle');
    assert.equal(bob.book.messages(id, { direction: 'in' }).length, 1 + 2 * CYCLES);

    assert.equal(alice.base.wallet.balance().lockedInContracts, capacity, 'the open channel is counted as locked in contracts');
    const closed = await closeBoth(alice, bob, id);
    assert.equal(closed.status, 'closing-cooperative');
    assert.equal(alice.book.get(id).status, 'closing-cooperative');
    await alice.watcher.poll();
    assert.equal(alice.base.wallet.balance().lockedInContracts, capacity, 'an unconfirmed close keeps the funding locked');
    env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();
    assert.equal(alice.book.get(id).status, 'closed-cooperative');
    assert.equal(bob.book.get(id).status, 'closed-cooperative');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 0, 'the confirmed close releases the funding lock');

    const relayPub = bob.base.wallet.contractKey(relayKeyIndex).pubkey33;
    const payerPub = a.state.payerPubkey;
    const closeFee = txFee(env, closed.closeTxid!);
    assert.equal(paidTo(env, closed.closeTxid!, relayPub), paid, 'the relay gets exactly what was settled');
    assert.equal(paidTo(env, closed.closeTxid!, payerPub), capacity - paid - closeFee, 'the payer gets the rest less the close fee');
    const outs = parseTx(closed.closeRaw!).outputs.reduce((s, o) => s + o.value, 0);
    assert.equal(outs + closeFee, capacity, 'nothing created or lost');

    // Each side sweeps its close output (paid to its channel key) into its wallet.
    const aSweep = alice.book.get(id).sweepTxid!;
    const bSweep = bob.book.get(id).sweepTxid!;
    assert.ok(aSweep && bSweep, 'both sides swept their close output');
    env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();
    await alice.base.wallet.sync();
    await bob.base.wallet.sync();
    const after = alice.base.wallet.balance();
    assert.equal(before.confirmed - after.confirmed, capacity + fundingFee - (capacity - paid - closeFee - txFee(env, aSweep)),
      'the payer paid exactly what was settled, the funding, close and sweep fees');
    assert.equal(bob.base.wallet.balance().confirmed, paid - txFee(env, bSweep), 'the relay wallet holds what was settled less its sweep fee');
    assert.deepEqual([after.lockedInContracts, after.reserved, after.unconfirmed], [0, 0, 0], 'nothing of the channel is left counted anywhere but confirmed');
  } finally {
    await env.done();
  }
});
