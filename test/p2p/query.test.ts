import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { mailboxIdOf } from '../../src/core/objects/index.ts';
import { P2pError } from '../../src/p2p/errors.ts';
import { ANSWER_INFO } from '../../src/p2p/query.ts';
import { request } from '../../src/p2p/rpc.ts';
import { QUERY_PROTOCOL, QueryRequestCodec, QueryResponseCodec } from '../../src/p2p/wire.ts';
import { connect, lineEdges, makeCarol, randomEdges, startRelays, stopRelays, sum, waitFor, type Relay } from './net.ts';

const carol = makeCarol();
const te = new TextEncoder();
const td = new TextDecoder();
const held = (i: number): Uint8Array => te.encode(`relay-${i}`);
const open = (answers: Uint8Array[], queryId: Uint8Array): string[] =>
  answers.map((a) => td.decode(carol.keys.privateKey.open(a as Uint8Array<ArrayBuffer>, ANSWER_INFO, queryId as Uint8Array<ArrayBuffer>))).sort();

function snapshot(relays: Relay[]): { forwards: number; duplicates: number; handled: number[] } {
  return { forwards: sum(relays, (r) => r.queries.stats().forwards), duplicates: sum(relays, (r) => r.queries.stats().duplicates), handled: relays.map((r) => r.queries.stats().handled) };
}

