// Chain reorganisations under the watchers: a competing branch mined from the parent of the
// block that held the claim (or the funding), then the stale block invalidated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContractScript } from '../../src/contracts/index.ts';
import { contractId } from '../../src/watch/book.ts';
import { Env, deal, events } from './helpers.ts';

test('a reorg removes the confirmed claim (and the node drops its mempool): detected, rebroadcast, confirmed again', async () => {
  const env = new Env(true);
  try {
    let alice = env.party('alice');
    let bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 9_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await env.pollAll(bob);
    bob.relay.provideReceipt(id, d.r!);
    await env.pollAll(bob);
    const claimTxid = bob.book.get(id).claimTxid!;
    const [claimBlock] = env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(id).state, 'claimed');
    assert.equal(alice.book.get(id).state, 'claimed');
    assert.equal(env.devnet.getTxStatus(claimTxid).blockHash, claimBlock);

    // A competing branch without the claim, then the claim's block invalidated.
    const parent = env.devnet.getBlock(claimBlock!)!.prev;
    env.devnet.mineOn(parent, 1);
    env.devnet.invalidateBlock(claimBlock!);
    assert.equal(env.devnet.getTxStatus(claimTxid).confirmed, false);
    env.crashAll({ dropMempool: true });
    assert.equal(env.devnet.getTx(claimTxid), undefined, 'the claim is gone from chain and mempool');

    bob = env.party('bob');
    alice = env.party('alice');
    await alice.watcher.start();
    assert.equal(alice.book.get(id).state, 'funded', 'the payer saw its claim-learned contract reopen');
    assert.deepEqual(alice.book.get(id).k, d.k, 'k stays learned');
    await bob.watcher.start();
    assert.equal(bob.book.get(id).state, 'claim-broadcast');
    assert.ok(env.devnet.mempoolTxids().includes(claimTxid), 'the stored claim was rebroadcast');
    const [again] = env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(id).state, 'claimed');
    assert.equal(alice.book.get(id).state, 'claimed');
    assert.equal(env.devnet.getTxStatus(claimTxid).blockHash, again);
    assert.deepEqual(events(bob, id).slice(-4), ['claim-confirmed', 'claim-lost', 'claim-broadcast', 'claim-confirmed']);
    assert.deepEqual(events(alice, id).slice(-3), ['claim-confirmed', 'claim-lost', 'claim-confirmed']);
  } finally {
    await env.done();
  }
});

test('a reorg removes the confirmed funding: both sides step back, the relay does not claim until it confirms again', async () => {
  const env = new Env(true);
  try {
    let alice = env.party('alice');
    let bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 9_000, k: d.k, keyIndex: d.relayKeyIndex });
    const [c] = await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    const [fundBlock] = env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(alice.book.get(id).state, 'funded');
    assert.equal(bob.book.get(id).state, 'funding-confirmed');

    const parent = env.devnet.getBlock(fundBlock!)!.prev;
    env.devnet.mineOn(parent, 1);
    env.devnet.invalidateBlock(fundBlock!);
    env.crashAll({ dropMempool: true });
    assert.equal(env.devnet.getTx(c!.fundingTxid!), undefined, 'the funding is gone from chain and mempool');

    alice = env.party('alice');
    bob = env.party('bob');
    await bob.watcher.start();
    assert.equal(bob.book.get(id).state, 'quoted', 'the relay lost the funding');
    await alice.watcher.start();
    assert.equal(alice.book.get(id).state, 'funding-broadcast', 'the payer rebroadcast its stored funding');
    assert.ok(env.devnet.mempoolTxids().includes(c!.fundingTxid!));

    // r arrives while the funding is back in the mempool only: still no claim.
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).state, 'funded');
    bob.relay.provideReceipt(id, d.r!);
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).state, 'funded');
    assert.deepEqual(await env.backend.getOutspend(c!.fundingTxid!, c!.fundingVout!), { spent: false });

    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(alice.book.get(id).state, 'funded');
    assert.equal(bob.book.get(id).state, 'claim-broadcast');
    // funded -> funding-broadcast -> funding-signed (gone) -> rebroadcast -> funded; then k may already be seen.
    assert.deepEqual(events(alice, id).slice(3, 8), ['funding-confirmed', 'funding-lost', 'funding-lost', 'funding-broadcast', 'funding-confirmed']);
  } finally {
    await env.done();
  }
});

test('a reorg that returns the claim to the mempool: running watchers step back and see it confirm again', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'recipient-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 9_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.watcher.start();
    await bob.watcher.start();
    await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    const claimTxid = bob.book.get(id).claimTxid!;
    const [claimBlock] = env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.deepEqual([alice.book.get(id).state, bob.book.get(id).state], ['claimed', 'claimed']);

    const parent = env.devnet.getBlock(claimBlock!)!.prev;
    env.devnet.mineOn(parent, 2); // longer: wins at once, without the claim (not mined on the active tip)
    await env.pollAll(alice, bob);
    assert.equal(env.devnet.getTxStatus(claimTxid).confirmed, false);
    assert.deepEqual([alice.book.get(id).state, bob.book.get(id).state], ['funded', 'claim-broadcast']);
    const [next] = env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.deepEqual([alice.book.get(id).state, bob.book.get(id).state], ['claimed', 'claimed']);
    assert.equal(env.devnet.getTxStatus(claimTxid).blockHash, next);
    assert.equal(bob.book.get(id).settledHeight, env.devnet.tip().height);
    assert.ok(bob.states.some((s) => s.id === id && s.event === 'claim-lost'), "the 'state' event told the relay");
  } finally {
    await env.done();
  }
});
