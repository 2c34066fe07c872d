// Both sides of the contract life cycle on the devnet, driven by their watchers: real
// wallets funded by the faucet, real keys, real transactions checked by the chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawTx } from '@scure/btc-signer';
import { ChainError } from '../../src/chain/backend.ts';
import { buildContractScript } from '../../src/contracts/index.ts';
import { contractId } from '../../src/watch/book.ts';
import { watchForClaim } from '../../src/watch/claim-watch.ts';
import { Wallet } from '../../src/wallet/index.ts';
import type { KeyLearned } from '../../src/watch/party.ts';
import { Env, deal, events } from './helpers.ts';

test('sender-pays: fund, confirm, receipt r, claim; payer and recipient learn k and r from the chain', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 100_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);

    await bob.relay.register({ script, terms: d.terms, amount: 20_000, k: d.k, keyIndex: d.relayKeyIndex });
    const [funded] = await alice.payer.fund([{ terms: d.terms, amount: 20_000, keyIndex: d.payerKeyIndex }]);
    assert.equal(funded!.state, 'funding-broadcast');
    assert.ok(funded!.refundRaw, 'the refund is signed and stored at funding time');
    assert.equal(RawTx.decode(funded!.refundRaw!).lockTime, d.terms.locktime);
    // The refund pays the funding's change address (used on chain), not a fresh one that a seed
    // restore would have to scan past when the refund is never broadcast.
    const fundingOutputs = RawTx.decode(funded!.fundingRaw!).outputs;
    const change = fundingOutputs.find((_o, vout) => vout !== funded!.fundingVout);
    assert.ok(change, 'the funding has a change output');
    assert.deepEqual(RawTx.decode(funded!.refundRaw!).outputs[0]!.script, change.script);
    const outpoint = { txid: funded!.fundingTxid!, vout: funded!.fundingVout! };
    assert.deepEqual(alice.wallet.locks().find((l) => l.kind === 'contract')!.ref, id);

    // Carol (not the payer) waits for the claim on Alice's contract output.
    const carolLearns = watchForClaim(env.backend, outpoint, script);
    const learned: KeyLearned[] = [];
    alice.watcher.on('key-learned', (e) => learned.push(e));

    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(id).state, 'funded', 'the relay found the unconfirmed funding itself');
    bob.relay.provideReceipt(id, d.r!);
    await env.pollAll(bob);
    assert.equal(bob.book.get(id).state, 'funded');
    assert.deepEqual(await env.backend.getOutspend(outpoint.txid, outpoint.vout), { spent: false }, 'no claim on an unconfirmed funding');

    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(alice.book.get(id).state, 'funded');
    const b = bob.book.get(id);
    assert.equal(b.state, 'claim-broadcast');
    assert.deepEqual(events(bob, id), ['created', 'funding-seen', 'receipt', 'funding-confirmed', 'claim-signed', 'claim-broadcast']);
    assert.ok(env.devnet.mempoolTxids().includes(b.claimTxid!));

    env.devnet.mine(1);
    const carol = await carolLearns;
    assert.deepEqual([carol.k, carol.r, carol.txid], [d.k, d.r, b.claimTxid]);
    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(id).state, 'claimed');
    const a = alice.book.get(id);
    assert.equal(a.state, 'claimed');
    assert.deepEqual([a.k, a.r, a.claimTxid], [d.k, d.r, b.claimTxid]);
    assert.deepEqual(learned.map((e) => [e.id, e.k, e.r]), [[id, d.k, d.r]]);
    assert.deepEqual(await alice.payer.learnKey(id), { k: d.k, r: d.r });
    assert.equal(alice.wallet.locks().filter((l) => l.kind === 'contract').length, 0, 'the contract lock is released');

    await bob.wallet.sync();
    const claimValue = Number(RawTx.decode(env.devnet.getTx(b.claimTxid!)!.raw).outputs[0]!.amount);
    assert.equal(bob.wallet.balance().confirmed, claimValue);
    assert.ok(claimValue > 19_000 && claimValue < 20_000);
  } finally {
    await env.done();
  }
});

