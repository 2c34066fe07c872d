// The WebSocket stream: many deposits in flight on one connection, live subscription by tag.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { DepositCodec, MAX_QUERY_TAGS, OfferCodec, QuoteCodec, ReceiptCodec, verifyReceipt } from '../../src/core/objects/index.ts';
import { OP } from '../../src/core/wire/stream.ts';
import { MAX_STREAM_TAGS } from '../../src/relay/ws.ts';
import { RelayStore } from '../../src/relay/store.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { openRelayDataKey } from '../../src/relay/wallet.ts';
import { pino } from 'pino';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { StreamClient, depositFor, getQuote, hexOf, newIdentity, offer, rnd, testRelay, type TestRelay } from './helpers.ts';

const ed = nodeEd25519();
const codeOf = (payload: Uint8Array) => (JSON.parse(Buffer.from(payload).toString()) as { error: { code: string } }).error.code;

describe('relay stream (/v1/stream)', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  let s: StreamClient;
  before(async () => {
    relay = await testRelay({ streamMaxInFlight: 64 });
    s = await StreamClient.open(relay.url);
  });
  after(async () => {
    await s.close();
    await relay.close();
  });

  it('quotes and deposits many messages in flight, each acknowledged with its own receipt after commit', async () => {
    const carol = newIdentity();
    const quotes = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const r = await s.request(OP.quote, OfferCodec.encode(offer(carol.mailbox, 1024)));
        assert.equal(r.status, 0);
        return QuoteCodec.decode(r.payload);
      }),
    );
    const batchesBefore = relay.store.writer.stats.batches;
    const deposits = quotes.map((q) => depositFor(q));
    const answers = await Promise.all(deposits.map((d) => s.request(OP.deposit, DepositCodec.encode(d))));
    assert.ok(answers.every((a) => a.status === 0));
    for (const [i, a] of answers.entries()) {
      const r = ReceiptCodec.decode(a.payload);
      assert.ok(verifyReceipt(r, ed));
      assert.deepEqual(r.hk, quotes[i]!.hk, 'answers match their requests');
      assert.ok(relay.store.message(r.messageId), 'acknowledged means stored');
    }
    assert.equal(relay.store.mailboxUsage(carol.mailbox).count, 50);
    assert.ok(relay.store.writer.stats.batches - batchesBefore < 50, 'deposits share group commits');
  });

  it('answers refusals per request without closing the stream', async () => {
    const q = await getQuote(relay.url, offer(newIdentity().mailbox, 10));
    const [bad, unknown, op, ok] = await Promise.all([
      s.request(OP.deposit, rnd(3)),
      s.request(OP.deposit, DepositCodec.encode(depositFor({ ...q, quoteId: rnd(16) }))),
      s.request(9, rnd(1)),
      s.request(OP.deposit, DepositCodec.encode(depositFor(q))),
    ]);
    assert.deepEqual([bad.status, codeOf(bad.payload)], [1, 'BAD_ENCODING']);
    assert.deepEqual([unknown.status, codeOf(unknown.payload)], [1, 'QUOTE_UNKNOWN']);
    assert.deepEqual([op.status, codeOf(op.payload)], [1, 'BAD_REQUEST']);
    assert.equal(ok.status, 0);
  });

  it('pushes the id and tag of each new message to the subscribers of that tag only', async () => {
    const carol = newIdentity();
    const carolNext = newIdentity();
    const dave = newIdentity();
    const sub = await StreamClient.open(relay.url);
    try {
      for (const bad of [new Uint8Array(0), rnd(31), rnd(65)]) {
        const refused = await sub.request(OP.subscribe, bad);
        assert.deepEqual([refused.status, codeOf(refused.payload)], [1, 'BAD_REQUEST'], `${bad.length} bytes`);
      }
      // Two of Carol's tags in one request (request id 4).
      const r = await sub.request(OP.subscribe, Buffer.concat([carol.mailbox, carolNext.mailbox]));
      assert.equal(r.status, 0);
      assert.equal(r.payload.length, 0);
      const other = await getQuote(relay.url, offer(dave.mailbox, 10));
      await s.request(OP.deposit, DepositCodec.encode(depositFor(other)));
      const receipts = [];
      for (const who of [carol, carolNext]) {
        const q = await getQuote(relay.url, offer(who.mailbox, 10));
        const ack = await s.request(OP.deposit, DepositCodec.encode(depositFor(q)));
        receipts.push(ReceiptCodec.decode(ack.payload));
      }
      for (const [i, who] of [carol, carolNext].entries()) {
        const ev = await sub.nextEvent();
        assert.equal(ev.payload.length, 64);
        assert.equal(hexOf(ev.payload.subarray(0, 32)), hexOf(receipts[i]!.messageId));
        assert.equal(hexOf(ev.payload.subarray(32)), hexOf(who.mailbox), 'the event names the tag');
        assert.equal(ev.id, 4, 'events carry the subscribe request id');
      }
      assert.equal(sub.events.length, 0, 'no event for another tag');
    } finally {
      await sub.close();
    }
  });

  it(`follows at most MAX_STREAM_TAGS (${MAX_STREAM_TAGS}) tags per connection`, async () => {
    const sub = await StreamClient.open(relay.url);
    try {
      const tags = (n: number) => Buffer.concat(Array.from({ length: n }, () => rnd(32)));
      // Tags come MAX_QUERY_TAGS a request at most.
      const tooMany = await sub.request(OP.subscribe, tags(MAX_QUERY_TAGS + 1));
      assert.deepEqual([tooMany.status, codeOf(tooMany.payload)], [1, 'BAD_REQUEST']);
      const first = tags(MAX_QUERY_TAGS);
      for (let i = 0; i < MAX_STREAM_TAGS / MAX_QUERY_TAGS; i++) {
        assert.equal((await sub.request(OP.subscribe, i === 0 ? first : tags(MAX_QUERY_TAGS))).status, 0);
      }
      // Tags it already follows cost nothing; one more does not fit.
      assert.equal((await sub.request(OP.subscribe, first.subarray(0, 64))).status, 0);
      const over = await sub.request(OP.subscribe, tags(1));
      assert.deepEqual([over.status, codeOf(over.payload)], [1, 'BAD_REQUEST']);
    } finally {
      await sub.close();
    }
  });

  it('refuses requests beyond the in-flight limit with STREAM_BUSY', async () => {
    const carol = newIdentity();
    const answers = await Promise.all(Array.from({ length: 100 }, () => s.request(OP.quote, OfferCodec.encode(offer(carol.mailbox, 10)))));
    const busy = answers.filter((a) => a.status === 1);
    assert.ok(busy.length > 0);
    const codes = busy.map((a) => codeOf(a.payload));
    assert.ok(codes.every((c) => c === 'STREAM_BUSY'), `refused with ${[...new Set(codes)].join(', ')}: ${busy.map((a) => Buffer.from(a.payload).toString()).find((t) => !t.includes('STREAM_BUSY'))}`);
    assert.ok(answers.filter((a) => a.status === 0).length >= 64);
  });
});

