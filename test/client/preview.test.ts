// A send's price before it is sent (src/client/preview.ts): the quotes, the relay chosen, chain
// or channel, price + funding fee; nothing paid, saved or deposited. Real devnet, relay, clients.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '../../src/client/index.ts';
import { EnvelopeError } from '../../src/envelope/errors.ts';
import type { RelayHandle } from '../../src/relay/daemon.ts';
import { holdings, rejectsWith, startPair, type Chain, type Pair } from './helpers.ts';

/** The test relay keeps messages for hours, not the default half day. */
const SHORT = { retentionDays: 0.1 };

let pair: Pair;
let chain: Chain;
let relay: RelayHandle;
let alice: Client;
let carol: Client;

before(async () => {
  pair = await startPair('satpost-preview-');
  ({ chain, relay, alice, carol } = pair);
  await carol.publish();
  await alice.publish();
  await alice.addContact('carol', carol.address());
  await carol.addContact('alice', alice.address());
});
after(() => pair?.close());

test('an empty wallet: a sender-pays preview says INSUFFICIENT_FUNDS; recipient-pays needs no coins and costs the sender nothing', async () => {
  await assert.rejects(alice.previewSend('carol', { text: 'hello' }, SHORT), rejectsWith('INSUFFICIENT_FUNDS'));
  const p = await alice.previewSend('carol', { text: 'hello' }, { ...SHORT, mode: 'recipient-pays' });
  assert.equal(p.mode, 'recipient-pays');
  assert.equal(p.relay, relay.url.replace(/\/+$/, ''));
  assert.equal(p.via, undefined);
  assert.equal(p.fee, 0);
  assert.equal(p.total, p.price);
  assert.ok(p.price > 0);
});

test('sender-pays on chain: the quotes, the relay, the funding fee; nothing saved, paid or deposited; the send then pays that price', async () => {
  chain.fund(alice.walletAddress(), 100_000);
  const before = await holdings(alice);
  const p = await alice.previewSend('carol', { text: 'the price first' }, { ...SHORT, maxFee: 5_000 });
  assert.equal(p.to, 'carol');
  assert.equal(p.quotedBy, 'offer');
  assert.equal(p.quotes.length, 1);
  assert.deepEqual({ relay: p.quotes[0]!.relay, price: p.quotes[0]!.price, problem: p.quotes[0]!.problem }, { relay: p.relay, price: p.price, problem: undefined });
  assert.equal(p.relay, relay.url.replace(/\/+$/, ''));
  assert.equal(p.via, 'chain');
  assert.ok(p.fee > 0, `a funding fee: ${p.fee}`);
  assert.equal(p.total, p.price + p.fee);
  assert.equal(p.size, 16 * 1024);
  // Nothing of it stayed: no draft, no outbox row, no coins moved, no message at the relay for Carol.
  assert.deepEqual(alice.unfinishedSends(), []);
  assert.deepEqual(alice.outbox(), []);
  assert.equal(await holdings(alice), before);
  assert.equal((await carol.inbox()).entries.length, 0);

  const sent = await alice.send('carol', { text: 'the price first' }, { ...SHORT, maxFee: 5_000 });
  assert.equal(sent.relay, p.relay);
  assert.equal(sent.price, p.price);
  assert.equal(sent.via, 'chain');
});

test('a limit below every price: NO_ACCEPTABLE_QUOTE with the cheapest price seen', async () => {
  const p = await alice.previewSend('carol', { text: 'x' }, SHORT);
  await assert.rejects(alice.previewSend('carol', { text: 'x' }, { ...SHORT, maxFee: p.price - 1 }), (err: unknown) => {
    rejectsWith('NO_ACCEPTABLE_QUOTE')(err);
    assert.equal((err as { details?: { cheapest?: number } }).details?.cheapest, p.price);
    return true;
  });
});

test('bad input: an unknown contact, a message too large for any size class', async () => {
  await assert.rejects(alice.previewSend('dave', { text: 'x' }), rejectsWith('UNKNOWN_CONTACT'));
  const huge = { file: { name: 'big.bin', mediaType: 'application/octet-stream', data: new Uint8Array(4 * 1024 * 1024 - 1000) } };
  await assert.rejects(alice.previewSend('carol', huge, SHORT), (err: unknown) => err instanceof EnvelopeError && err.code === 'BAD_INPUT');
});

test('an open channel with the relay: quoted by it alone within its standing terms, paid over the channel, no network fee', async () => {
  const opened = await alice.openChannel(relay.url, { sats: 50_000, blocks: 200 });
  chain.devnet.mine(1);
  await alice.syncContracts();
  await relay.channels!.watcher.poll();
  assert.equal((await alice.channels())[0]!.status, 'open');
  const p = await alice.previewSend('carol', { text: 'over the channel' }, { ...SHORT, maxFee: 5_000 });
  assert.deepEqual({ quotedBy: p.quotedBy, via: p.via, channelId: p.channelId, fee: p.fee, total: p.total }, { quotedBy: 'channel', via: 'channel', channelId: opened.id, fee: 0, total: p.price });
  assert.equal(p.quotes.length, 1);
  // The channel declined: the network's offer and a contract on chain, with its fee.
  const onChain = await alice.previewSend('carol', { text: 'over the channel' }, { ...SHORT, maxFee: 5_000, channel: false });
  assert.deepEqual({ quotedBy: onChain.quotedBy, via: onChain.via }, { quotedBy: 'offer', via: 'chain' });
  assert.ok(onChain.fee > 0);
  assert.equal((await alice.channels())[0]!.inFlight, 0, 'a preview adds no HTLC');
  const sent = await alice.send('carol', { text: 'over the channel' }, { ...SHORT, maxFee: 5_000 });
  assert.deepEqual({ via: sent.via, channelId: sent.channelId, price: sent.price }, { via: 'channel', channelId: opened.id, price: p.price });
});

test('the relay down: RELAY_UNREACHABLE, nothing saved', async () => {
  await relay.stop();
  await assert.rejects(alice.previewSend('carol', { text: 'while down' }, SHORT), rejectsWith('RELAY_UNREACHABLE'));
  assert.deepEqual(alice.unfinishedSends(), []);
});
