// What the relay and the book refuse, each with its typed code: wrong funding amount or
// script, unknown funding, wrong r, wrong k or key, duplicate contracts, bad transitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buildContractScript, contractScriptPubKey } from '../../src/contracts/index.ts';
import { contractId } from '../../src/watch/book.ts';
import { RelayContracts } from '../../src/watch/relay.ts';
import { Env, FEE_RATE, deal, rejectsCode } from './helpers.ts';

test('funding with the wrong amount or to another script is detected (FUNDING_MISMATCH); the relay never claims it', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const d = deal(alice, bob, 'sender-pays', env.devnet.tip().height + 30);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 10_000, k: d.k, keyIndex: d.relayKeyIndex });
    // Alice pays 9,000 where the quote said 10,000.
    const [c] = await alice.payer.fund([{ terms: d.terms, amount: 9_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await rejectsCode(bob.relay.fundingSeen(id, { txid: c!.fundingTxid!, vout: c!.fundingVout! }), 'FUNDING_MISMATCH');
    // The change output pays the wallet, not the contract.
    await rejectsCode(bob.relay.fundingSeen(id, { txid: c!.fundingTxid!, vout: 1 }), 'FUNDING_MISMATCH');
    await rejectsCode(bob.relay.fundingSeen(id, { txid: c!.fundingTxid!, vout: 7 }), 'FUNDING_MISMATCH');
    await rejectsCode(bob.relay.fundingSeen(id, { txid: 'ab'.repeat(32), vout: 0 }), 'FUNDING_NOT_FOUND');
    bob.relay.provideReceipt(id, d.r!);
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).state, 'quoted', 'an underpaying output is never taken for the funding');
    assert.deepEqual(await env.backend.getScriptUtxos(contractScriptPubKey(script)).then((u) => u.length), 1);
    assert.deepEqual(await env.backend.getOutspend(c!.fundingTxid!, c!.fundingVout!), { spent: false }, 'no claim');
  } finally {
    await env.done();
  }
});

test('receipts, keys and registrations are checked: wrong r, wrong k, wrong key, duplicates, wrong mode', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    const tip = env.devnet.tip().height;
    const d = deal(alice, bob, 'sender-pays', tip + 30);
    const script = buildContractScript(d.terms);
    const base = { script, amount: 10_000, k: d.k, keyIndex: d.relayKeyIndex };
    await rejectsCode(bob.relay.register({ ...base, k: new Uint8Array(randomBytes(32)) }), 'PREIMAGE_MISMATCH');
    await rejectsCode(bob.relay.register({ ...base, keyIndex: d.relayKeyIndex + 1 }), 'WRONG_KEY');
    await rejectsCode(bob.relay.register({ ...base, terms: { ...d.terms, locktime: tip + 31 } }), 'TERMS_MISMATCH');
    await rejectsCode(bob.relay.register({ ...base, script: script.slice(1) }), 'NOT_A_CONTRACT');
    const reg = await bob.relay.register(base);
    await rejectsCode(bob.relay.register(base), 'DUPLICATE_CONTRACT');
    await rejectsCode(async () => bob.relay.provideReceipt(reg.id, new Uint8Array(randomBytes(32))), 'PREIMAGE_MISMATCH');
    await rejectsCode(async () => bob.relay.provideReceipt(reg.id, d.k), 'PREIMAGE_MISMATCH');
    assert.equal(bob.book.get(reg.id).r, null, 'a wrong r is not stored');
    assert.deepEqual(bob.relay.provideReceipt(reg.id, d.r!).r, d.r);
    await rejectsCode(async () => bob.relay.provideReceipt('no-such-id', d.r!), 'UNKNOWN_CONTRACT');

    const rp = deal(alice, bob, 'recipient-pays', tip + 30);
    const rpReg = await bob.relay.register({ script: buildContractScript(rp.terms), amount: 10_000, k: rp.k, keyIndex: rp.relayKeyIndex });
    await rejectsCode(async () => bob.relay.provideReceipt(rpReg.id, d.r!), 'NOT_SENDER_PAYS');

    // The payer side checks its key too, before anything is written.
    await rejectsCode(alice.payer.fund([{ terms: d.terms, amount: 10_000, keyIndex: d.payerKeyIndex + 5 }]), 'WRONG_KEY');
    await rejectsCode(alice.payer.fund([]), 'BAD_INPUT');
    assert.deepEqual(alice.book.list('payer'), []);
    // A transition the state machine does not allow changes nothing.
    assert.throws(() => bob.book.transition(reg.id, 'claim-confirmed'), (e: unknown) => (e as { code?: string }).code === 'BAD_TRANSITION');
    assert.equal(bob.book.get(reg.id).state, 'quoted');
    await bob.watcher.stop();
    await rejectsCode(bob.watcher.poll(), 'CLOSED');
    assert.throws(() => new RelayContracts({ book: bob.book, wallet: bob.wallet, backend: env.backend, feeRate: FEE_RATE, minConfirmations: 0, claimMargin: 3 }),
      (e: unknown) => (e as { code?: string }).code === 'BAD_INPUT');
  } finally {
    await env.done();
  }
});

