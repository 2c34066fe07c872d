// Client events (src/client/events.ts): a send and a read emit the outbox and inbox state
// changes, in order (delivered: test/app/app.test.ts, through the app), and the balance events that go with them; real devnet, relay and clients.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '../../src/client/index.ts';
import { acquaint, startPair, type Chain, type Pair } from './helpers.ts';

let pair: Pair;
let chain: Chain;
let alice: Client;
let carol: Client;

before(async () => {
  pair = await startPair('satpost-events-');
  ({ chain, alice, carol } = pair);
});
after(() => pair?.close());

test('a sender-pays message: outbox sealed → deposited → funded, inbox new → read, balances', async () => {
  const walletEvents: string[] = [];
  alice.events.on('balance', (e) => walletEvents.push(e.cause));
  await acquaint(chain, alice, carol);
  await alice.sync();
  assert.deepEqual(walletEvents, ['wallet'], 'new coins in the wallet: a balance event');

  const outbox: string[] = [];
  const inbox: { state: string; fresh: boolean }[] = [];
  alice.events.on('outbox', (e) => outbox.push(e.state));
  carol.events.on('inbox', (e) => inbox.push({ state: e.state, fresh: e.fresh }));
  const sent = await alice.send('carol', { text: 'hello' }, { maxFee: 5_000, retentionDays: 0.1 });
  assert.deepEqual(outbox, ['sealed', 'deposited', 'funded']);
  assert.ok(walletEvents.includes('outbox'), 'funding a contract: a balance event');

  chain.devnet.mine(1);
  const { entries } = await carol.inbox();
  assert.equal(entries[0]!.id, sent.id);
  assert.deepEqual(inbox[0], { state: 'new', fresh: true });
  await carol.read(sent.id);
  assert.equal(inbox.at(-1)!.state, 'read');
});
