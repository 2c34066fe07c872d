import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { bytesEqual } from '../../src/core/hash.ts';
import { nobleEd25519 as ed } from '../../src/core/ed25519.ts';
import { TagAnswerCodec, TagQueryCodec, tagAnswerSigningBytes, tagOfSecret, tagSecret, type TagQuery } from '../../src/core/objects/index.ts';
import { P2pError } from '../../src/p2p/errors.ts';
import { ANSWER_INFO } from '../../src/core/objects/index.ts';
import type { TagLookup } from '../../src/p2p/query.ts';
import { request } from '../../src/p2p/rpc.ts';
import { QUERY_PROTOCOL, QueryRequestCodec, QueryResponseCodec } from '../../src/core/wire/p2p.ts';
import { connect, lineEdges, makeCarol, randomEdges, startRelays, stopRelays, sum, waitFor, type Relay } from './net.ts';

const carol = makeCarol();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** What relay i's lookup was asked, per relay. */
const asked = new Map<number, number>();

/** A lookup answering, as the relay daemon does, with a TagAnswer signed by the node key naming the query's tags relay i holds. */
function holding(held: (i: number) => Uint8Array[]): (i: number, secret: Uint8Array) => TagLookup {
  return (i, secret) => (q) => {
    asked.set(i, (asked.get(i) ?? 0) + 1);
    const mine = held(i);
    const tags = q.tags.filter((t) => mine.some((m) => bytesEqual(m, t)));
    if (tags.length === 0) return undefined;
    const unsigned = { queryId: q.queryId, relayId: ed.publicKey(secret), url: `http://relay-${i}.test`, tags };
    return TagAnswerCodec.encode({ ...unsigned, signature: ed.sign(secret, tagAnswerSigningBytes(unsigned)) });
  };
}
const everyoneHolds = holding(() => [carol.tags[0]!]);

/**
 * Opens the sealed answers with the query's one-time key, checks each is a TagAnswer for this
 * query signed by the relay it names, and lists them as "relay:indices of Carol's tags".
 */