test('the relay refuses to claim past T - claimMargin even with k and r: it expires instead', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const T = env.devnet.tip().height + 6;
    const d = deal(alice, bob, 'sender-pays', T);
    const script = buildContractScript(d.terms);
    const id = contractId(script);
    await bob.relay.register({ script, amount: 10_000, k: d.k, keyIndex: d.relayKeyIndex });
    await alice.payer.fund([{ terms: d.terms, amount: 10_000, keyIndex: d.payerKeyIndex }]);
    env.devnet.mine(1);
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).state, 'funding-confirmed');
    while (env.devnet.tip().height < T - 3) env.devnet.mine(1);
    bob.relay.provideReceipt(id, d.r!);
    assert.deepEqual(await bob.relay.signClaims(await env.backend.getTip()), [], 'nothing is claimable at the deadline');
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).state, 'expired');
    const c = alice.book.get(id);
    assert.deepEqual(await env.backend.getOutspend(c.fundingTxid!, c.fundingVout!), { spent: false });
  } finally {
    await env.done();
  }
});

test('a stored batch claim the chain refuses (one contract refunded meanwhile): that one expires, the rest is re-signed and claimed', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 80_000);
    const tip = env.devnet.tip().height;
    const early = deal(alice, bob, 'sender-pays', tip + 8);
    const late = deal(alice, bob, 'sender-pays', tip + 30);
    const ids: string[] = [];
    for (const d of [early, late]) {
      const reg = await bob.relay.register({ script: buildContractScript(d.terms), amount: 8_000, k: d.k, keyIndex: d.relayKeyIndex });
      ids.push(reg.id);
    }
    await alice.payer.fund([early, late].map((d) => ({ terms: d.terms, amount: 8_000, keyIndex: d.payerKeyIndex })));
    env.devnet.mine(1);
    await bob.watcher.poll();
    bob.relay.provideReceipt(ids[0]!, early.r!);
    bob.relay.provideReceipt(ids[1]!, late.r!);
    // The relay signs and stores its batch, then goes offline before broadcasting it.
    const signed = await bob.relay.signClaims(await env.backend.getTip());
    assert.equal(signed.length, 2);
    const stale = signed[0]!.claimTxid!;

    while (env.devnet.tip().height < early.terms.locktime) env.devnet.mine(1);
    await alice.watcher.poll();
    env.devnet.mine(1);
    await alice.watcher.poll();
    assert.deepEqual(alice.book.list('payer').map((c) => c.state).sort(), ['funded', 'refunded']);

    await bob.watcher.poll(); // the stored batch is refused: input spent by the refund
    assert.equal(bob.book.get(ids[0]!).state, 'expired');
    const resigned = bob.book.get(ids[1]!);
    assert.equal(resigned.state, 'claim-signed');
    assert.notEqual(resigned.claimTxid, stale);
    assert.equal(bob.book.history(ids[1]!).at(-1)!.event, 'claim-resigned');
    await bob.watcher.poll();
    assert.equal(bob.book.get(ids[1]!).state, 'claim-broadcast');
    env.devnet.mine(1);
    await env.pollAll(alice, bob);
    assert.equal(bob.book.get(ids[1]!).state, 'claimed');
    assert.deepEqual(alice.book.get(ids[1]!).k, late.k);
  } finally {
    await env.done();
  }
});

test('a funding the wallet cannot build leaves no contract behind (INSUFFICIENT_FUNDS)', async () => {
  const env = new Env();
  try {
    const alice = env.party('alice');
    const bob = env.party('bob');
    await env.fundWallet(alice, 20_000);
    const d = deal(alice, bob, 'recipient-pays', env.devnet.tip().height + 30);
    await rejectsCode(alice.payer.fund([{ terms: d.terms, amount: 50_000, keyIndex: d.payerKeyIndex }]), 'INSUFFICIENT_FUNDS');
    assert.deepEqual(alice.book.list('payer'), []);
    await alice.watcher.poll();
    assert.deepEqual(alice.problems, []);
    const [ok] = await alice.payer.fund([{ terms: d.terms, amount: 10_000, keyIndex: d.payerKeyIndex }]);
    assert.equal(ok!.state, 'funding-broadcast', 'the same terms can be funded once the amount fits');
  } finally {
    await env.done();
  }
});
