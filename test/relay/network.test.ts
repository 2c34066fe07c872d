// Relay daemons (startRelay in-process, real SQLite, real libp2p on 127.0.0.1) joined in a
// relay network: queries found and read across it, offers quoted by every relay, a relay
// killed mid-query, tree forwarding, and a standalone relay with p2p off.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '@scure/base';
import { PrivateKey } from '@signalapp/libsignal-client';
import { OfferCodec, QuoteCodec, TagQueryCodec, coarseQueryTime, tagAnswerSigningBytes, tagOfSecret, verifyQuote, type Quote, type TagAnswer, type TagQuery } from '../../src/core/objects/index.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { ANSWER_INFO } from '../../src/core/objects/index.ts';
import { StoredMessageCodec } from '../../src/core/objects/stored-message.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULTS, finish, loadConfig, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay } from '../../src/relay/daemon.ts';
import { RelayError } from '../../src/relay/errors.ts';
import { connect, lineEdges, makeCarol, randomEdges, sum, waitFor, waitTopology, type Carol, type Edge, type Relay } from '../p2p/net.ts';
import { openLookupAnswer } from '../../src/core/wire/lookup-answer.ts';
import { makeUser, tempDir as identityDir, T0 } from '../identity/helpers.ts';
import { OCTET, deposit, depositFor, errorOf, fetchTagged, getQuote, listTags, offer, postPrekeys, relayIdOf, rnd, signedPublish, testRelay, type TestRelay } from './helpers.ts';

const FAST = { heartbeatMs: 100, topologyDebounceMs: 20 };
// Offers wait for all 8 quotes (?expected=8); the long window only bounds a failing test.
const NET: Partial<RelayConfig> = { p2pMinPeers: 0, topologyRepublishSecs: 1, offerWindowMs: 30_000 };

/** The daemon's p2p parts in the shape the p2p test helpers take. */
const asRelay = (r: TestRelay, index: number): Relay => {
  const p = r.network.parts!;
  return { index, secret: new Uint8Array(0), node: p.node, queries: p.queries, offers: p.offers, topology: p.topology };
};

/** n daemons; each bootstraps to the one before it, then `edges` are dialled and settled. */
async function startNet(n: number, edges: Edge[]): Promise<{ daemons: TestRelay[]; relays: Relay[] }> {
  const daemons: TestRelay[] = [];
  for (let i = 0; i < n; i++) {
    const bootstrap = i === 0 ? [] : [String(daemons[i - 1]!.network.info().multiaddrs![0])];
    daemons.push(await testRelay({ ...NET, bootstrap }, { p2p: FAST }));
  }
  const relays = daemons.map(asRelay);
  await connect(relays, edges);
  await waitTopology(relays);
  return { daemons, relays };
}

const post = (url: string, path: string, body: Uint8Array): Promise<Response> =>
  fetch(`${url}${path}`, { method: 'POST', headers: OCTET, body: Buffer.from(body) });

const ed = nodeEd25519();

async function queryAt(url: string, q: TagQuery): Promise<Uint8Array[]> {
  const res = await post(url, '/v1/tags/query', TagQueryCodec.encode(q));
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { answers: string[] }).answers.map((a) => hex.decode(a));
}

/** Opens each sealed answer with q's one-time answer key; each must be for q and signed by the relay it names. */
function openAnswers(carol: Carol, answers: Uint8Array[], q: TagQuery): TagAnswer[] {
  return answers.map((sealed) => {
    const a = carol.open(sealed, q);
    assert.deepEqual(a.queryId, q.queryId, 'the answer is for this query');
    assert.ok(ed.verify(a.relayId, tagAnswerSigningBytes(a), a.signature), 'signed by the relay it names');
    return a;
  });
}

async function offerAt(url: string, o: ReturnType<typeof offer>, params = 'expected=8'): Promise<Quote[]> {
  const res = await post(url, `/v1/offer?${params}`, OfferCodec.encode(o));
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { quotes: string[] }).quotes.map((q) => QuoteCodec.decode(hex.decode(q)));
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as T;
}

async function closeAll(daemons: TestRelay[]): Promise<void> {
  await Promise.all(daemons.map((d) => d.close()));
}

