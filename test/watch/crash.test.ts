// Crashes: everything closed without stop() (wallet, party file, chain), the same files
// reopened, a new watcher started. Whatever was persisted is driven on to its end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContractScript, contractScriptPubKey } from '../../src/contracts/index.ts';
import { contractId } from '../../src/watch/book.ts';
import { Env, deal, events } from './helpers.ts';

test('payer crash between "funding-signed" and the broadcast: resumed, broadcast, funded', async () => {
  const env = new Env(true);
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'recipient-pays', env.devnet.tip().height + 30);
    const id = contractId(buildContractScript(d.terms));
    const [c] = await alice.payer.prepareFunding([{ terms: d.terms, amount: 7_000, keyIndex: d.payerKeyIndex }]);
    assert.equal(c!.state, 'funding-signed');
    assert.equal(env.devnet.getTx(c!.fundingTxid!), undefined, 'nothing broadcast yet');

    env.crashAll();
    const again = env.party('alice');
    assert.equal(again.book.get(id).state, 'funding-signed');
    await again.watcher.start();
    assert.equal(again.book.get(id).state, 'funding-broadcast');
    assert.ok(env.devnet.mempoolTxids().includes(c!.fundingTxid!));
    env.devnet.mine(1);
    await again.watcher.poll();
    const after = again.book.get(id);
    assert.equal(after.state, 'funded');
    assert.deepEqual(after.refundRaw, c!.refundRaw, 'the refund signed before the crash is the one kept');
    assert.deepEqual(events(again, id), ['created', 'funding-signed', 'funding-broadcast', 'funding-confirmed']);
  } finally {
    await env.done();
  }
});

test('payer crash after the wallet built the funding but before "funding-signed": the pending tx is reused', async () => {
  const env = new Env(true);
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'recipient-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    // What prepareFunding does up to the crash: the contract row, then the wallet's funding.
    alice.book.insert({ role: 'payer', script, amount: 7_000, keyIndex: d.payerKeyIndex, state: 'created', batch: 'b1' });
    const built = await alice.wallet.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount: 7_000, contractLabel: id }], feeRate: 2 });

    env.crashAll();
    const again = env.party('alice');
    await again.watcher.start();
    const c = again.book.get(id);
    assert.equal(c.state, 'funding-broadcast');
    assert.equal(c.fundingTxid, built.txid, 'matched to the pending funding by its contract label');
    assert.equal(again.wallet.pendingTransactions().length, 0);
    env.devnet.mine(1);
    await again.watcher.poll();
    assert.equal(again.book.get(id).state, 'funded');
  } finally {
    await env.done();
  }
});

test('relay crash between "funded" and "claimed" (claim signed and stored, not broadcast): resumed and claimed', async () => {
  const env = new Env(true);
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 9_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(id).state, 'funding-confirmed');
    bob.relay.provideReceipt(id, d.r!);
    const [signed] = await bob.relay.signClaims(await env.backend.getTip());
    assert.equal(signed!.state, 'claim-signed');
    assert.equal(env.devnet.getTx(signed!.claimTxid!), undefined);

    env.crashAll();
    const bob2 = env.party('bob');
    const alice2 = env.party('alice');
    await bob2.watcher.start();
    assert.equal(bob2.book.get(id).state, 'claim-broadcast');
    assert.ok(env.devnet.mempoolTxids().includes(signed!.claimTxid!), 'the stored claim was broadcast');
    env.devnet.mine(1);
    await env.pollAll(bob2, alice2);
    assert.equal(bob2.book.get(id).state, 'claimed');
    assert.deepEqual([alice2.book.get(id).state, alice2.book.get(id).k], ['claimed', d.k]);
  } finally {
    await env.done();
  }
});
