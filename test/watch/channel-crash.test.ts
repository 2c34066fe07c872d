// Crashes and reorgs under the channel parties. A crash closes the party's files without stop()
// (and, for "both", the chain too); the message on the wire is lost. Reopened, the parties
// resend what their books say is unanswered, and the channel ends exactly as without the crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { buildFundingScript, fundingScriptPubKey, type AddHtlc, type CloseRequest, type CloseSigned, type SettleAck, type SettleHtlc } from '../../src/channels/index.ts';
import { fundingScriptId } from '../../src/watch/channel-book.ts';
import { Env } from './helpers.ts';
import { addBoth, chParty, closeBoth, htlc, MARGIN, openChannel, settleBoth, paidTo, wire, type ChParty } from './channel-helpers.ts';
import { FEE_RATE } from './helpers.ts';

/** What a reconnecting pair does: each side resends what its book says the other may not have. */
async function resync(a: ChParty, b: ChParty, id: string): Promise<void> {
  const last = a.payer.lastSent(id);
  if (last?.type === 'add') await b.relay.onAdd(wire('add', last.message));
  if (last?.type === 'settle-ack') await b.relay.onSettleAck(wire('settle-ack', last.message));
  if (last?.type === 'close-signed') await b.relay.completeClose(wire('close-signed', last.message));
  for (const s of b.relay.unacknowledged(id)) {
    const ack = await a.payer.onSettle(wire('settle', s));
    await b.relay.onSettleAck(wire('settle-ack', ack));
  }
  const rl = b.relay.lastSent(id);
  if (rl?.type === 'close-request' && b.book.get(id).status === 'open') {
    const signed = await a.payer.onCloseRequest(wire('close-request', rl.message));
    await b.relay.completeClose(wire('close-signed', signed));
  }
}

const STEPS = [
  'payer add', 'relay onAdd',
  'relay settle', 'payer onSettle', 'relay onSettleAck',
  'relay requestClose', 'payer onCloseRequest', 'relay completeClose',
] as const;
/** First step of the phase after step i: the resync completes the phase the crash interrupted. */
const NEXT_PHASE = [2, 2, 5, 5, 5, 8, 8, 8];