test('recipient-pays: the relay is told the outpoint, claims with k alone; the payer learns k', async () => {
  const env = new Env();
  try {
    const carol = env.party('carol');
    const bob = env.party('bob');
    await env.fundWallet(carol, 50_000);
    const d = deal(carol, bob, 'recipient-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const reg = await bob.relay.register({ script, amount: 5_000, k: d.k, keyIndex: d.relayKeyIndex, id: 'msg-1' });
    const [c] = await carol.payer.fund([{ terms: d.terms, amount: 5_000, keyIndex: d.payerKeyIndex, id: 'msg-1' }]);

    const seen = await bob.relay.fundingSeen(reg.id, { txid: c!.fundingTxid!, vout: c!.fundingVout! });
    assert.equal(seen.state, 'funded');
    env.devnet.mine(1);
    await env.pollAll(bob);
    assert.equal(bob.book.get('msg-1').state, 'claim-broadcast');
    env.devnet.mine(1);
    await env.pollAll(carol, bob);
    assert.equal(bob.book.get('msg-1').state, 'claimed');
    const got = carol.book.get('msg-1');
    assert.equal(got.state, 'claimed');
    assert.deepEqual(got.k, d.k);
    assert.equal(got.r, null);
  } finally {
    await env.done();
  }
});

test('refund: the watcher holds the stored refund until the tip reaches T, then broadcasts it; the relay expires', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 60_000);
    const T = env.devnet.tip().height + 8;
    const d = deal(alice, bob, 'sender-pays', T);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 10_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.watcher.start();
    await bob.watcher.start();
    const [c] = await alice.payer.fund([{ terms: d.terms, amount: 10_000, keyIndex: d.payerKeyIndex }]);
    const refunded: string[] = [];
    alice.watcher.on('refunded', (e) => refunded.push(e.txid));

    // Carol never sends r: the relay cannot claim. Each block runs both watchers (onTip);
    // poll() then waits for that pass to finish.
    while (env.devnet.tip().height < T - 1) {
      env.devnet.mine(1);
      await env.pollAll(alice, bob);
      assert.equal(alice.book.get(id).state, 'funded');
      assert.equal(env.devnet.getTx(c!.refundTxid!), undefined, `no refund broadcast at height ${env.devnet.tip().height} < T`);
    }
    assert.equal(bob.book.get(id).state, 'expired', 'past T - claimMargin the relay gives up');
    // The chain itself refuses the refund one block early: the watcher's check is the chain's rule.
    await assert.rejects(env.backend.broadcast(c!.refundRaw!), (e: unknown) => ChainError.is(e, 'LOCKTIME_NOT_REACHED'));

    env.devnet.mine(1);
    await env.pollAll(alice);
    assert.equal(env.devnet.tip().height, T);
    assert.equal(alice.book.get(id).state, 'refund-broadcast');
    assert.ok(env.devnet.mempoolTxids().includes(c!.refundTxid!));
    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(alice.book.get(id).state, 'refunded');
    assert.deepEqual(refunded, [c!.refundTxid]);
    assert.deepEqual(events(alice, id), ['created', 'funding-signed', 'funding-broadcast', 'funding-confirmed', 'refund-broadcast', 'refund-confirmed']);
    await alice.wallet.sync();
    assert.ok(alice.wallet.balance().confirmed > 59_000 - 1_000, 'the refund came back to the wallet');
  } finally {
    await env.done();
  }
});

test('batch: one funding transaction for 10 contracts, one claim transaction for all 10', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 200_000);
    const T = env.devnet.tip().height + 40;
    const deals = Array.from({ length: 10 }, () => deal(alice, bob, 'sender-pays', T));
    for (const d of deals) await bob.relay.register({ script: buildContractScript(d.terms), amount: 3_000, k: d.k, keyIndex: d.relayKeyIndex });
    const funded = await alice.payer.fund(deals.map((d) => ({ terms: d.terms, amount: 3_000, keyIndex: d.payerKeyIndex })));
    assert.equal(new Set(funded.map((c) => c.fundingTxid)).size, 1);
    assert.deepEqual(funded.map((c) => c.fundingVout).sort((x, y) => x! - y!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    env.devnet.mine(1);
    await env.pollAll(bob);
    deals.forEach((d, i) => bob.relay.provideReceipt(funded[i]!.id, d.r!));
    await env.pollAll(bob);
    const claims = new Set(bob.book.list('relay').map((c) => c.claimTxid));
    assert.equal(claims.size, 1, 'one claim for the whole batch');
    const [claimTxid] = [...claims];
    assert.equal(RawTx.decode(env.devnet.getTx(claimTxid!)!.raw).inputs.length, 10);
    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.ok(bob.book.list('relay').every((c) => c.state === 'claimed'));
    const mine = alice.book.list('payer');
    assert.ok(mine.every((c) => c.state === 'claimed'));
    for (const d of deals) {
      const c = mine.find((x) => x.id === contractId(buildContractScript(d.terms)))!;
      assert.deepEqual([c.k, c.r], [d.k, d.r]);
    }
  } finally {
    await env.done();
  }
});

