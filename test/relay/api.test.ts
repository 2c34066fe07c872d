// The relay's HTTP API against a real relay (127.0.0.1:0, real SQLite, real devnet tip).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openBlob } from '../../src/core/blob.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { messageIdOf, verifyQuote, verifyReceipt } from '../../src/core/objects/index.ts';
import { StoredMessageCodec } from '../../src/core/objects/stored-message.ts';
import {
  OCTET, deposit, depositFor, errorOf, fetchTagged, getQuote, hexOf, listTags, newIdentity, offer, postDeposit, postQuote, rnd, testRelay,
  type TestRelay,
} from './helpers.ts';

const ed = nodeEd25519();
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

describe('relay HTTP API', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay({ mailboxMaxMessages: 3, mailboxUnpaidMaxMessages: 3, maxMessageBytes: 100_000, maxRetentionSecs: 7200 });
  });
  after(() => relay.close());

  it('serves the information document', async () => {
    const res = await fetch(`${relay.url}/.well-known/satpost`);
    assert.equal(res.status, 200);
    const info = (await res.json()) as Record<string, unknown> & { limits: Record<string, number>; price: Record<string, number> };
    assert.equal(info.relayId, hexOf(relay.service.relayId));
    assert.equal(info.url, relay.url);
    assert.equal(info.network, 'regtest');
    assert.deepEqual(info.acceptedModes, ['recipient-pays', 'sender-pays']);
    assert.deepEqual(info.price, { baseSats: 500, perBlockSats: 32, perDaySats: 10 });
    assert.equal(info.limits.maxMessageBytes, 100_000);
    assert.equal(info.limits.maxRetentionSecs, 7200);
    assert.equal(info.confirmations, 1);
    assert.equal(info.lockBlocks, 144);
  });

  it('quotes an acceptable offer with a signed quote bound to the offer and the chain tip', async () => {
    const carol = newIdentity();
    const o = offer(carol.mailbox, 3000);
    const q = await getQuote(relay.url, o);
    assert.ok(verifyQuote(q, ed));
    assert.deepEqual(q.offerId, o.offerId);
    assert.deepEqual(q.tag, carol.mailbox);
    // One 16 KiB block of size class (a text), one day: the price is flat per class.
    assert.equal(q.amount, 500 + 32 * 1 + 10 * 1);
    assert.equal((await getQuote(relay.url, offer(carol.mailbox, 16 * 1024))).amount, q.amount);
    assert.equal((await getQuote(relay.url, offer(carol.mailbox, 32 * 1024))).amount, 500 + 32 * 2 + 10 * 1);
    assert.equal(q.locktime, relay.devnet.tip().height + 144);
    assert.equal(q.expiresAt, relay.clock.t + 3600 * 1000);
    assert.equal(q.relayUrl, relay.url);
    assert.ok(q.contractPubkey[0] === 2 || q.contractPubkey[0] === 3);
    const q2 = await getQuote(relay.url, o);
    assert.notDeepEqual(q2.hk, q.hk, 'a fresh k per quote');
    assert.notDeepEqual(q2.contractPubkey, q.contractPubkey, 'a fresh contract key per quote');
  });

  it('refuses offers with typed codes', async () => {
    const m = newIdentity().mailbox;
    const cases: [Parameters<typeof offer>[2] & { size?: number }, number, string][] = [
      [{ maxFee: 541 }, 402, 'FEE_TOO_LOW'],
      [{ size: 100_001 }, 413, 'TOO_LARGE'],
      [{ retentionSecs: 7201 }, 422, 'RETENTION_TOO_LONG'],
    ];
    for (const [extra, status, code] of cases) {
      const e = await errorOf(await postQuote(relay.url, offer(m, extra.size ?? 1000, extra)));
      assert.equal(e.status, status, code);
      assert.equal(e.code, code);
    }
    const fee = await errorOf(await postQuote(relay.url, offer(m, 1000, { maxFee: 541 })));
    assert.equal(fee.body.price, 542);
    assert.match(String(fee.body.message), /expected at least 542 sats, got 541/);
    const garbage = await errorOf(await fetch(`${relay.url}/v1/quote`, { method: 'POST', headers: OCTET, body: Buffer.from([1, 1, 0]) }));
    assert.deepEqual([garbage.status, garbage.code, garbage.body.reason], [400, 'BAD_ENCODING', 'TRUNCATED']);
    const json = await errorOf(await fetch(`${relay.url}/v1/quote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
    assert.deepEqual([json.status, json.code], [415, 'BAD_CONTENT_TYPE']);
    const none = await errorOf(await fetch(`${relay.url}/v1/nothing`));
    assert.deepEqual([none.status, none.code], [404, 'NOT_FOUND']);
  });

  it('stores a recipient-pays deposit and returns a receipt that verifies and binds the blob', async () => {
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 2048));
    const d = depositFor(q);
    const receipt = await deposit(relay.url, d);
    assert.ok(verifyReceipt(receipt, ed));
    assert.deepEqual(receipt.relayId, relay.service.relayId);
    assert.deepEqual(receipt.messageId, messageIdOf(q.hk));
    assert.deepEqual(receipt.hk, q.hk);
    assert.deepEqual(receipt.hc, sha(d.body));
    assert.deepEqual(receipt.tag, carol.mailbox);
    assert.equal(receipt.expiresAt, q.expiresAt);
    const row = relay.store.message(receipt.messageId)!;
    assert.deepEqual(row.hblob, sha(row.blob));
    assert.deepEqual(receipt.hblob, row.hblob);
    // The blob is c sealed with the quote's k (which only the store knows).
    const k = relay.store.getQuote(q.quoteId)!.k;
    assert.deepEqual(sha(k), q.hk);
    assert.deepEqual(openBlob(k, row.blob), d.body);
  });

  it('is idempotent: the same deposit twice stores one message and returns the same receipt', async () => {
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 500));
    const d = depositFor(q);
    const [a, b] = await Promise.all([postDeposit(relay.url, d), postDeposit(relay.url, d)]);
    const c = await postDeposit(relay.url, d);
    const bytes = await Promise.all([a, b, c].map(async (r) => Buffer.from(await r.arrayBuffer()).toString('hex')));
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
    assert.equal(new Set(bytes).size, 1);
    assert.equal(c.headers.get('satpost-duplicate'), '1');
    assert.equal(relay.store.mailboxUsage(carol.mailbox).count, 1);
    // A different deposit under the same quote is not a repeat.
    const other = await errorOf(await postDeposit(relay.url, { ...d, sealedHeader: rnd(200) }));
    assert.deepEqual([other.status, other.code], [409, 'QUOTE_USED']);
  });

  it('refuses bad deposits with typed codes', async () => {
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 100));
    const check = async (d: Parameters<typeof postDeposit>[1], status: number, code: string) => {
      const e = await errorOf(await postDeposit(relay.url, d));
      assert.deepEqual([e.status, e.code], [status, code]);
    };
    await check(depositFor({ ...q, quoteId: rnd(16) }), 404, 'QUOTE_UNKNOWN');
    await check(depositFor(q, rnd(100), { tag: newIdentity().mailbox }), 422, 'MAILBOX_MISMATCH');
    await check(depositFor(q, rnd(99)), 422, 'SIZE_MISMATCH');
    await check(depositFor(q, rnd(100), { hr: rnd(32) }), 400, 'BAD_DEPOSIT');
    await check(depositFor(q, rnd(100), { payerPubkey: Uint8Array.of(2, ...rnd(32)) }), 400, 'BAD_DEPOSIT');
    await check(depositFor(q, rnd(100), { funding: { txid: 'ab'.repeat(32), vout: 0 } }), 422, 'FUNDING_UNEXPECTED');
    const late = await getQuote(relay.url, offer(carol.mailbox, 100));
    relay.clock.t += 601_000;
    try {
      await check(depositFor(late), 410, 'QUOTE_EXPIRED');
    } finally {
      relay.clock.t -= 601_000;
    }
    assert.equal(relay.store.mailboxUsage(carol.mailbox).count, 0);
  });

  it('enforces the unpaid mailbox allowance at quote and at deposit time', async () => {
    const carol = newIdentity();
    const quotes = [];
    for (let i = 0; i < 4; i++) quotes.push(await getQuote(relay.url, offer(carol.mailbox, 10)));
    for (const q of quotes.slice(0, 3)) await deposit(relay.url, depositFor(q));
    const e = await errorOf(await postDeposit(relay.url, depositFor(quotes[3]!)));
    assert.deepEqual([e.status, e.code], [507, 'UNPAID_QUOTA_FULL']);
    const q = await errorOf(await postQuote(relay.url, offer(carol.mailbox, 10)));
    assert.equal(q.code, 'UNPAID_QUOTA_FULL');
  });

  it('lists by tag and fetches only with the secret of the tag', async () => {
    const carol = newIdentity();
    const mallory = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 700));
    const d = depositFor(q);
    const receipt = await deposit(relay.url, d);

    const res = await listTags(relay.url, [carol.mailbox]);
    assert.equal(res.status, 200);
    const { messages } = (await res.json()) as { messages: { id: string; tag: string; size: number; mode: string; state: string }[] };
    assert.deepEqual(messages.map((m) => [m.id, m.tag, m.size, m.mode, m.state]), [[hexOf(receipt.messageId), hexOf(carol.mailbox), 700, 'recipient-pays', 'stored']]);
    // Listing the same tags again is no replay: a listing needs no login.
    assert.equal((await listTags(relay.url, [carol.mailbox])).status, 200);
    // Mallory's tag holds nothing; with Carol's among others, only Carol's message shows.
    assert.deepEqual(((await (await listTags(relay.url, [mallory.mailbox])).json()) as { messages: unknown[] }).messages, []);
    const mixed = (await (await listTags(relay.url, [rnd(32), mallory.mailbox, carol.mailbox])).json()) as { messages: { id: string }[] };
    assert.deepEqual(mixed.messages.map((m) => m.id), [hexOf(receipt.messageId)]);

    const got = await fetchTagged(relay.url, carol.secret, receipt.messageId);
    assert.equal(got.status, 200);
    const stored = StoredMessageCodec.decode(new Uint8Array(await got.arrayBuffer()));
    assert.deepEqual(stored.receipt, receipt);
    assert.deepEqual(stored.quote, q);
    assert.deepEqual(stored.sealedHeader, d.sealedHeader);
    assert.deepEqual(sha(stored.blob), receipt.hblob);
    // A second fetch with the secret works too: the secret is no one-time login.
    assert.equal((await fetchTagged(relay.url, carol.secret, receipt.messageId)).status, 200);
    // Mallory, with her own secret, cannot fetch Carol's message by id; nor with the tag itself as the secret.
    for (const secret of [mallory.secret, carol.mailbox]) {
      const e = await errorOf(await fetchTagged(relay.url, secret, receipt.messageId));
      assert.deepEqual([e.status, e.code], [404, 'MESSAGE_UNKNOWN']);
    }
    assert.equal((await errorOf(await fetchTagged(relay.url, carol.secret, 'xyz'))).code, 'BAD_REQUEST');
    const shortSecret = await fetch(`${relay.url}/v1/tags/message?id=${hexOf(receipt.messageId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'ab' }) });
    assert.deepEqual(await errorOf(shortSecret).then((e) => [e.status, e.code]), [400, 'BAD_REQUEST']);
  });

  it('unlock: a recipient-pays message without payment awaits it; bad requests are refused', async () => {
    const carol = newIdentity();
    const r = await deposit(relay.url, depositFor(await getQuote(relay.url, offer(carol.mailbox, 10))));
    const post = (body: unknown) => fetch(`${relay.url}/v1/unlock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const waiting = await post({ id: hexOf(r.messageId) });
    assert.equal(waiting.status, 202);
    assert.deepEqual(await waiting.json(), { state: 'awaiting-payment' });
    assert.deepEqual(await errorOf(await post({ id: hexOf(r.messageId), r: hexOf(rnd(32)) })).then((e) => [e.status, e.code]), [400, 'BAD_REQUEST']);
    assert.equal((await errorOf(await post({ id: hexOf(rnd(32)) }))).code, 'MESSAGE_UNKNOWN');
    assert.equal((await errorOf(await post({ id: 'nothex' }))).code, 'BAD_REQUEST');
    assert.equal((await errorOf(await post({ id: hexOf(r.messageId), extra: 1 }))).code, 'BAD_REQUEST');
  });

  it('deletes a message and its key when its retention ends', async () => {
    const carol = newIdentity();
    const q = await getQuote(relay.url, offer(carol.mailbox, 10, { retentionSecs: 60 }));
    const r = await deposit(relay.url, depositFor(q));
    assert.ok(relay.store.message(r.messageId));
    relay.clock.t += 60_000;
    try {
      const e = await errorOf(await fetchTagged(relay.url, carol.secret, r.messageId));
      assert.equal(e.code, 'MESSAGE_UNKNOWN', 'an expired message is never served, even before the sweep');
      assert.ok((await relay.service.sweep()) >= 1);
      assert.equal(relay.store.message(r.messageId), undefined);
      assert.equal(relay.store.getQuote(q.quoteId), undefined, 'k is gone with the message');
      assert.equal(relay.store.mailboxUsage(carol.mailbox).count, 0);
    } finally {
      relay.clock.t -= 60_000;
    }
  });

  it('exposes metrics', async () => {
    const res = await fetch(`${relay.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('satpost_relay_messages_stored'), relay.store.totals().messages);
    assert.ok(value('satpost_relay_messages_stored') > 0);
    assert.ok(value('satpost_relay_bytes_stored') > 0);
    assert.match(text, /satpost_relay_deposits_total\{result="stored"\} \d+/);
    assert.match(text, /satpost_relay_deposits_total\{result="duplicate"\} \d+/);
    assert.match(text, /satpost_relay_deposits_total\{result="SIZE_MISMATCH"\} 1/);
    assert.match(text, /satpost_relay_quotes_total\{result="FEE_TOO_LOW"\} \d+/);
    assert.match(text, /satpost_relay_claims_pending 0/);
    assert.match(text, /satpost_relay_sats_earned 0/);
  });
});
