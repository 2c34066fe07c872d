// What replaced the mailbox logins (MailboxAuth, retired with satpost 0.1): a message is
// fetched with the secret of its tag, at any relay that holds it, and nothing else opens it;
// the old login routes and stream op answer PROTOCOL_UPGRADED; a listing names 1..1024 tags.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_QUERY_TAGS, tagOfSecret } from '../../src/core/objects/index.ts';
import { OP } from '../../src/core/wire/stream.ts';
import { OCTET, StreamClient, deposit, depositFor, errorOf, fetchTagged, getQuote, hexOf, listTags, newIdentity, offer, rnd, testRelay, type TestRelay } from './helpers.ts';

const codeOf = (payload: Uint8Array) => (JSON.parse(Buffer.from(payload).toString()) as { error: { code: string } }).error.code;

describe('access by tag secret; mailbox logins retired', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  let other: TestRelay;
  before(async () => {
    relay = await testRelay();
    other = await testRelay();
  });
  after(async () => {
    await relay.close();
    await other.close();
  });

  it('a wrong secret, the tag itself or someone else\'s id answer MESSAGE_UNKNOWN, like an unknown id', async () => {
    const carol = newIdentity();
    const mallory = newIdentity();
    const mine = await deposit(relay.url, depositFor(await getQuote(relay.url, offer(carol.mailbox, 100))));
    const hers = await deposit(relay.url, depositFor(await getQuote(relay.url, offer(mallory.mailbox, 100))));
    assert.equal((await fetchTagged(relay.url, carol.secret, mine.messageId)).status, 200);
    assert.equal((await fetchTagged(relay.url, mallory.secret, hers.messageId)).status, 200);
    const tries: [Uint8Array, Uint8Array, string][] = [
      [mallory.secret, mine.messageId, "Mallory's secret for Carol's message"],
      [carol.secret, hers.messageId, "Carol's secret for Mallory's message"],
      [rnd(32), mine.messageId, 'a random secret'],
      [carol.mailbox, mine.messageId, 'the tag (public) instead of its secret'],
      [carol.secret, rnd(32), 'an unknown id'],
    ];
    const bodies = new Set<string>();
    for (const [secret, id, what] of tries) {
      const e = await errorOf(await fetchTagged(relay.url, secret, id));
      assert.deepEqual([e.status, e.code], [404, 'MESSAGE_UNKNOWN'], what);
      bodies.add(JSON.stringify(e.body));
    }
    assert.equal(bodies.size, 1, 'every refusal reads the same: no oracle for which messages exist');
    // The message is not at a relay it was not deposited at, whatever the secret.
    assert.equal((await errorOf(await fetchTagged(other.url, carol.secret, mine.messageId))).code, 'MESSAGE_UNKNOWN');
  });

  it('the retired /v1/mailbox/* routes and stream op 3 answer 410 PROTOCOL_UPGRADED', async () => {
    const carol = newIdentity();
    const json = { 'content-type': 'application/json' };
    const calls: [string, RequestInit][] = [
      ['/v1/mailbox/challenge', { method: 'POST', headers: json, body: JSON.stringify({ mailbox: hexOf(carol.mailbox) }) }],
      ['/v1/mailbox/list', { method: 'POST', headers: OCTET, body: Buffer.from(rnd(200)) }],
      [`/v1/mailbox/message?id=${hexOf(rnd(32))}`, { method: 'POST', headers: OCTET, body: Buffer.from(rnd(200)) }],
      ['/v1/mailbox/query', { method: 'POST', headers: OCTET, body: Buffer.from([0x09, 1, 2]) }],
    ];
    for (const [path, init] of calls) {
      const e = await errorOf(await fetch(`${relay.url}${path}`, init));
      assert.deepEqual([e.status, e.code], [410, 'PROTOCOL_UPGRADED'], path);
      assert.match(String(e.body.message), /upgrade the client/, path);
    }
    const sub = await StreamClient.open(relay.url);
    try {
      const r = await sub.request(OP.challenge, carol.mailbox);
      assert.deepEqual([r.status, codeOf(r.payload)], [1, 'PROTOCOL_UPGRADED']);
      // The connection stays usable: a subscribe by tag still works on it.
      assert.equal((await sub.request(OP.subscribe, carol.mailbox)).status, 0);
    } finally {
      await sub.close();
    }
  });

  it(`a listing names 1 to ${MAX_QUERY_TAGS} well-formed tags; anything else is BAD_REQUEST`, async () => {
    const carol = newIdentity();
    const r = await deposit(relay.url, depositFor(await getQuote(relay.url, offer(carol.mailbox, 100))));
    const filler = Array.from({ length: MAX_QUERY_TAGS - 1 }, () => tagOfSecret(rnd(32)));
    const full = await listTags(relay.url, [...filler, carol.mailbox]);
    assert.equal(full.status, 200);
    assert.deepEqual(((await full.json()) as { messages: { id: string }[] }).messages.map((m) => m.id), [hexOf(r.messageId)]);
    const post = (body: unknown) => fetch(`${relay.url}/v1/tags/list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad: [unknown, string][] = [
      [{ tags: [...filler, carol.mailbox, rnd(32)].map(hexOf) }, `${MAX_QUERY_TAGS + 1} tags`],
      [{ tags: [] }, 'no tag'],
      [{}, 'no tags field'],
      [{ tags: [hexOf(carol.mailbox).slice(2)] }, '31 bytes'],
      [{ tags: [hexOf(carol.mailbox) + '00'] }, '33 bytes'],
      [{ tags: [hexOf(carol.mailbox).toUpperCase()] }, 'upper-case hex'],
      [{ tags: ['zz'.repeat(32)] }, 'not hex'],
      [{ tags: [1] }, 'a number'],
      [{ tags: [hexOf(carol.mailbox)], mailbox: hexOf(carol.mailbox) }, 'an unknown field'],
    ];
    for (const [body, what] of bad) {
      const e = await errorOf(await post(body));
      assert.deepEqual([e.status, e.code], [400, 'BAD_REQUEST'], what);
    }
    const octets = await errorOf(await fetch(`${relay.url}/v1/tags/list`, { method: 'POST', headers: OCTET, body: Buffer.from(carol.mailbox) }));
    assert.deepEqual([octets.status, octets.code], [400, 'BAD_REQUEST'], 'raw tag bytes are no JSON list');
  });
});