test('a funding whose coins were spent elsewhere before it was broadcast is abandoned', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 50_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const id = contractId(buildContractScript(d.terms));
    const [c] = await alice.payer.prepareFunding([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    // The same seed restored elsewhere spends the coin first (a double spend of the funding's input).
    const clone = Wallet.create({ db: `${env.dir}/clone.sqlite`, passphrase: 'pw', network: 'regtest', backend: env.backend,
      mnemonic: alice.wallet.revealMnemonic('pw').mnemonic, scrypt: { log2N: 10, r: 8, p: 1 } });
    try {
      await clone.sync();
      await clone.send(bob.wallet.newReceiveAddress().address, 40_000, { feeRate: 2 });
    } finally {
      clone.close();
    }
    await alice.watcher.poll();
    const after = alice.book.get(id);
    assert.equal(after.state, 'abandoned');
    // The clone's spend signals BIP125, so the devnet (like Core) refuses the funding as an underpaying replacement.
    assert.match(alice.book.history(id).at(-1)!.detail ?? '', /INPUT_SPENT|MISSING_INPUT|FEE_TOO_LOW/);
    assert.equal(env.devnet.getTx(c!.fundingTxid!), undefined);
  } finally {
    await env.done();
  }
});

test('watchForClaim: rejects with CLOSED on abort, BAD_STATE when the contract is refunded', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 50_000);
    const T = env.devnet.tip().height + 4;
    const d = deal(alice, bob, 'recipient-pays', T);
    const script = buildContractScript(d.terms);
    const [c] = await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    const outpoint = { txid: c!.fundingTxid!, vout: c!.fundingVout! };
    const ac = new AbortController();
    const aborted = watchForClaim(env.backend, outpoint, script, { signal: ac.signal });
    ac.abort();
    await assert.rejects(aborted, (e: unknown) => (e as { code?: string }).code === 'CLOSED');

    const refunded = watchForClaim(env.backend, outpoint, script);
    await alice.watcher.start();
    while (env.devnet.tip().height < T) env.devnet.mine(1);
    await alice.watcher.poll(); // the refund enters the mempool at tip T
    assert.equal(alice.book.get(c!.id).state, 'refund-broadcast');
    env.devnet.mine(1); // the tip event makes watchForClaim look again
    await assert.rejects(refunded, (e: unknown) => (e as { code?: string }).code === 'BAD_STATE');
    await alice.watcher.poll();
    assert.equal(alice.book.get(c!.id).state, 'refunded');
  } finally {
    await env.done();
  }
});

test('fund() racing watcher passes builds exactly one funding transaction', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 50_000, 2);
    await alice.watcher.start();
    const d = deal(alice, bob, 'recipient-pays', env.devnet.tip().height + 30);
    const id = contractId(buildContractScript(d.terms));
    // fund() awaits the chain and the wallet; passes started meanwhile must not see its 'created' rows.
    const funding = alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    const passes = [alice.payer.pass(env.devnet.tip()), alice.watcher.poll(), alice.payer.pass(env.devnet.tip())];
    env.devnet.mine(1);
    await Promise.all([funding, ...passes, alice.watcher.poll()]);
    const contractLocks = alice.wallet.locks().filter((l) => l.kind === 'contract');
    assert.equal(contractLocks.length, 1);
    assert.equal(contractLocks[0]!.txid, alice.book.get(id).fundingTxid);
    assert.equal(alice.wallet.pendingTransactions().length, 0);
    assert.equal(alice.wallet.history().filter((h) => h.own).length, 1, 'one transaction built by the wallet');
  } finally {
    await env.done();
  }
});