function open(answers: Uint8Array[], q: TagQuery, keys = carol.keyOf(q.queryId)!): string[] {
  return answers
    .map((sealed) => {
      const a = TagAnswerCodec.decode(keys.privateKey.open(sealed as Uint8Array<ArrayBuffer>, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
      assert.ok(ed.verify(a.relayId, tagAnswerSigningBytes(a), a.signature), 'signed by the relay it names');
      assert.deepEqual(a.queryId, q.queryId);
      return `${/relay-(\d+)/.exec(a.url)![1]}:${a.tags.map((t) => carol.tags.findIndex((c) => bytesEqual(c, t))).join(',')}`;
    })
    .sort();
}

function snapshot(relays: Relay[]): { forwards: number; duplicates: number; handled: number[] } {
  return { forwards: sum(relays, (r) => r.queries.stats().forwards), duplicates: sum(relays, (r) => r.queries.stats().duplicates), handled: relays.map((r) => r.queries.stats().handled) };
}

const reqOf = (query: TagQuery, root: Uint8Array = new Uint8Array(32)): Uint8Array => QueryRequestCodec.encode({ kind: 'tags', query, budgetMs: 1000, root, covered: [] });

describe('tag queries on a line of 8 relays', () => {
  let relays: Relay[];
  // Relays 3, 5 and 7 hold messages under some of Carol's tags; relay 6 under a tag of someone else's seed.
  const stranger = tagOfSecret(tagSecret(new Uint8Array(32).fill(9), 0));
  const held: Record<number, Uint8Array[]> = { 3: [carol.tags[1]!], 5: [carol.tags[2]!, carol.tags[4]!], 6: [stranger], 7: [carol.tags[6]!] };
  before(async () => {
    relays = await startRelays(8, { lookup: holding((i) => held[i] ?? []) });
    await connect(relays, lineEdges(8));
  });
  after(async () => stopRelays(relays));

  it('a forwarded query reaches the far edge with hop limit 7, one forward per link; each holder answers with a TagAnswer its node key signed', async () => {
    const before = snapshot(relays);
    const q = carol.query({ hopLimit: 7 });
    const answers = await relays[0]!.queries.query(q);
    assert.deepEqual(open(answers, q), ['3:1', '5:2,4', '7:6']);
    const after = snapshot(relays);
    assert.equal(after.forwards - before.forwards, 7);
    assert.equal(after.duplicates - before.duplicates, 0);
    assert.deepEqual(after.handled.map((h, i) => h - before.handled[i]!), Array(8).fill(1));
    // Each answer names the relay that signed it: its node key.
    const ids = answers.map((a) => hex(TagAnswerCodec.decode(carol.keyOf(q.queryId)!.privateKey.open(a as Uint8Array<ArrayBuffer>, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>)).relayId)).sort();
    assert.deepEqual(ids, [3, 5, 7].map((i) => hex(relays[i]!.node.relayId)).sort());
    // The query names nobody: neither Carol's identity key nor her prekey mailbox id is on the wire.
    assert.equal(hex(reqOf(q)).includes(hex(carol.identityKey).slice(2)), false);
    assert.equal(hex(reqOf(q)).includes(hex(carol.identityKey).slice(2)), false);
  });

  it('answers are sealed to the query\'s answerKey: only its holder opens them, and only for this query id', async () => {
    const q = carol.query({ hopLimit: 7 });
    const answers = await relays[0]!.queries.query(q);
    assert.equal(answers.length, 3);
    const key = carol.keyOf(q.queryId)!;
    assert.deepEqual(key.publicKey.serialize(), q.answerKey);
    for (const a of answers) {
      const sealed = a as Uint8Array<ArrayBuffer>;
      // The relays on the way back see no tag and no relay URL.
      for (const t of carol.tags) assert.equal(hex(a).includes(hex(t)), false);
      assert.equal(Buffer.from(a).includes(Buffer.from('relay-')), false);
      // Carol's identity key, a stranger's key and the key of another of her queries all fail.
      const other = carol.query();
      for (const k of [carol.identity, IdentityKeyPair.generate(), carol.keyOf(other.queryId)!]) {
        assert.throws(() => k.privateKey.open(sealed, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
      }
      // The right key with another query id as associated data fails too.
      assert.throws(() => key.privateKey.open(sealed, ANSWER_INFO, other.queryId as Uint8Array<ArrayBuffer>));
      assert.doesNotThrow(() => key.privateKey.open(sealed, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
    }
  });

  it('a relay names only the query\'s tags it holds', async () => {
    const q = carol.query({ hopLimit: 7, tags: [carol.tags[4]!, carol.tags[0]!, stranger] });
    // Relay 6 names the stranger's tag (not one of Carol's: index -1), relay 5 only tag 4 of its two.
    assert.deepEqual(open(await relays[0]!.queries.query(q), q), ['5:4', '6:-1']);
    const q2 = carol.query({ hopLimit: 7, tags: [carol.tags[0]!, carol.tags[3]!] });
    assert.deepEqual(await relays[0]!.queries.query(q2), []);
  });

  it('respects the hop limit: 3 hops reach relay 3, not relays 4..7', async () => {
    const before = snapshot(relays);
    const q = carol.query({ hopLimit: 3 });
    const answers = await relays[0]!.queries.query(q);
    assert.deepEqual(open(answers, q), ['3:1']);
    const after = snapshot(relays);
    assert.deepEqual(after.handled.map((h, i) => h - before.handled[i]!), [1, 1, 1, 1, 0, 0, 0, 0]);
    assert.equal(after.forwards - before.forwards, 3);
  });

  it('refuses a replayed query id at the entry relay and at its peers (DUPLICATE)', async () => {
    const q = carol.query({ hopLimit: 2 });
    await relays[4]!.queries.query(q);
    await assert.rejects(relays[4]!.queries.query(q), (e) => P2pError.is(e, 'DUPLICATE'));
    // The same id under another answer key is the same query.
    await assert.rejects(relays[4]!.queries.query(carol.query({ queryId: q.queryId, hopLimit: 2 })), (e) => P2pError.is(e, 'DUPLICATE'));
    const dupBefore = relays[5]!.queries.stats().duplicates;
    const res = QueryResponseCodec.decode(await request(relays[6]!.node.libp2p, relays[5]!.node.peerId, QUERY_PROTOCOL, reqOf({ ...q, hopsLeft: 0 }), { maxResponse: 1 << 20 }));
    assert.equal(res.status, 'duplicate');
    assert.equal(relays[5]!.queries.stats().duplicates, dupBefore + 1);
  });

  it('refuses a stale or future timestamp (STALE) and an answerKey answers cannot be sealed to (BAD_KEY), before any lookup', async () => {
    const asked0 = asked.get(0) ?? 0;
    const minute = 60_000;
    await assert.rejects(relays[0]!.queries.query(carol.query({ timestamp: Math.floor(Date.now() / minute) * minute - 10 * minute })), (e) => P2pError.is(e, 'STALE'));
    await assert.rejects(relays[0]!.queries.query(carol.query({ timestamp: Math.floor(Date.now() / minute) * minute + 10 * minute })), (e) => P2pError.is(e, 'STALE'));
    const small = (u: number[]) => Uint8Array.of(5, ...u, ...new Uint8Array(32 - u.length));
    const badKeys = [
      small([]), // u = 0
      small([1]), // u = 1
      Uint8Array.of(5, ...Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex')), // a point of order 8
      Uint8Array.of(4, ...new Uint8Array(32).fill(1)), // not a Curve25519 key type
      new Uint8Array(32).fill(1), // no type byte
    ];
    for (const answerKey of badKeys) {
      await assert.rejects(relays[0]!.queries.query(carol.query({ answerKey })), (e) => P2pError.is(e, 'BAD_KEY'), hex(answerKey));
    }
    assert.equal(asked.get(0) ?? 0, asked0, 'no lookup ran for a refused query');
    // The untouched query still runs.
    const q = carol.query({ hopLimit: 3 });
    assert.deepEqual(open(await relays[0]!.queries.query(q), q), ['3:1']);
  });

  it('a peer refuses a forwarded query with a bad answerKey, a raised hopsLeft, an off-minute time and garbage, and forwards none', async () => {
    const target = relays[2]!;
    const before = target.queries.stats();
    const asked2 = asked.get(2) ?? 0;
    const send = async (bytes: Uint8Array) =>
      QueryResponseCodec.decode(await request(relays[1]!.node.libp2p, target.node.peerId, QUERY_PROTOCOL, bytes, { maxResponse: 1 << 20 }));
    const q = carol.query({ hopLimit: 3 });
    assert.equal((await send(reqOf({ ...q, answerKey: Uint8Array.of(5, ...new Uint8Array(32)) }))).status, 'refused');
    assert.equal((await send(new Uint8Array([0x21, 1, 4, 9, 9]))).status, 'refused');
    const at = 3 + TagQueryCodec.encode(q).length; // request tag, version, kind; then the query
    // hopsLeft above hopLimit is not a valid encoding.
    const raised = reqOf(q);
    raised[at - 1] = 9;
    assert.equal((await send(raised)).status, 'refused');
    // Nor a timestamp off the minute.
    const offMinute = reqOf(q);
    offMinute[at - 3]! ^= 1;
    assert.equal((await send(offMinute)).status, 'refused');
    // Kind 1, the retired signed mailbox query.
    const kind1 = reqOf(q);
    kind1[2] = 1;
    assert.equal((await send(kind1)).status, 'refused');
    const after = target.queries.stats();
    assert.equal(after.refused - before.refused, 5);
    assert.equal(after.forwards, before.forwards);
    assert.equal(after.handled, before.handled);
    assert.equal(asked.get(2) ?? 0, asked2);
    // The well-formed query itself is accepted by the same peer.
    assert.equal((await send(reqOf(q))).status, 'ok');
  });
});

describe('tag queries on a random connected graph of 8 relays', () => {
  let relays: Relay[];
  const edges = randomEdges(8, 4, 7);
  before(async () => {
    relays = await startRelays(8, { lookup: everyoneHolds });
    await connect(relays, edges);
  });
  after(async () => stopRelays(relays));

  it('reaches every relay once; each extra delivery is a counted duplicate; at most one forward per link direction', async () => {
    for (const entry of [0, 3, 7]) {
      const before = snapshot(relays);
      const q = carol.query({ hopLimit: 7 });
      const answers = await relays[entry]!.queries.query(q);
      assert.deepEqual(open(answers, q), Array.from({ length: 8 }, (_, i) => `${i}:0`).sort());
      const after = snapshot(relays);
      const forwards = after.forwards - before.forwards;
      assert.deepEqual(after.handled.map((h, i) => h - before.handled[i]!), Array(8).fill(1));
      // Every forward is either a relay's first copy (7 of them) or a refused duplicate.
      assert.equal(forwards, 7 + (after.duplicates - before.duplicates));
      // No relay forwards twice on a link nor back to its sender: at most 2*links - (relays - 1).
      assert.ok(forwards <= 2 * edges.length - 7, `forwards ${forwards} > ${2 * edges.length - 7}`);
    }
  });
});

describe('a relay that leaves mid-query', () => {
  let relays: Relay[];
  let reached: () => void;
  const reachedP = new Promise<void>((r) => (reached = r));
  let release: () => void;
  const gate = new Promise<void>((r) => (release = r));
  before(async () => {
    relays = await startRelays(6, {
      lookup: (i, secret) => async (q) => {
        if (i === 3) {
          reached();
          await gate; // holds relay 3 inside the query until the test stops it
        }
        return everyoneHolds(i, secret)(q);
      },
    });
    await connect(relays, lineEdges(6));
  });
  after(async () => {
    release();
    await stopRelays(relays);
  });

  it('costs only the answers behind it, without waiting for the budget', { timeout: 15_000 }, async () => {
    const q = carol.query({ hopLimit: 5 });
    const pending = relays[0]!.queries.query(q, { budgetMs: 60_000 });
    await reachedP;
    const failuresBefore = relays[2]!.queries.stats().peerFailures;
    await relays[3]!.node.stop();
    const answers = await pending;
    assert.deepEqual(open(answers, q), ['0:0', '1:0', '2:0']);
    await waitFor(() => relays[2]!.queries.stats().peerFailures === failuresBefore + 1, [relays[2]!.queries], ['stats'], 'peer failure');
  });
});

describe('query flooding', () => {
  const FLOOD = 10;
  const BURST = 3;
  let relays: Relay[];
  before(async () => {
    // A query names nobody, so the limit is per peer: relay 1 takes few requests from each.
    relays = await startRelays(3, { lookup: everyoneHolds, queryOptions: (i) => (i === 1 ? { peerLimit: { burst: BURST, perSec: 0.001 } } : {}) });
    await connect(relays, lineEdges(3));
  });
  after(async () => stopRelays(relays));

  it('one peer flooding queries is rate-limited before any lookup or sealing; a query through another peer still gets answers', async () => {
    const [entry, victim, other] = relays as [Relay, Relay, Relay];
    const before = victim.queries.stats();
    const asked1 = asked.get(1) ?? 0;
    const statuses: string[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const req = reqOf(makeCarol().query({ hopLimit: 1, hopsLeft: 0 }), entry.node.relayId);
      statuses.push(QueryResponseCodec.decode(await request(entry.node.libp2p, victim.node.peerId, QUERY_PROTOCOL, req, { maxResponse: 1 << 20 })).status);
    }
    assert.deepEqual(statuses, [...Array<string>(BURST).fill('ok'), ...Array<string>(FLOOD - BURST).fill('rate-limited')]);
    const after = victim.queries.stats();
    assert.equal(after.rateLimited - before.rateLimited, FLOOD - BURST);
    assert.equal(after.handled - before.handled, BURST);
    assert.equal((asked.get(1) ?? 0) - asked1, BURST);

    const q = carol.query({ hopLimit: 1 });
    assert.deepEqual(open(await other.queries.query(q), q), ['1:0', '2:0']);
  });
});
