// Logins (MailboxAuth) are bound to one relay and one operation (issue 14): a relay that hands
// Carol another relay's challenge cannot replay her login there, and a login for a listing
// cannot open a message or a live subscription.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OP } from '../../src/relay/wire.ts';
import { OCTET, StreamClient, auth, deposit, depositFor, errorOf, getQuote, hexOf, newIdentity, offer, relayIdOf, testRelay, type TestRelay } from './helpers.ts';

const codeOf = (payload: Uint8Array) => (JSON.parse(Buffer.from(payload).toString()) as { error: { code: string } }).error.code;

async function challengeAt(url: string, mailbox: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(`${url}/v1/mailbox/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mailbox: hexOf(mailbox) }) });
  return new Uint8Array(Buffer.from(((await res.json()) as { challenge: string }).challenge, 'hex'));
}

const list = (url: string, body: Uint8Array) => fetch(`${url}/v1/mailbox/list`, { method: 'POST', headers: OCTET, body: Buffer.from(body) });
const fetchMessage = (url: string, id: Uint8Array, body: Uint8Array) =>
  fetch(`${url}/v1/mailbox/message?id=${hexOf(id)}`, { method: 'POST', headers: OCTET, body: Buffer.from(body) });

describe('mailbox logins bound to the relay and the operation', { timeout: 60_000 }, () => {
  let honest: TestRelay;
  let evil: TestRelay;
  before(async () => {
    honest = await testRelay();
    evil = await testRelay();
  });
  after(async () => {
    await honest.close();
    await evil.close();
  });

  it('a login made for one relay is refused at another', async () => {
    const carol = newIdentity();
    const receipt = await deposit(honest.url, depositFor(await getQuote(honest.url, offer(carol.mailbox, 100))));
    // The evil relay asks the honest one for a challenge for Carol's mailbox and hands it to
    // Carol as its own; Carol signs a login for the relay she is talking to (the evil one).
    const stolenChallenge = await challengeAt(honest.url, carol.mailbox);
    const evilId = await relayIdOf(evil.url);
    for (const operation of ['list', 'fetch'] as const) {
      const login = await auth(evil.url, carol, operation, { challenge: stolenChallenge, relayId: evilId });
      const res = operation === 'list' ? await list(honest.url, login) : await fetchMessage(honest.url, receipt.messageId, login);
      const e = await errorOf(res);
      assert.deepEqual([e.status, e.code], [403, 'AUTH_WRONG_RELAY'], `replayed ${operation} login`);
    }
    const sub = await StreamClient.open(honest.url);
    try {
      const r = await sub.request(OP.subscribe, await auth(evil.url, carol, 'subscribe', { challenge: stolenChallenge, relayId: evilId }));
      assert.deepEqual([r.status, codeOf(r.payload)], [1, 'AUTH_WRONG_RELAY']);
    } finally {
      await sub.close();
    }
    // The refusals did not use up the challenge: Carol's own login for the honest relay lists.
    const own = await list(honest.url, await auth(honest.url, carol, 'list', { challenge: stolenChallenge }));
    assert.equal(own.status, 200);
    assert.deepEqual(((await own.json()) as { messages: { id: string }[] }).messages.map((m) => m.id), [hexOf(receipt.messageId)]);
  });

  it('a login made for listing is refused for fetching/subscribing', async () => {
    const carol = newIdentity();
    const receipt = await deposit(honest.url, depositFor(await getQuote(honest.url, offer(carol.mailbox, 100))));
    const listing = await auth(honest.url, carol, 'list');
    const asFetch = await errorOf(await fetchMessage(honest.url, receipt.messageId, listing));
    assert.deepEqual([asFetch.status, asFetch.code], [403, 'AUTH_WRONG_OPERATION']);
    const sub = await StreamClient.open(honest.url);
    try {
      const r = await sub.request(OP.subscribe, listing);
      assert.deepEqual([r.status, codeOf(r.payload)], [1, 'AUTH_WRONG_OPERATION']);
    } finally {
      await sub.close();
    }
    // A fetch login does not list either.
    const asList = await errorOf(await list(honest.url, await auth(honest.url, carol, 'fetch')));
    assert.equal(asList.code, 'AUTH_WRONG_OPERATION');
    // Refused, not consumed: the listing login still lists once.
    assert.equal((await list(honest.url, listing)).status, 200);
  });
});
