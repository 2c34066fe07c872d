// Keyset paging of POST /v1/tags/list over a set of tags against a real relay (127.0.0.1:0,
// real SQLite): 1,005 messages, each under its own tag (tags are single-use), come back as
// 1,000 + 5 in (createdAt, id) order, smaller pages via `limit`, messages arriving between
// pages, and bad cursors refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatListCursor } from '../../src/core/wire/list-cursor.ts';
import { tagOfSecret } from '../../src/core/objects/index.ts';
import { depositFor, errorOf, hexOf, listTags, offer, rnd, testRelay, type TestRelay } from './helpers.ts';

interface Entry {
  id: string;
  tag: string;
  createdAt: number;
  size: number;
  state: string;
}
interface Page {
  messages: Entry[];
  next?: string;
}

const TOTAL = 1005;

describe('listing by tags with keyset paging', { timeout: 120_000 }, () => {
  let relay: TestRelay;
  /** Carol's tags: one per message stored in `before`, and a few more still unused. */
  const carolTags: Uint8Array[] = Array.from({ length: TOTAL + 3 }, () => tagOfSecret(rnd(32)));
  /** Every stored message of Carol's, in listing order (createdAt, then id bytes = hex order). */
  let expected: { id: string; createdAt: number }[] = [];
  /** The tag each of Carol's messages was stored under, by id. */
  const tagOf = new Map<string, string>();

  const page = async (query = '', tags = carolTags): Promise<Page> => {
    const res = await listTags(relay.url, tags, query);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Page;
  };
  /** Stores one message through the relay's own quote and deposit path, at the relay clock's time. */
  const store = async (tag: Uint8Array, size: number): Promise<{ id: string; createdAt: number }> => {
    const q = await relay.service.quote(offer(tag, size));
    const out = await relay.service.deposit(depositFor(q));
    tagOf.set(hexOf(out.receipt.messageId), hexOf(tag));
    return { id: hexOf(out.receipt.messageId), createdAt: relay.clock.t };
  };
  const byPosition = (a: { id: string; createdAt: number }, b: { id: string; createdAt: number }) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  before(async () => {
    relay = await testRelay({ mailboxUnpaidMaxMessages: 2000 });
    // Four messages share each millisecond, so the id must break ties for the order to be total.
    const start = relay.clock.t;
    for (let i = 0; i < TOTAL; i += 20) {
      const batch = [];
      for (let j = i; j < Math.min(TOTAL, i + 20); j++) {
        relay.clock.t = start + Math.floor(j / 4);
        batch.push(store(carolTags[j]!, 10));
      }
      expected.push(...(await Promise.all(batch)));
    }
    relay.clock.t = start + TOTAL;
    expected = expected.sort(byPosition);
    // Someone else's messages never show in Carol's pages.
    await store(tagOfSecret(rnd(32)), 10);
  });
  after(() => relay.close());

  it('lists 1,005 messages as pages of 1,000 and 5, in order, with no duplicate and no gap', async () => {
    const first = await page();
    assert.equal(first.messages.length, 1000);
    const last = first.messages[999]!;
    assert.equal(first.next, formatListCursor({ createdAt: last.createdAt, id: last.id }), 'next is the position of the last entry');
    const second = await page(`?after=${first.next}`);
    assert.equal(second.messages.length, 5);
    assert.equal(second.next, undefined, 'the last page says nothing follows');
    const all = [...first.messages, ...second.messages];
    assert.deepEqual(all.map((m) => ({ id: m.id, createdAt: m.createdAt })), expected);
    assert.equal(new Set(all.map((m) => m.id)).size, TOTAL);
    assert.ok(all.every((m) => m.size === 10 && m.state === 'stored'));
    assert.ok(all.every((m) => m.tag === tagOf.get(m.id)), 'each entry names the tag it was stored under');
    assert.equal(new Set(all.map((m) => m.tag)).size, TOTAL);
  });

  it('pages with a smaller limit and ends exactly at the last entry', async () => {
    const sizes: number[] = [];
    const ids: string[] = [];
    let query = '?limit=400';
    for (;;) {
      const p = await page(query);
      sizes.push(p.messages.length);
      ids.push(...p.messages.map((m) => m.id));
      if (p.next === undefined) break;
      query = `?limit=400&after=${p.next}`;
    }
    assert.deepEqual(sizes, [400, 400, 205]);
    assert.deepEqual(ids, expected.map((e) => e.id));
    // A page that ends on the very last entry has no `next`.
    const tail = await page(`?limit=5&after=${formatListCursor(expected[TOTAL - 6]!)}`);
    assert.deepEqual(tail.messages.map((m) => m.id), expected.slice(-5).map((e) => e.id));
    assert.equal(tail.next, undefined);
  });

  it('resumes strictly after a position even when no message holds it, and shows messages stored meanwhile', async () => {
    const mid = expected[500]!;
    // Same createdAt, an id below every real one: the resumed page starts at the first message of that millisecond.
    const p = await page(`?limit=10&after=${formatListCursor({ createdAt: mid.createdAt, id: '00'.repeat(32) })}`);
    const firstOfMs = expected.findIndex((e) => e.createdAt === mid.createdAt);
    assert.deepEqual(p.messages.map((m) => m.id), expected.slice(firstOfMs, firstOfMs + 10).map((e) => e.id));

    const first = await page();
    const added = await store(carolTags[TOTAL]!, 10);
    try {
      const second = await page(`?after=${first.next}`);
      assert.deepEqual(second.messages.map((m) => m.id), [...expected.slice(1000).map((e) => e.id), added.id], 'a message stored between pages is on the next one');
    } finally {
      expected.push(added);
    }
  });

  it('refuses a bad cursor, limit or parameter with BAD_REQUEST', async () => {
    const cursor = formatListCursor(expected[3]!);
    const bad = [
      '?after=', '?after=abc', `?after=${expected[3]!.createdAt}`, `?after=${expected[3]!.id}`, `?after=${cursor.toUpperCase()}`,
      `?after=0${cursor}`, `?after=-${cursor}`, `?after=12345678901234567.${'ab'.repeat(32)}`, `?after=1.${'ab'.repeat(31)}`,
      `?after=${cursor}&after=${cursor}`, '?limit=0', '?limit=1001', '?limit=x', '?limit=1.5', '?limit=', '?afterr=1', '?offset=1000',
    ];
    for (const q of bad) {
      const e = await errorOf(await listTags(relay.url, carolTags, q));
      assert.deepEqual([e.status, e.code], [400, 'BAD_REQUEST'], q);
    }
    const e = await errorOf(await listTags(relay.url, carolTags, '?limit=1001'));
    assert.match(String(e.body.message), /"limit" expected an integer 1\.\.1000, got "1001"/);
    // A good request lists from the right place.
    const res = await listTags(relay.url, carolTags, `?after=${cursor}&limit=2`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Page).messages.map((m) => m.id), expected.slice(4, 6).map((x) => x.id));
  });

  it('pages over a subset of the tags and ignores unknown and repeated tags', async () => {
    const some = carolTags.filter((_, i) => i % 3 === 0);
    const want = expected.filter((e) => some.some((t) => hexOf(t) === tagOf.get(e.id))).map((e) => e.id);
    const ids: string[] = [];
    let query = '?limit=100';
    for (;;) {
      const p = await page(query, [...some, ...some.slice(0, 5), tagOfSecret(rnd(32))]);
      ids.push(...p.messages.map((m) => m.id));
      if (p.next === undefined) break;
      query = `?limit=100&after=${p.next}`;
    }
    assert.deepEqual(ids, want);
  });

  it("a cursor is only a position: with Carol's cursor Mallory lists her own (empty) tags", async () => {
    const first = await page('?limit=1');
    const res = await listTags(relay.url, [tagOfSecret(rnd(32))], `?after=${first.next}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { messages: [] });
  });
});