describe('8 relay daemons in a line', () => {
  let daemons: TestRelay[];
  let relays: Relay[];
  before(async () => ({ daemons, relays } = await startNet(8, lineEdges(8))));
  after(async () => closeAll(daemons));

  it('a message deposited at one edge is found from the other edge and read at its relay', async () => {
    const carol = makeCarol();
    const quote = await getQuote(daemons[7]!.url, offer(carol.mailbox, 300));
    const receipt = await deposit(daemons[7]!.url, depositFor(quote));

    // Carol asks for her tag among others (tags she expects later, which hold nothing yet).
    const q = carol.query({ hopLimit: 7, tags: [tagOfSecret(rnd(32)), carol.mailbox, tagOfSecret(rnd(32))] });
    const found = openAnswers(carol, await queryAt(daemons[0]!.url, q), q);
    assert.equal(found.length, 1, 'only the holding relay answers');
    const [a] = found;
    assert.equal(a!.url, daemons[7]!.url);
    assert.deepEqual(a!.relayId, daemons[7]!.service.relayId);
    assert.deepEqual(a!.tags, [carol.mailbox], 'it names only the tags it holds');

    // Carol lists her tag where the answer says, and reads the message with the tag's secret.
    const listed = (await (await listTags(a!.url, a!.tags)).json()) as { messages: { id: string; tag: string; size: number }[] };
    assert.deepEqual(listed.messages.map((m) => [m.id, m.tag, m.size]), [[hex.encode(receipt.messageId), hex.encode(carol.mailbox), 300]]);
    const res = await fetchTagged(a!.url, carol.secret, listed.messages[0]!.id);
    assert.equal(res.status, 200);
    const stored = StoredMessageCodec.decode(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual(stored.receipt.messageId, receipt.messageId);
    assert.deepEqual(stored.quote.quoteId, quote.quoteId);
  });

  it('a tag answer is signed by the answering relay and sealed to the one-time answer key', async () => {
    const carol = makeCarol();
    await deposit(daemons[5]!.url, depositFor(await getQuote(daemons[5]!.url, offer(carol.mailbox, 10))));
    const q = carol.query({ hopLimit: 7 });
    const sealed = await queryAt(daemons[1]!.url, q);
    assert.equal(sealed.length, 1);
    const a = carol.open(sealed[0]!, q);
    assert.deepEqual([a.relayId, a.url, a.queryId, a.tags], [daemons[5]!.service.relayId, daemons[5]!.url, q.queryId, [carol.mailbox]]);
    assert.ok(ed.verify(daemons[5]!.service.relayId, tagAnswerSigningBytes(a), a.signature), "under the answering relay's node key");
    // Not under any other relay's key, and not once a field is changed.
    assert.equal(ed.verify(daemons[1]!.service.relayId, tagAnswerSigningBytes(a), a.signature), false, "not the entry relay's");
    assert.equal(ed.verify(a.relayId, tagAnswerSigningBytes({ ...a, url: 'http://127.0.0.1:1' }), a.signature), false, 'the URL is signed');
    assert.equal(ed.verify(a.relayId, tagAnswerSigningBytes({ ...a, queryId: rnd(16) }), a.signature), false, 'the query id is signed');
    // Sealed: another key, or the right key with another query id, opens nothing; the bytes name no tag in clear.
    assert.throws(() => PrivateKey.generate().open(sealed[0]! as Uint8Array<ArrayBuffer>, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
    assert.throws(() => carol.open(sealed[0]!, { ...q, queryId: rnd(16) }));
    assert.equal(Buffer.from(sealed[0]!).includes(Buffer.from(carol.mailbox)), false);
    assert.equal(Buffer.from(sealed[0]!).includes(Buffer.from(daemons[5]!.url)), false);
  });

  it('a hop limit shorter than the line does not reach the far edge', async () => {
    const carol = makeCarol();
    await deposit(daemons[7]!.url, depositFor(await getQuote(daemons[7]!.url, offer(carol.mailbox, 10))));
    const q = carol.query({ hopLimit: 6 });
    assert.deepEqual(await queryAt(daemons[0]!.url, q), []);
    // One hop more reaches it.
    const q7 = carol.query({ hopLimit: 7 });
    assert.deepEqual(openAnswers(carol, await queryAt(daemons[0]!.url, q7), q7).map((a) => a.url), [daemons[7]!.url]);
  });

  // Lookups before offers: a quoting relay dials the offer's origin, so after an offer the line is no line.
  it('a prekey lookup at one edge finds the bundle published at the other edge, without consuming keys', async () => {
    const ids = identityDir();
    const user = makeUser(ids.dir, 'carol', { poolSize: 3, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
    try {
      const res = await postPrekeys(daemons[7]!.url, signedPublish(user.prekeys.buildBundle(T0), await relayIdOf(daemons[7]!.url), user.self.keyPair.privateKey));
      assert.equal(res.status, 200);
      const mailbox = (await res.json() as { mailbox: string }).mailbox;
      for (const round of [1, 2]) {
        const lookupId = hex.encode(new Uint8Array(16).fill(round));
        const out = await getJson<{ lookupId: string; answers: string[] }>(`${daemons[0]!.url}/v1/lookup/prekeys/${mailbox}?id=${lookupId}&hops=7`);
        assert.equal(out.lookupId, lookupId);
        assert.equal(out.answers.length, 1, 'only the holder answers');
        const a = openLookupAnswer(hex.decode(out.answers[0]!), { kind: 'prekeys', lookupId: hex.decode(lookupId), target: hex.decode(mailbox) }, nodeEd25519())!;
        assert.ok(a, 'signed by the holder for this lookup');
        assert.deepEqual([a.url, hex.encode(a.relayId)], [daemons[7]!.url, hex.encode(daemons[7]!.service.relayId)]);
        assert.deepEqual(a.kind === 'prekeys' && a.prekeys, { oneTimePreKeys: 3, kyberPreKeys: 2 }, `round ${round}: the lookup took no key`);
      }
      // The default hop limit (3) does not reach the far edge.
      assert.deepEqual((await getJson<{ answers: string[] }>(`${daemons[0]!.url}/v1/lookup/prekeys/${mailbox}`)).answers, []);
    } finally {
      user.db.close();
      ids.cleanup();
    }
  });

  it('a relay-info lookup returns every relay within the hop limit with its information document terms', async () => {
    const out = await getJson<{ lookupId: string; answers: string[] }>(`${daemons[0]!.url}/v1/lookup/relays?hops=3`);
    const opened = out.answers.map((b) => openLookupAnswer(hex.decode(b), { kind: 'relay-info', lookupId: hex.decode(out.lookupId), target: new Uint8Array(32) }, nodeEd25519())!);
    assert.deepEqual(opened.map((a) => a.url), daemons.slice(0, 4).map((d) => d.url));
    const info = await getJson<{ price: unknown; acceptedModes: string[]; name: string; channels?: object }>(`${daemons[2]!.url}/.well-known/satpost`);
    const a = opened[2]!;
    assert.ok(a.kind === 'relay-info');
    assert.deepEqual([a.relay.price, a.relay.acceptedModes, a.relay.name], [info.price, info.acceptedModes, info.name]);
    assert.equal(a.relay.channels !== undefined, info.channels !== undefined);
    assert.deepEqual(a.relay.multiaddrs, relays[2]!.node.multiaddrs().map(String));
  });

  it('refuses bad lookup input and a repeated lookup id with typed errors', async () => {
    const url = daemons[1]!.url;
    for (const path of ['/v1/lookup/prekeys/xyz', `/v1/lookup/prekeys/${'a'.repeat(62)}`, `/v1/lookup/prekeys/${'A'.repeat(64)}`, '/v1/lookup/relays?id=00', '/v1/lookup/relays?hops=x', '/v1/lookup/relays?hops=256']) {
      const e = await errorOf(await fetch(url + path));
      assert.deepEqual([e.status, e.code], [400, 'BAD_REQUEST'], path);
    }
    const id = 'ab'.repeat(16);
    await getJson(`${url}/v1/lookup/relays?id=${id}&hops=0`);
    const e = await errorOf(await fetch(`${url}/v1/lookup/relays?id=${id}`));
    assert.deepEqual([e.status, e.code, e.body.reason], [422, 'QUERY_REFUSED', 'DUPLICATE']);
  });

  it('an offer posted at one relay returns a signed quote from every relay, its own first', async () => {
    const carol = makeCarol();
    const o = offer(carol.mailbox, 1000);
    const quotes = await offerAt(daemons[3]!.url, o);
    const ids = quotes.map((q) => hex.encode(q.relayId));
    assert.deepEqual([...ids].sort(), daemons.map((d) => hex.encode(d.service.relayId)).sort());
    assert.equal(ids[0], hex.encode(daemons[3]!.service.relayId));
    for (const q of quotes) {
      assert.ok(verifyQuote(q, nodeEd25519()));
      assert.deepEqual(q.offerId, o.offerId);
    }
    // Each quote names its relay's URL: Alice deposits there.
    const byId = new Map(daemons.map((d) => [hex.encode(d.service.relayId), d.url]));
    for (const q of quotes) assert.equal(q.relayUrl, byId.get(hex.encode(q.relayId)));
  });

  it('relays whose policy refuses the offer send no quote', async () => {
    const carol = makeCarol();
    // maxFee 1 sat is below every relay's price: only refusals, so no quote at all.
    assert.deepEqual(await offerAt(daemons[0]!.url, offer(carol.mailbox, 1000, { maxFee: 1 }), 'windowMs=1500'), []);
    for (const bad of ['expected=0', 'windowMs=x', 'expected=257']) {
      const e = await errorOf(await post(daemons[0]!.url, `/v1/offer?${bad}`, OfferCodec.encode(offer(carol.mailbox, 10))));
      assert.equal(e.code, 'BAD_REQUEST', bad);
    }
  });

  it('refuses a stale, a replayed and a malformed query with typed errors; the signed mailbox query is retired', async () => {
    const carol = makeCarol();
    const url = daemons[0]!.url;
    const stale = carol.query({ timestamp: coarseQueryTime(Date.now() - 3_600_000) });
    let e = await errorOf(await post(url, '/v1/tags/query', TagQueryCodec.encode(stale)));
    assert.deepEqual([e.status, e.code, e.body.reason], [422, 'QUERY_REFUSED', 'STALE']);
    const q = carol.query();
    await queryAt(url, q);
    e = await errorOf(await post(url, '/v1/tags/query', TagQueryCodec.encode(q)));
    assert.deepEqual([e.status, e.code, e.body.reason], [422, 'QUERY_REFUSED', 'DUPLICATE']);
    e = await errorOf(await post(url, '/v1/tags/query', new Uint8Array([0x10, 1, 2])));
    assert.equal(e.code, 'BAD_ENCODING');
    // A timestamp finer than a minute would tell queries apart: refused at decoding.
    const whole = carol.query();
    const bytes = Buffer.from(TagQueryCodec.encode(whole));
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(whole.timestamp));
    const at = bytes.indexOf(ts);
    assert.ok(at > 0, 'the timestamp is a u64 in the encoding');
    bytes.writeBigUInt64BE(BigInt(whole.timestamp + 1234), at);
    e = await errorOf(await post(url, '/v1/tags/query', bytes));
    assert.deepEqual([e.status, e.code], [400, 'BAD_ENCODING']);
    e = await errorOf(await post(url, '/v1/tags/query', new Uint8Array([0x09, 1, 2])));
    assert.equal(e.code, 'BAD_ENCODING', 'a MailboxQuery (0x09) is no TagQuery');
    e = await errorOf(await post(url, '/v1/mailbox/query', new Uint8Array([0x09, 1, 2])));
    assert.deepEqual([e.status, e.code], [410, 'PROTOCOL_UPGRADED']);
    e = await errorOf(await post(url, '/v1/offer', new Uint8Array([0x01])));
    assert.equal(e.code, 'BAD_ENCODING');
  });

  it('the information document lists the peer id and multiaddrs; metrics count peers and forwards', async () => {
    const info = (await (await fetch(`${daemons[2]!.url}/.well-known/satpost`)).json()) as { p2p: { enabled: boolean; peerId: string; multiaddrs: string[] } };
    assert.equal(info.p2p.enabled, true);
    assert.equal(info.p2p.peerId, relays[2]!.node.peerId.toString());
    assert.ok(info.p2p.multiaddrs.length > 0 && info.p2p.multiaddrs.every((m) => m.endsWith(`/p2p/${info.p2p.peerId}`)));
    const text = await (await fetch(`${daemons[2]!.url}/metrics`)).text();
    // Its two neighbours, and any origin it answered an offer directly.
    assert.match(text, new RegExp(`^satpost_relay_p2p_peers ${relays[2]!.node.libp2p.getPeers().length}$`, 'm'));
    const forwards = Number(/^satpost_relay_p2p_query_forwards_total (\d+)$/m.exec(text)?.[1]);
    assert.equal(forwards, relays[2]!.queries.stats().forwards);
    assert.ok(forwards > 0);
    assert.match(text, /^satpost_relay_p2p_query_duplicates_total \d+$/m);
  });
});

describe('8 relay daemons in a random connected graph', () => {
  const edges = randomEdges(8, 6, 11);
  let daemons: TestRelay[];
  let relays: Relay[];
  const closed = new Set<number>();
  before(async () => ({ daemons, relays } = await startNet(8, edges)));
  after(async () => closeAll(daemons.filter((_, i) => !closed.has(i))));

  it('finds a message from every entry relay with at most one forward per link', async () => {
    const carol = makeCarol();
    await deposit(daemons[5]!.url, depositFor(await getQuote(daemons[5]!.url, offer(carol.mailbox, 64))));
    for (let entry = 0; entry < 8; entry++) {
      const f0 = sum(relays, (r) => r.queries.stats().forwards);
      const q = carol.query({ hopLimit: 7 });
      const found = openAnswers(carol, await queryAt(daemons[entry]!.url, q), q);
      assert.deepEqual(found.map((a) => [a.url, hex.encode(a.tags[0]!)]), [[daemons[5]!.url, hex.encode(carol.mailbox)]]);
      const forwards = sum(relays, (r) => r.queries.stats().forwards) - f0;
      assert.ok(forwards <= edges.length, `${forwards} forwards on ${edges.length} links`);
      assert.equal(forwards, 7, 'the tree: each relay reached once');
    }
  });

  it('an offer returns quotes from all 8 relays', async () => {
    const quotes = await offerAt(daemons[6]!.url, offer(makeCarol().mailbox, 500));
    assert.equal(new Set(quotes.map((q) => hex.encode(q.relayId))).size, 8);
  });

  it('a relay killed mid-query costs only its own answers', async () => {
    const carol = makeCarol();
    const entry = 0;
    const victim = 4;
    // The holder must not hang below the victim in the forwarding tree (ids are random).
    const ids = relays.map((r) => hex.encode(r.node.relayId));
    const tree = relays[entry]!.topology!.tree(ids[entry]!);
    const below = (i: number): boolean => {
      for (let p = tree.parent.get(ids[i]!); p !== undefined; p = tree.parent.get(p)) if (p === ids[victim]) return true;
      return false;
    };
    const holder = [1, 2, 3, 5, 6, 7].find((i) => !below(i))!;
    for (const h of [holder, victim]) await deposit(daemons[h]!.url, depositFor(await getQuote(daemons[h]!.url, offer(carol.mailbox, 32))));
    const q = carol.query({ hopLimit: 7 });
    // Stop the victim as soon as the query reaches it, before it can answer.
    const queries = relays[victim]!.queries;
    let killing: Promise<void> | undefined;
    const before = queries.stats().handled;
    const kill = (): void => {
      if (killing === undefined && queries.stats().handled > before) {
        // Like kill -9: every connection drops at once, before the relay can answer.
        for (const c of relays[victim]!.node.libp2p.getConnections()) c.abort(new Error('killed'));
        closed.add(victim);
        killing = daemons[victim]!.close();
      }
    };
    queries.addEventListener('stats', kill);
    const failures0 = sum(relays, (r) => r.queries.stats().peerFailures);
    const found = openAnswers(carol, await queryAt(daemons[entry]!.url, q), q);
    queries.removeEventListener('stats', kill);
    assert.ok(killing !== undefined, 'the query reached the victim');
    await killing;
    assert.deepEqual(found.map((a) => a.url), [daemons[holder]!.url]);
    assert.ok(sum(relays.filter((_, i) => i !== victim), (r) => r.queries.stats().peerFailures) > failures0);

    // The network heals around the dead relay: the next query still finds the holder's message.
    const alive = relays.filter((_, i) => i !== victim);
    const dead = hex.encode(daemons[victim]!.service.relayId);
    const aliveIds = alive.map((r) => hex.encode(r.node.relayId));
    const forgotten = (): boolean => alive.every((r) => aliveIds.every((id) => !(r.topology!.topology().get(id) ?? []).includes(dead)));
    await waitFor(forgotten, alive.map((r) => r.topology!), ['change'], 'dead links announced');
    const q2 = carol.query({ hopLimit: 7 });
    const again = openAnswers(carol, await queryAt(daemons[entry]!.url, q2), q2);
    assert.deepEqual(again.map((a) => a.url), [daemons[holder]!.url]);
  });
});

describe('a standalone relay (p2p off)', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay({ p2p: false });
  });
  after(async () => relay.close());

  it('serves quotes and deposits but answers P2P_OFF on the network routes', async () => {
    const carol = makeCarol();
    const q = await getQuote(relay.url, offer(carol.mailbox, 10));
    await deposit(relay.url, depositFor(q));
    let e = await errorOf(await post(relay.url, '/v1/offer', OfferCodec.encode(offer(carol.mailbox, 10))));
    assert.deepEqual([e.status, e.code], [503, 'P2P_OFF']);
    e = await errorOf(await post(relay.url, '/v1/tags/query', TagQueryCodec.encode(carol.query())));
    assert.deepEqual([e.status, e.code], [503, 'P2P_OFF']);
    e = await errorOf(await post(relay.url, '/v1/tags/query', new Uint8Array([1])));
    assert.equal(e.code, 'P2P_OFF', 'p2p off is said before the body is judged');
    e = await errorOf(await post(relay.url, '/v1/mailbox/query', new Uint8Array([0x09])));
    assert.deepEqual([e.status, e.code], [410, 'PROTOCOL_UPGRADED']);
    for (const path of ['/v1/lookup/relays', `/v1/lookup/prekeys/${hex.encode(carol.mailbox)}`, '/v1/lookup/prekeys/xyz']) {
      e = await errorOf(await fetch(relay.url + path));
      assert.deepEqual([e.status, e.code], [503, 'P2P_OFF'], path);
    }
    const info = (await (await fetch(`${relay.url}/.well-known/satpost`)).json()) as { p2p: { enabled: boolean } };
    assert.deepEqual(info.p2p, { enabled: false });
    assert.equal(relay.network.enabled, false);
  });
});

describe('relay network settings', () => {
  it('defaults: p2p on, any port, no bootstrap, 6 peers', () => {
    assert.deepEqual([DEFAULTS.p2p, DEFAULTS.p2pPort, DEFAULTS.bootstrap, DEFAULTS.p2pMinPeers], [true, 0, [], 6]);
  });

  it('reads booleans and multiaddr lists from env and flags, refusing bad values', () => {
    const c = loadConfig({ env: { SATPOST_RELAY_P2P: 'false', SATPOST_RELAY_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1/p2p/x, /ip4/127.0.0.1/tcp/2/p2p/y' }, flags: { p2pPort: '4001' } });
    assert.equal(c.p2p, false);
    assert.deepEqual(c.bootstrap, ['/ip4/127.0.0.1/tcp/1/p2p/x', '/ip4/127.0.0.1/tcp/2/p2p/y']);
    assert.equal(c.p2pPort, 4001);
    for (const flags of [{ p2p: 'maybe' }, { bootstrap: [''] }, { p2pPort: '70000' }, { offerWindowMs: '0' }]) {
      assert.throws(() => loadConfig({ flags }), (e: unknown) => RelayError.is(e, 'BAD_CONFIG'), JSON.stringify(flags));
    }
  });

  it('refuses to start the network on a host name that is not an IP address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'satpost-p2p-'));
    try {
      const config = finish({ ...DEFAULTS, host: 'localhost', port: 0, dataDir: dir, logLevel: 'silent' });
      await assert.rejects(startRelay(config, { log: pino({ level: 'silent' }) }), (e: unknown) => RelayError.is(e, 'BAD_CONFIG') && /IP address/.test((e as Error).message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