test('a crash after every step of add / settle / close, on each side and on both: resumed, nothing lost', async (t) => {
  const env = new Env(true);
  const ps = { a: chParty(env, 'alice'), b: chParty(env, 'bob') };
  try {
    await env.fundWallet(ps.a.base, 200_000, 24);
    for (const who of ['payer', 'relay', 'both'] as const) {
      for (let crashAt = 0; crashAt < STEPS.length; crashAt++) {
        const label = `crash of ${who} after "${STEPS[crashAt]}"`;
        const tip = env.devnet.tip().height;
        const { id, relayKeyIndex } = await openChannel(env, ps.a, ps.b, 100_000, tip + 300);
        const x = htlc(label, 0, 'sender-pays', tip + 100, 3_000);
        let w: unknown;
        let hid = 0;
        const steps: (() => Promise<unknown>)[] = [
          async () => { const m = await ps.a.payer.add(id, x.terms); hid = m.htlc.id; w = m; },
          () => ps.b.relay.onAdd(wire('add', w as AddHtlc)),
          async () => { w = await ps.b.relay.settle(id, hid, x.k, x.r); },
          async () => { w = await ps.a.payer.onSettle(wire('settle', w as SettleHtlc)); },
          () => ps.b.relay.onSettleAck(wire('settle-ack', w as SettleAck)),
          async () => { w = await ps.b.relay.requestClose(id); },
          async () => { w = await ps.a.payer.onCloseRequest(wire('close-request', w as CloseRequest)); },
          () => ps.b.relay.completeClose(wire('close-signed', w as CloseSigned)),
        ];
        for (let i = 0; i < STEPS.length; i++) {
          await steps[i]!();
          if (i !== crashAt) continue;
          const before = { a: ps.a.book.get(id), b: ps.b.book.get(id) };
          if (who === 'both') env.crashAll();
          if (who !== 'relay' && who !== 'both') ps.a.base.crash();
          if (who === 'relay') ps.b.base.crash();
          if (who !== 'relay') ps.a = chParty(env, 'alice');
          if (who !== 'payer') ps.b = chParty(env, 'bob');
          w = undefined; // the message in flight is lost
          for (const [side, rec] of [['payer', ps.a.book.get(id)], ['relay', ps.b.book.get(id)]] as const) {
            const was = side === 'payer' ? before.a : before.b;
            assert.equal(rec.n, was.n, `${label}: ${side} state number kept`);
            assert.equal(rec.status, was.status, `${label}: ${side} status kept`);
            assert.deepEqual(rec.state, was.state, `${label}: ${side} state kept`);
          }
          await resync(ps.a, ps.b, id);
          i = NEXT_PHASE[i]! - 1;
        }
        const a = ps.a.book.get(id);
        const b = ps.b.book.get(id);
        assert.equal(a.n, 2, label);
        assert.deepEqual(b.state, a.state, `${label}: both sides agree`);
        assert.equal(b.status, 'closing-cooperative', label);
        assert.equal(a.status, 'closing-cooperative', label);
        assert.equal(a.closeTxid, b.closeTxid, label);
        assert.deepEqual(ps.a.book.htlc(id, hid)!.k, x.k, `${label}: the payer kept k`);
        assert.equal(ps.b.book.htlc(id, hid)!.status, 'settled', label);
        env.devnet.mine(1);
        await ps.a.watcher.poll();
        await ps.b.watcher.poll();
        assert.equal(ps.a.book.get(id).status, 'closed-cooperative', label);
        assert.equal(ps.b.book.get(id).status, 'closed-cooperative', label);
        assert.equal(paidTo(env, a.closeTxid!, ps.b.base.wallet.contractKey(relayKeyIndex).pubkey33), 3_000, `${label}: the relay is paid exactly`);
      }
    }
    t.diagnostic(`${3 * STEPS.length} crash points resumed`);
  } finally {
    await env.done();
  }
});

test('payer crash after the wallet built the funding, before "opening": the next pass records and broadcasts that funding', async () => {
  const env = new Env(true);
  try {
    let alice = chParty(env, 'alice');
    const bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 500_000);
    const relayPubkey = bob.base.wallet.contractKey(bob.base.wallet.nextContractKeyIndex()).pubkey33;
    // What open() does up to the crash: the intent, then the wallet's pending funding.
    const keyIndex = alice.base.wallet.nextContractKeyIndex();
    const payerPubkey = alice.base.wallet.contractKey(keyIndex).pubkey33;
    const channelLocktime = env.devnet.tip().height + 100;
    const script = buildFundingScript({ payerPubkey, relayPubkey, channelLocktime });
    const scriptId = fundingScriptId(script);
    const params = { relayPubkey, channelLocktime, claimMargin: MARGIN, feeRate: FEE_RATE, capacity: 50_000 };
    alice.book.insertOpenIntent({ scriptId, keyIndex, params });
    const built = await alice.base.wallet.createTransaction({ outputs: [{ script: fundingScriptPubKey(script), amount: 50_000, contractLabel: scriptId }], feeRate: FEE_RATE });
    env.crashAll();
    alice = chParty(env, 'alice');
    assert.equal(alice.book.list('payer').length, 0);
    await alice.watcher.start(); // resumes at once, then follows the tip
    const [c] = alice.book.list('payer');
    assert.equal(c!.fundingTxid, built.txid, 'the pending funding is the channel\'s');
    assert.ok(c!.exitRaw, 'the exit was signed on resume');
    assert.ok(env.devnet.mempoolTxids().includes(built.txid));
    assert.equal(alice.book.unfinishedOpens().length, 0);
    const opened = once(alice.watcher, 'status');
    env.devnet.mine(1); // the tip change alone drives the next pass
    const [change] = (await opened) as [{ id: string; to: string }];
    assert.deepEqual([change.id, change.to], [c!.id, 'open']);
    assert.equal(alice.book.get(c!.id).status, 'open');
  } finally {
    await env.done();
  }
});

