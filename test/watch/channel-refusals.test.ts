// Every bad input to the persisted channel parties: a typed code, and nothing changed in the book.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confirmFunding, proposeAdd, type AddHtlc } from '../../src/channels/index.ts';
import type { ChannelBook } from '../../src/watch/channel-book.ts';
import { RelayChannels } from '../../src/watch/channel-relay.ts';
import { WatchError } from '../../src/watch/errors.ts';
import { Env, FEE_RATE, rejectsCode } from './helpers.ts';
import { addBoth, chParty, htlc, MARGIN, openChannel, settleBoth, wire } from './channel-helpers.ts';

function snap(book: ChannelBook, id: string) {
  const rec = book.find(id);
  return rec && { rec: { ...rec, updatedAt: 0 }, htlcs: book.htlcs(id), messages: book.messages(id).length, history: book.history(id).length };
}

/** Asserts the call is refused with `code` and that neither book moved. */
async function refused(fn: () => Promise<unknown>, code: string, books: [ChannelBook, string][]): Promise<void> {
  const before = books.map(([b, id]) => snap(b, id));
  await rejectsCode(fn, code);
  books.forEach(([b, id], i) => assert.deepEqual(snap(b, id), before[i], `book unchanged after ${code}`));
}

test('channel refusals: typed codes, books unchanged', async () => {
  const env = new Env(true);
  try {
    const alice = chParty(env, 'alice');
    const bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 400_000, 3);
    const tip = env.devnet.tip().height;
    const relayKeyIndex = bob.base.wallet.nextContractKeyIndex();
    const relayPubkey = bob.base.wallet.contractKey(relayKeyIndex).pubkey33;

    // open: parameters checked before the wallet is touched.
    const pendingBefore = alice.base.wallet.pendingTransactions().length;
    await rejectsCode(alice.payer.open({ relayPubkey, capacity: 50_000, channelLocktime: tip + MARGIN + 1, claimMargin: MARGIN, feeRate: FEE_RATE }), 'BAD_PARAMS');
    await rejectsCode(alice.payer.open({ relayPubkey, capacity: 50_000, channelLocktime: tip + 100, claimMargin: MARGIN, feeRate: 0 }), 'BAD_PARAMS');
    await rejectsCode(alice.payer.open({ relayPubkey: relayPubkey.slice(1), capacity: 50_000, channelLocktime: tip + 100, claimMargin: MARGIN, feeRate: FEE_RATE }), 'BAD_PARAMS');
    await rejectsCode(alice.payer.open({ relayPubkey, capacity: 5_000_000, channelLocktime: tip + 100, claimMargin: MARGIN, feeRate: FEE_RATE }), 'INSUFFICIENT_FUNDS');
    assert.equal(alice.base.wallet.pendingTransactions().length, pendingBefore, 'no funding built');
    assert.equal(alice.book.unfinishedOpens().length, 0, 'a refused open leaves no intent');
    assert.equal(alice.book.list().length, 0);

    // accept: the relay's key, the funding bytes, the deadline.
    const { channel, message } = await alice.payer.open({ relayPubkey, capacity: 100_000, channelLocktime: tip + 100, claimMargin: MARGIN, feeRate: FEE_RATE });
    const id = channel.id;
    await rejectsCode(bob.relay.accept(message, channel.fundingRaw!, relayKeyIndex + 1), 'WRONG_KEY');
    await rejectsCode(bob.relay.accept({ ...message, capacity: 99_999 }, channel.fundingRaw!, relayKeyIndex), 'FUNDING_MISMATCH');
    await rejectsCode(bob.relay.accept(message, channel.fundingRaw!.slice(0, 30), relayKeyIndex), 'BAD_TX');
    await rejectsCode(bob.relay.accept({ ...message, claimMargin: 99 }, channel.fundingRaw!, relayKeyIndex), 'BAD_PARAMS');
    await rejectsCode(bob.relay.accept(null as never, channel.fundingRaw!, relayKeyIndex), 'BAD_PARAMS');
    assert.equal(bob.book.list().length, 0, 'nothing accepted');
    await bob.relay.accept(message, channel.fundingRaw!, relayKeyIndex);
    await rejectsCode(bob.relay.accept(message, channel.fundingRaw!, relayKeyIndex), 'DUPLICATE_CHANNEL');

    // Unconfirmed funding: the payer may not add, the relay refuses an add signed anyway.
    const x0 = htlc('refuse', 0, 'sender-pays', tip + 50, 2_000);
    await refused(() => alice.payer.add(id, x0.terms), 'BAD_STATE', [[alice.book, id]]);
    const early = proposeAdd(confirmFunding(alice.book.get(id).state), x0.terms, { tip, payerPrivkey: alice.base.wallet.contractKey(alice.book.get(id).keyIndex).privkey32 });
    await refused(() => bob.relay.onAdd(early.message), 'FUNDING_UNCONFIRMED', [[bob.book, id]]);
    await refused(() => bob.relay.forceClose(id), 'NO_COMMITMENT', [[bob.book, id]]);
    env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();

    // Unknown channel.
    await refused(() => alice.payer.add('ab'.repeat(32), x0.terms), 'UNKNOWN_CHANNEL', [[alice.book, id]]);
    await refused(() => bob.relay.onAdd({ ...early.message, channelId: 'cd'.repeat(32) }), 'UNKNOWN_CHANNEL', [[bob.book, id]]);

    // Payer-side HTLC rules (the pure core's codes, nothing committed).
    await refused(() => alice.payer.add(id, { ...x0.terms, locktime: tip + 100 }), 'HTLC_EXPIRY_TOO_LATE', [[alice.book, id]]);
    await refused(() => alice.payer.add(id, { ...x0.terms, amount: 100 }), 'DUST_HTLC', [[alice.book, id]]);
    await refused(() => alice.payer.add(id, { ...x0.terms, amount: 200_000 }), 'INSUFFICIENT_CAPACITY', [[alice.book, id]]);

    // A tampered signature, then a different message for a state already taken.
    const m = await alice.payer.add(id, x0.terms);
    const sig = Uint8Array.from(m.payerSig);
    sig[10]! ^= 1;
    await refused(() => bob.relay.onAdd(wire('add', { ...m, payerSig: sig })), 'BAD_SIGNATURE', [[bob.book, id]]);
    await refused(() => bob.relay.onAdd(wire('add', { ...m, relayBalance: 1, payerBalance: m.payerBalance - 1 })), 'AMOUNTS_MISMATCH', [[bob.book, id]]);
    await bob.relay.onAdd(wire('add', m));
    const resent = await bob.relay.onAdd(wire('add', m));
    assert.equal(resent.n, 1, 'the same message again is a no-op');
    const other: AddHtlc = { ...m, htlc: { ...m.htlc, amount: m.htlc.amount + 1 } };
    await refused(() => bob.relay.onAdd(other), 'STATE_NUMBER_MISMATCH', [[bob.book, id]]);

    // Settle: a wrong preimage never leaves the relay; a forged one never moves the payer.
    await refused(() => bob.relay.settle(id, m.htlc.id, x0.r!, x0.r), 'PREIMAGE_MISMATCH', [[bob.book, id]]);
    await refused(() => bob.relay.settle(id, m.htlc.id, x0.k), 'PREIMAGE_MISMATCH', [[bob.book, id]]);
    await refused(() => bob.relay.settle(id, 99, x0.k, x0.r), 'UNKNOWN_HTLC', [[bob.book, id]]);
    await refused(() => alice.payer.onSettle({ channelId: id, htlcId: m.htlc.id, k: x0.k, r: x0.k }), 'PREIMAGE_MISMATCH', [[alice.book, id]]);
    await refused(() => alice.payer.onSettle({ channelId: id, htlcId: 7, k: x0.k, r: x0.r! }), 'UNKNOWN_HTLC', [[alice.book, id]]);

    // Fail too early; close with something in flight; a close asking the wrong balance.
    await refused(() => alice.payer.fail(id, m.htlc.id), 'FAIL_TOO_EARLY', [[alice.book, id]]);
    await refused(() => bob.relay.requestClose(id), 'IN_FLIGHT_NOT_EMPTY', [[bob.book, id]]);
    await settleBoth(alice, bob, id, m.htlc.id, x0);
    const req = await bob.relay.requestClose(id);
    await refused(() => alice.payer.onCloseRequest({ ...req, relayBalance: req.relayBalance + 1 }), 'AMOUNTS_MISMATCH', [[alice.book, id]]);
    await refused(() => alice.payer.onCloseRequest({ ...req, relaySig: req.relaySig.slice().reverse() }), 'BAD_SIGNATURE', [[alice.book, id]]);
    await refused(() => bob.relay.completeClose({ channelId: id, n: req.n, payerSig: req.relaySig }), 'BAD_SIGNATURE', [[bob.book, id]]);
    const signed = await alice.payer.onCloseRequest(req);
    await refused(() => alice.payer.add(id, htlc('refuse', 1, 'recipient-pays', tip + 50, 2_000).terms), 'BAD_STATE', [[alice.book, id]]);
    await refused(() => addBoth(alice, bob, id, htlc('refuse', 2, 'recipient-pays', tip + 50, 2_000)), 'BAD_STATE', [[alice.book, id], [bob.book, id]]);
    await bob.relay.completeClose(signed);
    await refused(() => bob.relay.forceClose(id), 'BAD_STATE', [[bob.book, id]]);
  } finally {
    await env.done();
  }
});

test('RelayChannels refuses a policy without confirmations', async () => {
  const env = new Env(true);
  try {
    const alice = chParty(env, 'alice');
    const bob = chParty(env, 'bob');
    assert.throws(() => new RelayChannels({ book: bob.book, wallet: bob.base.wallet, backend: env.backend, minConfirmations: 0 }), (e: unknown) => WatchError.is(e, 'BAD_INPUT'));
    await env.fundWallet(alice.base, 400_000);
    const { id } = await openChannel(env, alice, bob, 100_000, env.devnet.tip().height + 100);
    assert.equal(alice.book.get(id).status, 'open');
  } finally {
    await env.done();
  }
});