describe('relay graceful stop', { timeout: 60_000 }, () => {
  it('answers accepted stream requests before closing, and every acknowledged deposit is stored', async () => {
    const relay = await testRelay({ streamMaxInFlight: 1000 });
    const carol = newIdentity();
    const quotes = await Promise.all(Array.from({ length: 40 }, () => getQuote(relay.url, offer(carol.mailbox, 256))));
    const s = await StreamClient.open(relay.url);
    const closed = new Promise<void>((resolve) => s.ws.once('close', () => resolve()));
    const got: { status: number; payload: Uint8Array }[] = [];
    const answers = quotes.map((q) => s.request(OP.deposit, DepositCodec.encode(depositFor(q))).then((a) => void got.push(a)));
    // Stop as soon as the first acknowledgement arrives: the rest are in flight or unread.
    await Promise.race(answers);
    await relay.stop();
    await closed;
    const acked = got.filter((a) => a.status === 0);
    assert.ok(acked.length >= 1);
    for (const a of got.filter((x) => x.status !== 0)) assert.equal(codeOf(a.payload), 'SHUTTING_DOWN');
    const key = openRelayDataKey(finish({ ...DEFAULTS, dataDir: relay.dir }), { log: pino({ level: 'silent' }) }).key;
    const store = new RelayStore({ path: join(relay.dir, 'relay.sqlite'), synchronous: 'FULL', batchMax: 10, key });
    try {
      for (const a of acked) assert.ok(store.message(ReceiptCodec.decode(a.payload).messageId), 'acknowledged is stored');
    } finally {
      await store.close();
      relay.devnet.close();
      rmSync(relay.dir, { recursive: true, force: true });
    }
  });
});