test('a reorg removes the funding (and the node drops its mempool): both sides rebroadcast it; the channel goes on', async () => {
  const env = new Env(true);
  try {
    let alice = chParty(env, 'alice');
    let bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 500_000);
    const tip = env.devnet.tip().height;
    const { id } = await openChannel(env, alice, bob, 100_000, tip + 100);
    const fundingTxid = alice.book.get(id).fundingTxid;
    const block = env.devnet.getTxStatus(fundingTxid).blockHash!;
    env.devnet.mineOn(env.devnet.getBlock(block)!.prev, 2);
    env.devnet.invalidateBlock(block);
    env.crashAll({ dropMempool: true });
    assert.equal(env.devnet.getTx(fundingTxid), undefined, 'the funding is gone');
    alice = chParty(env, 'alice');
    bob = chParty(env, 'bob');
    await bob.watcher.poll();
    assert.ok(env.devnet.mempoolTxids().includes(fundingTxid), 'the relay rebroadcast the funding it was handed');
    await alice.watcher.poll();
    env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();
    assert.ok(env.devnet.getTxStatus(fundingTxid).confirmed);
    const x = htlc('reorg', 0, 'recipient-pays', env.devnet.tip().height + 20, 2_000);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, x), x);
    assert.equal(bob.book.get(id).state.relayBalance, 2_000);
  } finally {
    await env.done();
  }
});

test('a reorg removes the confirmed cooperative close: detected, rebroadcast, confirmed again', async () => {
  const env = new Env(true);
  try {
    let alice = chParty(env, 'alice');
    let bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 500_000);
    const tip = env.devnet.tip().height;
    const { id } = await openChannel(env, alice, bob, 100_000, tip + 100);
    const x = htlc('reorg-close', 0, 'sender-pays', tip + 30, 2_500);
    await settleBoth(alice, bob, id, await addBoth(alice, bob, id, x), x);
    const closed = await closeBoth(alice, bob, id);
    const [block] = env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).status, 'closed-cooperative');
    assert.equal(alice.book.get(id).status, 'closed-cooperative');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 0, 'released at the confirmed close');
    env.devnet.mineOn(env.devnet.getBlock(block!)!.prev, 2);
    env.devnet.invalidateBlock(block!);
    env.crashAll({ dropMempool: true });
    assert.equal(env.devnet.getTx(closed.closeTxid!), undefined, 'the close is gone');
    alice = chParty(env, 'alice');
    bob = chParty(env, 'bob');
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).status, 'closing-cooperative', 'the relay saw its close leave the chain');
    assert.ok(env.devnet.mempoolTxids().includes(closed.closeTxid!), 'and rebroadcast the stored close');
    await alice.watcher.poll();
    assert.equal(alice.book.get(id).status, 'closing-cooperative');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 100_000, 'the reorg undid the close: the funding counts as locked again');
    env.devnet.mine(1);
    await alice.watcher.poll();
    await bob.watcher.poll();
    assert.equal(bob.book.get(id).status, 'closed-cooperative');
    assert.equal(alice.book.get(id).status, 'closed-cooperative');
    assert.equal(alice.base.wallet.balance().lockedInContracts, 0, 'released again at the second confirmation');
    assert.deepEqual(bob.book.history(id).map((e) => e.event).filter((e) => e.startsWith('close-')), ['close-completed', 'close-confirmed', 'close-lost', 'close-confirmed']);
    const sweep = bob.book.get(id).sweepTxid!;
    assert.ok(env.devnet.mempoolTxids().includes(sweep), 'the sweep the reorg removed was rebroadcast after the close');
    env.devnet.mine(1);
    assert.ok(env.devnet.getTxStatus(sweep).confirmed);
  } finally {
    await env.done();
  }
});