describe('mailbox queries on a line of 8 relays', () => {
  let relays: Relay[];
  // Relays 3, 5 and 7 hold something for Carol; every relay answers only for her mailbox.
  const holders = new Set([3, 5, 7]);
  before(async () => {
    relays = await startRelays(8, { lookup: (i) => (m) => (holders.has(i) && m.every((b, k) => b === carol.mailbox[k]) ? held(i) : undefined) });
    await connect(relays, lineEdges(8));
  });
  after(async () => stopRelays(relays));

  it('finds what the far edge holds with hop limit 7, one forward per link, sealed to Carol', async () => {
    const before = snapshot(relays);
    const q = carol.query({ hopLimit: 7 });
    const answers = await relays[0]!.queries.query(q);
    assert.deepEqual(open(answers, q.queryId), ['relay-3', 'relay-5', 'relay-7']);
    const after = snapshot(relays);
    assert.equal(after.forwards - before.forwards, 7);
    assert.equal(after.duplicates - before.duplicates, 0);
    // Nobody else can open an answer: it is HPKE-sealed to Carol's identity key.
    assert.throws(() => IdentityKeyPair.generate().privateKey.open(answers[0]! as Uint8Array<ArrayBuffer>, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
  });

  it('respects the hop limit: 3 hops reach relay 3, not relays 4..7', async () => {
    const before = snapshot(relays);
    const q = carol.query({ hopLimit: 3 });
    const answers = await relays[0]!.queries.query(q);
    assert.deepEqual(open(answers, q.queryId), ['relay-3']);
    const after = snapshot(relays);
    assert.deepEqual(after.handled.map((h, i) => h - before.handled[i]!), [1, 1, 1, 1, 0, 0, 0, 0]);
    assert.equal(after.forwards - before.forwards, 3);
  });

  it('refuses a replayed query id at the entry relay and at its peers', async () => {
    const q = carol.query({ hopLimit: 2 });
    await relays[4]!.queries.query(q);
    await assert.rejects(relays[4]!.queries.query(q), (e) => P2pError.is(e, 'DUPLICATE'));
    const dupBefore = relays[5]!.queries.stats().duplicates;
    const res = QueryResponseCodec.decode(
      await request(relays[6]!.node.libp2p, relays[5]!.node.peerId, QUERY_PROTOCOL, QueryRequestCodec.encode({ kind: 'mailbox', query: { ...q, hopsLeft: 0 }, budgetMs: 1000, root: new Uint8Array(32), covered: [] }), { maxResponse: 1 << 20 }),
    );
    assert.equal(res.status, 'duplicate');
    assert.equal(relays[5]!.queries.stats().duplicates, dupBefore + 1);
  });

  it('refuses a bad signature, a stale timestamp and a mailbox that is not the key owner\'s', async () => {
    const good = carol.query();
    const badSig = { ...good, signature: good.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await assert.rejects(relays[0]!.queries.query(badSig), (e) => P2pError.is(e, 'BAD_SIGNATURE'));
    const stale = carol.query({ timestamp: Date.now() - 10 * 60_000 });
    await assert.rejects(relays[0]!.queries.query(stale), (e) => P2pError.is(e, 'STALE'));
    const future = carol.query({ timestamp: Date.now() + 10 * 60_000 });
    await assert.rejects(relays[0]!.queries.query(future), (e) => P2pError.is(e, 'STALE'));
    // Signed correctly by Carol, but for someone else's mailbox.
    const other = mailboxIdOf(IdentityKeyPair.generate().publicKey.serialize());
    await assert.rejects(relays[0]!.queries.query(carol.query({ mailbox: other })), (e) => P2pError.is(e, 'WRONG_MAILBOX'));
    // Another identity's signature over Carol's query.
    const mallory = IdentityKeyPair.generate();
    await assert.rejects(relays[0]!.queries.query(carol.query({ identityKey: mallory.publicKey.serialize() })), (e) => P2pError.is(e, 'WRONG_MAILBOX'));
  });

  it('a peer refuses a forwarded bad query and garbage, and forwards neither', async () => {
    const target = relays[2]!;
    const before = target.queries.stats();
    const send = async (bytes: Uint8Array) =>
      QueryResponseCodec.decode(await request(relays[1]!.node.libp2p, target.node.peerId, QUERY_PROTOCOL, bytes, { maxResponse: 1 << 20 }));
    const q = carol.query({ hopLimit: 3 });
    const forged = { ...q, signature: new Uint8Array(64) };
    assert.equal((await send(QueryRequestCodec.encode({ kind: 'mailbox', query: forged, budgetMs: 1000, root: new Uint8Array(32), covered: [] }))).status, 'refused');
    assert.equal((await send(new Uint8Array([0x21, 1, 9, 9]))).status, 'refused');
    // hopsLeft above the signed hopLimit is not a valid encoding.
    const raised = QueryRequestCodec.encode({ kind: 'mailbox', query: q, budgetMs: 1000, root: new Uint8Array(32), covered: [] });
    raised[2 + 1 + 2 + 16 + 32 + 33 + 8 + 1 + 64] = 9;
    assert.equal((await send(raised)).status, 'refused');
    const after = target.queries.stats();
    assert.equal(after.refused - before.refused, 3);
    assert.equal(after.forwards, before.forwards);
    assert.equal(after.handled, before.handled);
  });
});

describe('mailbox queries on a random connected graph of 8 relays', () => {
  let relays: Relay[];
  const edges = randomEdges(8, 4, 7);
  before(async () => {
    relays = await startRelays(8, { lookup: (i) => () => held(i) });
    await connect(relays, edges);
  });
  after(async () => stopRelays(relays));

  it('reaches every relay once; each extra delivery is a counted duplicate; at most one forward per link direction', async () => {
    for (const entry of [0, 3, 7]) {
      const before = snapshot(relays);
      const q = carol.query({ hopLimit: 7 });
      const answers = await relays[entry]!.queries.query(q);
      assert.deepEqual(open(answers, q.queryId), Array.from({ length: 8 }, (_, i) => `relay-${i}`).sort());
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
      lookup: (i) => async () => {
        if (i === 3) {
          reached();
          await gate; // holds relay 3 inside the query until the test stops it
        }
        return held(i);
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
    assert.deepEqual(open(answers, q.queryId), ['relay-0', 'relay-1', 'relay-2']);
    await waitFor(() => relays[2]!.queries.stats().peerFailures === failuresBefore + 1, [relays[2]!.queries], ['stats'], 'peer failure');
  });
});

describe('query flooding', () => {
  const FLOOD = 10;
  const BURST = 3;
  let relays: Relay[];
  before(async () => {
    // Relay 1 holds something for every mailbox and takes few queries per mailbox owner.
    relays = await startRelays(2, { lookup: (i) => () => held(i), queryOptions: (i) => (i === 1 ? { originLimit: { burst: BURST, perSec: 0.001 } } : {}) });
    await connect(relays, lineEdges(2));
  });
  after(async () => stopRelays(relays));

  it('one mailbox owner flooding queries is rate-limited before anything is sealed; another owner\'s query still gets answers', async () => {
    const [entry, victim] = relays as [Relay, Relay];
    const mallory = makeCarol();
    const before = victim.queries.stats();
    const statuses: string[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const req = QueryRequestCodec.encode({ kind: 'mailbox', query: mallory.query({ hopLimit: 1, hopsLeft: 0 }), budgetMs: 1000, root: entry.node.relayId, covered: [] });
      statuses.push(QueryResponseCodec.decode(await request(entry.node.libp2p, victim.node.peerId, QUERY_PROTOCOL, req, { maxResponse: 1 << 20 })).status);
    }
    assert.deepEqual(statuses, [...Array<string>(BURST).fill('ok'), ...Array<string>(FLOOD - BURST).fill('rate-limited')]);
    const after = victim.queries.stats();
    assert.equal(after.rateLimited - before.rateLimited, FLOOD - BURST);
    assert.equal(after.handled - before.handled, BURST);

    const q = carol.query({ hopLimit: 1 });
    assert.deepEqual(open(await entry.queries.query(q), q.queryId), ['relay-0', 'relay-1']);
  });
});
