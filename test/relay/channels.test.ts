// Payment channels through the relay API: a real relay on 127.0.0.1:0 over an in-process devnet,
// a real payer (wallet + channel book) opening a channel, paying messages in both modes with
// HTLCs over HTTP and the stream, refusals typed and leaving the state as it was, cooperative close.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import {
  CHANNEL_AUTH_HEADER, ChannelAuthCodec, NO_CHANNEL, decodeChannelMessage, signChannelAuth, type ChannelAuth, type ChannelAuthOp, type SettleHtlc,
} from '../../src/channels/index.ts';
import { ClientChannels, memoryChannelRelays } from '../../src/client/channels.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { encodeChannelMessage } from '../../src/channels/index.ts';
import { ChannelBook } from '../../src/watch/channel-book.ts';
import { PayerChannels } from '../../src/watch/channel-payer.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';
import { OP } from '../../src/core/wire/stream.ts';
import { messageIdOf } from '../../src/core/objects/index.ts';
import { LIGHT_SCRYPT, OCTET, StreamClient, deposit, depositFor, errorOf, getQuote, newIdentity, offer, rnd, testRelay, type TestRelay } from './helpers.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const JSON_HDR = { 'content-type': 'application/json' };

describe('relay channel API', { timeout: 120_000 }, () => {
  let relay: TestRelay;
  let dir: string;
  let wallet: Wallet;
  let payer: PayerChannels;
  let close: () => void;
  let relayId: Uint8Array;
  before(async () => {
    relay = await testRelay({ maxRetentionSecs: 3600, confirmations: 2, p2p: false });
    dir = mkdtempSync(join(tmpdir(), 'satpost-relay-ch-'));
    const db = openPartyDb(join(dir, 'alice.sqlite'));
    const backend = new DevnetBackend(relay.devnet);
    wallet = Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend, scrypt: LIGHT_SCRYPT });
    relay.devnet.faucet(wallet.newReceiveAddress().script, 1_000_000);
    relay.devnet.mine(1);
    await wallet.sync();
    payer = new PayerChannels({ book: new ChannelBook(db), wallet, backend, feeRate: 2 });
    close = () => { wallet.close(); db.close(); };
    relayId = hex.decode(((await (await fetch(`${relay.url}/.well-known/satpost`)).json()) as { relayId: string }).relayId);
  });
  after(async () => {
    close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const authHeader = (a: ChannelAuth) => ({ [CHANNEL_AUTH_HEADER]: hex.encode(ChannelAuthCodec.encode(a)) });
  const fresh = () => ({ timestamp: Date.now(), nonce: rnd(16) });
  /** The payer's ChannelAuth for one request on channel `channelId`. */
  const payerAuth = (op: 'view' | 'close' | 'terms', channelId: string) => authHeader(payer.authorize({ op, channelId }, relayId, fresh()));
  const post = (path: string, body: unknown, octet = false, headers: Record<string, string> = {}) =>
    fetch(relay.url + path, { method: 'POST', headers: { ...(octet ? OCTET : JSON_HDR), ...headers }, body: octet ? Buffer.from(body as Uint8Array) : JSON.stringify(body) });
  const update = (bytes: Uint8Array) => post('/v1/channel/update', bytes, true);
  const relayView = async (id: string) => (await (await fetch(`${relay.url}/v1/channel/${id}`, { headers: payerAuth('view', id) })).json()) as Record<string, number | string>;
  /** A fresh payer key and the relay key it asked for. */
  const newKey = async () => {
    const payerKey = payer.newPayerKey();
    const res = await post('/v1/channel/key', {}, false, authHeader(payer.authorize({ op: 'key', payerKeyIndex: payerKey.keyIndex }, relayId, fresh())));
    return { payerKey, ...((await res.json()) as { keyIndex: number; relayPubkey: string }) };
  };

  it('open, FUNDING_UNCONFIRMED before the confirmations, messages in both modes over HTTP and the stream, refusals, cooperative close', async () => {
    const info = (await (await fetch(`${relay.url}/.well-known/satpost`)).json()) as { channels: Record<string, number> };
    assert.equal(info.channels.confirmations, 2);
    assert.equal(info.channels.minCapacitySats, 10_000);

    const key = await newKey();
    const tip = relay.devnet.tip().height;
    const capacity = 300_000;
    const { channel, message } = await payer.open({
      relayPubkey: hex.decode(key.relayPubkey), capacity, channelLocktime: tip + 300, claimMargin: 12, feeRate: 2, payerKeyIndex: key.payerKey.keyIndex,
    });
    const openHex = hex.encode(encodeChannelMessage({ type: 'open', message }));
    const funding = hex.encode(channel.fundingRaw!);

    // Refusals before anything is stored.
    const unknownKey = await errorOf(await post('/v1/channel/open', { open: openHex, funding, keyIndex: key.keyIndex + 1 }));
    assert.equal(unknownKey.code, 'KEY_UNKNOWN');
    const small = hex.encode(encodeChannelMessage({ type: 'open', message: { ...message, capacity: 5_000 } }));
    assert.equal((await errorOf(await post('/v1/channel/open', { open: small, funding, keyIndex: key.keyIndex }))).code, 'CHANNEL_TERMS');
    const wrongFunding = hex.encode(encodeChannelMessage({ type: 'open', message: { ...message, capacity: capacity - 1 } }));
    assert.equal((await errorOf(await post('/v1/channel/open', { open: wrongFunding, funding, keyIndex: key.keyIndex }))).code, 'FUNDING_MISMATCH');
    assert.equal((await errorOf(await post('/v1/channel/open', { open: openHex, funding: 'zz', keyIndex: key.keyIndex }))).code, 'BAD_REQUEST');

    const opened = await (await post('/v1/channel/open', { open: openHex, funding, keyIndex: key.keyIndex })).json() as Record<string, unknown>;
    assert.equal(opened.status, 'opening');
    assert.equal(opened.id, channel.id);
    assert.equal((await errorOf(await post('/v1/channel/open', { open: openHex, funding, keyIndex: key.keyIndex }))).code, 'KEY_UNKNOWN', 'a key opens one channel');

    // One block: the payer's side is open, the relay wants 2 confirmations.
    relay.devnet.mine(1);
    await payer.pass(await new DevnetBackend(relay.devnet).getTip());
    await relay.channels!.watcher.poll();
    assert.equal(payer.book.get(channel.id).status, 'open');
    const me = newIdentity();
    const q1 = await getQuote(relay.url, offer(me.mailbox, 100, { mode: 'sender-pays', retentionSecs: 3600 }));
    const r1 = rnd(32);
    const add1 = await payer.add(channel.id, { mode: 'sender-pays', hk: q1.hk, hr: sha(r1), amount: q1.amount, locktime: q1.locktime });
    const add1Bytes = encodeChannelMessage({ type: 'add', message: add1 });
    assert.equal((await errorOf(await update(add1Bytes))).code, 'FUNDING_UNCONFIRMED');
    assert.equal((await relayView(channel.id)).n, 0, 'a refused add changes nothing');

    relay.devnet.mine(1);
    // No watcher pass asked for: the payer's view request checks the funding against the chain now.
    assert.equal((await relayView(channel.id)).status, 'open');
    // The same add again (the payer's resend) is taken now.
    const taken = await (await update(add1Bytes)).json() as { channel: Record<string, number> };
    assert.equal(taken.channel.n, 1);
    assert.equal(taken.channel.inFlight, 1);

    // Bad updates: garbage, a forged signature, a stale n, a relay message: typed, state unchanged.
    assert.equal((await errorOf(await update(rnd(40)))).code, 'BAD_ENCODING');
    const next = { ...add1.htlc, id: 1, hk: rnd(32), hr: rnd(32) };
    const forged = encodeChannelMessage({ type: 'add', message: { ...add1, n: 2, payerBalance: add1.payerBalance - next.amount, htlc: next, payerSig: rnd(64) } });
    assert.equal((await errorOf(await update(forged))).code, 'BAD_SIGNATURE');
    const again = encodeChannelMessage({ type: 'add', message: { ...add1, n: 2, payerBalance: add1.payerBalance - next.amount, payerSig: rnd(64) } });
    assert.equal((await errorOf(await update(again))).code, 'DUPLICATE_HTLC');
    const other = encodeChannelMessage({ type: 'add', message: { ...add1, payerSig: rnd(64) } });
    assert.equal((await errorOf(await update(other))).code, 'STATE_NUMBER_MISMATCH');
    const asRelay = encodeChannelMessage({ type: 'settle', message: { channelId: channel.id, htlcId: 0, k: rnd(32) } });
    assert.equal((await errorOf(await update(asRelay))).code, 'BAD_REQUEST');
    assert.equal((await errorOf(await fetch(relay.url + '/v1/channel/update', { method: 'POST', headers: JSON_HDR, body: '{}' }))).code, 'BAD_CONTENT_TYPE');
    assert.equal((await relayView(channel.id)).n, 1);

    // Sender-pays: the deposit carries no funding; Carol's r unlocks k at once, the settle reaches Alice on the stream.
    const stream = await StreamClient.open(relay.url);
    try {
      const watch = await stream.request(OP.channelWatch, hex.decode(channel.id));
      assert.equal(watch.status, 0);
      await deposit(relay.url, depositFor(q1, rnd(100), { hr: sha(r1), payerPubkey: channel.state.payerPubkey }));
      const k1 = await (await post('/v1/unlock', { id: hex.encode(messageIdOf(q1.hk)), r: hex.encode(r1) })).json() as { state: string; k: string };
      assert.equal(k1.state, 'unlocked');
      assert.deepEqual(sha(hex.decode(k1.k)), q1.hk);
      const ev = await stream.nextEvent();
      const settle = decodeChannelMessage(ev.payload);
      assert.equal(settle.type, 'settle');
      const pending = (await (await fetch(`${relay.url}/v1/channel/${channel.id}/settles`)).json()) as { settles: string[] };
      assert.deepEqual(pending.settles, [hex.encode(ev.payload)]);
      const ack = await payer.onSettle(settle.message as SettleHtlc);
      const acked = await stream.request(OP.channelUpdate, encodeChannelMessage({ type: 'settle-ack', message: ack }));
      assert.equal(acked.status, 0);
      assert.equal((JSON.parse(Buffer.from(acked.payload).toString()) as { channel: { relayBalance: number } }).channel.relayBalance, q1.amount);
    } finally {
      await stream.close();
    }

    // Recipient-pays: the add's answer settles it.
    const q2 = await getQuote(relay.url, offer(me.mailbox, 100, { mode: 'recipient-pays', retentionSecs: 3600 }));
    await deposit(relay.url, depositFor(q2, rnd(100)));
    const add2 = await payer.add(channel.id, { mode: 'recipient-pays', hk: q2.hk, amount: q2.amount, locktime: q2.locktime });
    const ans2 = await (await update(encodeChannelMessage({ type: 'add', message: add2 }))).json() as { settle: string };
    const s2 = decodeChannelMessage(hex.decode(ans2.settle)).message as SettleHtlc;
    assert.deepEqual(sha(s2.k), q2.hk, 'k of the message');
    await update(encodeChannelMessage({ type: 'settle-ack', message: await payer.onSettle(s2) }));

    // Close: the relay asks, the payer signs, the relay completes and broadcasts.
    const req = (await (await post(`/v1/channel/${channel.id}/close`, {}, false, payerAuth('close', channel.id))).json()) as { closeRequest: string };
    const closeReq = decodeChannelMessage(hex.decode(req.closeRequest));
    assert.equal(closeReq.type, 'close-request');
    const signed = await payer.onCloseRequest(closeReq.message as never);
    const done = await (await update(encodeChannelMessage({ type: 'close-signed', message: signed }))).json() as { channel: Record<string, number | string> };
    assert.equal(done.channel.status, 'closing-cooperative');
    assert.equal(done.channel.relayBalance, q1.amount + q2.amount);
    relay.devnet.mine(1);
    await relay.channels!.watcher.poll();
    assert.equal((await relayView(channel.id)).status, 'closed-cooperative');
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    assert.match(metrics, /satpost_relay_channels_open 0/);
  });

  it("channel endpoints: an unauthenticated GET/POST and one signed by another key are refused; a replayed signed request is refused; the SDK's own calls still work", async () => {
    const stranger = wallet.contractKey(9_999);
    const strangerAuth = (op: ChannelAuthOp, channelId: string) =>
      authHeader(signChannelAuth({ op, channelId, ...fresh() }, relayId, { privkey: stranger.privkey32, pubkey: stranger.pubkey33 }));
    const view = (id: string, headers: Record<string, string> = {}) => fetch(`${relay.url}/v1/channel/${id}`, { headers });
    const closeReq = (id: string, headers: Record<string, string> = {}) => post(`/v1/channel/${id}/close`, {}, false, headers);

    // The SDK opens a channel: its key request, its view (resync) and, below, its close are signed.
    const sdk = new ClientChannels({ payer, relays: memoryChannelRelays(), tip: async () => relay.devnet.tip().height });
    const opened = await sdk.open(relay.url, { sats: 50_000, blocks: 300 });
    const id = opened.id;
    assert.equal(opened.relayTold, true);

    // Nothing without a ChannelAuth.
    const bare = await errorOf(await post('/v1/channel/key', {}));
    assert.deepEqual([bare.status, bare.code], [401, 'CHANNEL_AUTH_REQUIRED']);
    for (const res of [await view(id), await closeReq(id)]) {
      const e = await errorOf(res);
      assert.deepEqual([e.status, e.code], [401, 'CHANNEL_AUTH_REQUIRED']);
      assert.doesNotMatch(JSON.stringify(e.body), /status|capacity|relayBalance|opening|open/i, 'the refusal says nothing of the channel');
    }
    // Another key: refused exactly as for a channel that does not exist (nothing leaks, not even existence).
    const other = await errorOf(await view(id, strangerAuth('view', id)));
    const none = await errorOf(await view('ab'.repeat(32), strangerAuth('view', 'ab'.repeat(32))));
    assert.deepEqual([other.status, other.code], [403, 'CHANNEL_AUTH_REFUSED']);
    assert.deepEqual(other, none);
    assert.deepEqual(await errorOf(await closeReq(id, strangerAuth('close', id))), other);
    // The payer's own signature, but over another request: another op, another channel, another relay.
    assert.deepEqual(await errorOf(await view(id, payerAuth('close', id))), other);
    assert.deepEqual(await errorOf(await closeReq(id, payerAuth('view', id))), other);
    assert.deepEqual(await errorOf(await view(id, authHeader(payer.authorize({ op: 'view', channelId: id }, rnd(32), fresh())))), other);
    const stale = authHeader(payer.authorize({ op: 'view', channelId: id }, relayId, { timestamp: Date.now() - 3_600_000, nonce: rnd(16) }));
    assert.equal((await errorOf(await view(id, stale))).code, 'CHANNEL_AUTH_STALE');
    assert.equal((await errorOf(await view(id, { [CHANNEL_AUTH_HEADER]: 'zz' }))).code, 'CHANNEL_AUTH_REFUSED');

    // A signed request works once; the same bytes again are a replay.
    const once = payerAuth('view', id);
    const ok = await view(id, once);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { id: string }).id, id);
    assert.equal((await errorOf(await view(id, once))).code, 'CHANNEL_AUTH_REPLAYED');
    // Standing terms: only the payer's op-terms auth; a channel not open yet has none (BAD_STATE).
    const termsOf = (headers: Record<string, string>) => fetch(`${relay.url}/v1/channel/${id}/terms`, { headers });
    assert.deepEqual(await errorOf(await termsOf(strangerAuth('terms', id))), other);
    assert.deepEqual(await errorOf(await termsOf(payerAuth('view', id))), other);
    const notOpen = await errorOf(await termsOf(payerAuth('terms', id)));
    assert.deepEqual([notOpen.status, notOpen.code], [409, 'BAD_STATE']);
    const keyAuth = authHeader(payer.authorize({ op: 'key', payerKeyIndex: payer.newPayerKey().keyIndex }, relayId, fresh()));
    assert.equal((await post('/v1/channel/key', {}, false, keyAuth)).status, 200);
    assert.equal((await errorOf(await post('/v1/channel/key', {}, false, keyAuth))).code, 'CHANNEL_AUTH_REPLAYED');
    assert.equal((await errorOf(await post('/v1/channel/key', {}, false, strangerAuth('view', NO_CHANNEL)))).code, 'CHANNEL_AUTH_REFUSED', 'a view auth is no key auth');

    // A relay key serves only a channel of the payer key that asked for it.
    const k2 = await newKey();
    const sent = decodeChannelMessage(payer.book.messages(id, { direction: 'out', type: 'open' }).at(-1)!.bytes);
    assert.ok(sent.type === 'open');
    const wrongPayer = hex.encode(encodeChannelMessage({ type: 'open', message: { ...sent.message, relayPubkey: hex.decode(k2.relayPubkey) } }));
    assert.equal((await errorOf(await post('/v1/channel/open', { open: wrongPayer, funding: hex.encode(payer.book.get(id).fundingRaw!), keyIndex: k2.keyIndex }))).code, 'KEY_UNKNOWN');

    // The SDK's view and close still work: confirm the funding, then close cooperatively.
    relay.devnet.mine(2);
    await payer.pass(await new DevnetBackend(relay.devnet).getTip());
    await relay.channels!.watcher.poll();
    const closed = await sdk.close(id);
    assert.equal(closed.status, 'closing-cooperative');
    assert.equal((await relayView(id)).status, 'closing-cooperative');
  });
});
