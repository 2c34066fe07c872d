// Lookups (prekey-bundle holders, relay information) over real libp2p relays on 127.0.0.1:
// signed answers, the hop limit, duplicate suppression, and answers forged on the way back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { P2pError } from '../../src/p2p/errors.ts';
import { LookupService, ZERO_TARGET, type LookupServiceOptions } from '../../src/p2p/lookup.ts';
import { LookupAnswerCodec, openLookupAnswer, signLookupAnswer, type RelayTerms } from '../../src/core/wire/lookup-answer.ts';
import { request, serve } from '../../src/p2p/rpc.ts';
import { LOOKUP_PROTOCOL, LookupRequestCodec, QueryResponseCodec, type LookupRequest } from '../../src/core/wire/p2p.ts';
import { EncodingError } from '../../src/core/codec.ts';
import { connect, lineEdges, startRelays, stopRelays, waitTopology, type Relay } from './net.ts';

const ed = nodeEd25519();
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const mailbox = rnd(32);
const HOLDER = 4;

const terms = (i: number, r: Relay): RelayTerms => ({
  name: `relay ${i}`, network: 'regtest', acceptedModes: ['sender-pays', 'recipient-pays'], price: { baseSats: 1000 + i, perBlockSats: 50, perDaySats: 100 },
  maxMessageBytes: 1 << 20, maxRetentionSecs: 86_400, confirmations: 1, lockBlocks: 30, claimMarginBlocks: 3,
  ...(i % 2 === 0 ? { channels: { minCapacitySats: 10_000, maxCapacitySats: 1_000_000, minChannelBlocks: 10, maxChannelBlocks: 1000, minClaimMarginBlocks: 3, confirmations: 1, maxFeeRate: 50 } } : {}),
  multiaddrs: r.node.multiaddrs().map(String),
});

function addLookups(relays: Relay[], more?: (i: number) => Partial<LookupServiceOptions>): LookupService[] {
  return relays.map(
    (r, i) =>
      new LookupService({
        ...more?.(i),
        node: r.node, topology: r.topology!, ed, sign: (m) => ed.sign(r.secret, m), maxHops: 8,
        answerer: {
          url: () => `http://relay-${i}.test`,
          prekeys: (m) => (i === HOLDER && hex.encode(m) === hex.encode(mailbox) ? { oneTimePreKeys: 7, kyberPreKeys: 2 } : undefined),
          relayInfo: () => terms(i, r),
        },
      }),
  );
}

const total = (ls: LookupService[], k: 'forwards' | 'duplicates' | 'dropped' | 'refused') => ls.reduce((a, l) => a + l.stats()[k], 0);

describe('lookups on a line of 5 relays', () => {
  let relays: Relay[];
  let lookups: LookupService[];
  before(async () => {
    relays = await startRelays(5, { topology: {} });
    lookups = addLookups(relays);
    for (const l of lookups) await l.start();
    await connect(relays, lineEdges(5));
    await waitTopology(relays);
  });
  after(async () => {
    for (const l of lookups) await l.stop();
    await stopRelays(relays);
  });

  it('finds the bundle holder at the far edge, signed by it; one forward per link', async () => {
    const f0 = total(lookups, 'forwards');
    const lookupId = rnd(16);
    const answers = await lookups[0]!.lookup('prekeys', mailbox, { lookupId, hops: 4 });
    assert.equal(answers.length, 1);
    const a = openLookupAnswer(answers[0]!, { kind: 'prekeys', lookupId, target: mailbox }, ed)!;
    assert.ok(a);
    assert.equal(a.kind, 'prekeys');
    assert.deepEqual(a.relayId, relays[HOLDER]!.node.relayId);
    assert.equal(a.url, `http://relay-${HOLDER}.test`);
    assert.deepEqual(a.kind === 'prekeys' && a.prekeys, { oneTimePreKeys: 7, kyberPreKeys: 2 });
    assert.equal(total(lookups, 'forwards') - f0, 4, 'the tree: 4 links, 4 forwards');
    // The same answer checked for another lookup id or mailbox fails.
    assert.equal(openLookupAnswer(answers[0]!, { kind: 'prekeys', lookupId: rnd(16), target: mailbox }, ed), undefined);
    assert.equal(openLookupAnswer(answers[0]!, { kind: 'prekeys', lookupId, target: rnd(32) }, ed), undefined);
  });

  it('relay-info returns every relay within the hop limit and no further, own answer first', async () => {
    const lookupId = rnd(16);
    const answers = await lookups[0]!.lookup('relay-info', ZERO_TARGET, { lookupId, hops: 3 });
    const opened = answers.map((b) => openLookupAnswer(b, { kind: 'relay-info', lookupId, target: ZERO_TARGET }, ed)!);
    assert.deepEqual(opened.map((a) => hex.encode(a.relayId)), [0, 1, 2, 3].map((i) => hex.encode(relays[i]!.node.relayId)));
    const r2 = opened[2]!;
    assert.ok(r2.kind === 'relay-info');
    assert.deepEqual(r2.kind === 'relay-info' && r2.relay, terms(2, relays[2]!));
    const r1 = opened[1]!;
    assert.equal(r1.kind === 'relay-info' && r1.relay.channels, undefined);
    // Hops 0: only the entry relay.
    assert.equal((await lookups[2]!.lookup('relay-info', ZERO_TARGET, { hops: 0 })).length, 1);
  });

  it('refuses a repeated lookup id at the entry and at a peer (duplicate suppression)', async () => {
    const lookupId = rnd(16);
    await lookups[1]!.lookup('relay-info', ZERO_TARGET, { lookupId, hops: 1 });
    await assert.rejects(lookups[1]!.lookup('relay-info', ZERO_TARGET, { lookupId }), (e) => P2pError.is(e, 'DUPLICATE'));
    const req: LookupRequest = { kind: 'relay-info', lookupId, target: ZERO_TARGET, timestamp: Date.now(), hopsLeft: 0, budgetMs: 1000, root: new Uint8Array(32), covered: [] };
    const d0 = lookups[2]!.stats().duplicates;
    const res = QueryResponseCodec.decode(await request(relays[3]!.node.libp2p, relays[2]!.node.peerId, LOOKUP_PROTOCOL, LookupRequestCodec.encode(req), { maxResponse: 1 << 20 }));
    assert.equal(res.status, 'duplicate');
    assert.equal(lookups[2]!.stats().duplicates, d0 + 1);
  });

  it('refuses stale, malformed and garbage requests from peers, and bad local input, with typed errors', async () => {
    const target = relays[2]!;
    const send = async (bytes: Uint8Array) =>
      QueryResponseCodec.decode(await request(relays[1]!.node.libp2p, target.node.peerId, LOOKUP_PROTOCOL, bytes, { maxResponse: 1 << 20 }));
    const base: LookupRequest = { kind: 'relay-info', lookupId: rnd(16), target: ZERO_TARGET, timestamp: Date.now(), hopsLeft: 1, budgetMs: 1000, root: new Uint8Array(32), covered: [] };
    const r0 = lookups[2]!.stats().refused;
    assert.equal((await send(LookupRequestCodec.encode({ ...base, timestamp: Date.now() - 3_600_000 }))).status, 'refused');
    assert.equal((await send(new Uint8Array([0x24, 1, 3, 0]))).status, 'refused');
    // A relay-info lookup with a non-zero target is not a valid encoding.
    const bad = LookupRequestCodec.encode(base);
    bad[2 + 1 + 16] = 1;
    assert.equal((await send(bad)).status, 'refused');
    assert.equal(lookups[2]!.stats().refused - r0, 3);
    assert.throws(() => LookupRequestCodec.encode({ ...base, target: rnd(32) }), (e) => EncodingError.is(e, 'BAD_VALUE'));
    await assert.rejects(lookups[0]!.lookup('prekeys', rnd(31)), (e) => P2pError.is(e, 'BAD_MESSAGE'));
    await assert.rejects(lookups[0]!.lookup('prekeys', mailbox, { lookupId: rnd(15) }), (e) => P2pError.is(e, 'BAD_MESSAGE'));
    await assert.rejects(lookups[0]!.lookup('relay-info', rnd(32)), (e) => P2pError.is(e, 'BAD_MESSAGE'));
  });
});

describe('an answer forged on the return path', () => {
  let relays: Relay[];
  let lookups: LookupService[];
  before(async () => {
    relays = await startRelays(3, { topology: {} });
    lookups = addLookups(relays);
    await lookups[0]!.start();
    await lookups[2]!.start();
    // Relay 1 is malicious: it answers with relay 2's genuine answer tampered after signing,
    // an answer it signed itself for another lookup id, and one "signed" under relay 2's id with its own key.
    await serve(relays[1]!.node.libp2p, LOOKUP_PROTOCOL, 1 << 16, async (bytes) => {
      const req = LookupRequestCodec.decode(bytes);
      const genuine = signLookupAnswer({ kind: 'relay-info', lookupId: req.lookupId, target: req.target, relayId: relays[2]!.node.relayId, url: 'http://relay-2.test', relay: terms(2, relays[2]!) }, (m) => ed.sign(relays[2]!.secret, m));
      const tampered = LookupAnswerCodec.decode(genuine);
      const price = { ...(tampered.kind === 'relay-info' ? tampered.relay.price : { baseSats: 0, perBlockSats: 0, perDaySats: 0 }), baseSats: 1 };
      const altered = LookupAnswerCodec.encode({ ...tampered, ...(tampered.kind === 'relay-info' ? { relay: { ...tampered.relay, price } } : {}) } as typeof tampered);
      const replayed = signLookupAnswer({ kind: 'relay-info', lookupId: rnd(16), target: req.target, relayId: relays[1]!.node.relayId, url: 'http://relay-1.test', relay: terms(1, relays[1]!) }, (m) => ed.sign(relays[1]!.secret, m));
      const impostor = signLookupAnswer({ kind: 'relay-info', lookupId: req.lookupId, target: req.target, relayId: relays[2]!.node.relayId, url: 'http://evil.test', relay: terms(2, relays[2]!) }, (m) => ed.sign(relays[1]!.secret, m));
      return QueryResponseCodec.encode({ status: 'ok', answers: [altered, replayed, impostor, new Uint8Array([0x25, 1, 9])] });
    });
    await connect(relays, lineEdges(3));
    await waitTopology(relays);
  });
  after(async () => {
    await lookups[0]!.stop();
    await lookups[2]!.stop();
    await relays[1]!.node.libp2p.unhandle(LOOKUP_PROTOCOL);
    await stopRelays(relays);
  });

  it('is dropped by the relay that receives it and counted', async () => {
    const lookupId = rnd(16);
    const d0 = lookups[0]!.stats().dropped;
    const answers = await lookups[0]!.lookup('relay-info', ZERO_TARGET, { lookupId, hops: 2 });
    const ids = answers.map((b) => hex.encode(openLookupAnswer(b, { kind: 'relay-info', lookupId, target: ZERO_TARGET }, ed)!.relayId));
    assert.deepEqual(ids, [hex.encode(relays[0]!.node.relayId)], 'only the entry relay\'s own answer survives');
    assert.equal(lookups[0]!.stats().dropped - d0, 4);
  });
});

describe('lookup flooding', () => {
  const FLOOD = 20;
  const BURST = 5;
  let relays: Relay[];
  let lookups: LookupService[];
  before(async () => {
    // 0: an honest entry relay; 1: the relay under attack, with a tight limit per neighbour; 2: the flooder.
    relays = await startRelays(3, { topology: {} });
    lookups = addLookups(relays, (i) => (i === 1 ? { peerLimit: { burst: BURST, perSec: 0.001 } } : {}));
    for (const l of lookups) await l.start();
    await connect(relays, lineEdges(3));
    await waitTopology(relays);
  });
  after(async () => {
    for (const l of lookups) await l.stop();
    await stopRelays(relays);
  });

  it('a peer flooding lookups is rate-limited before anything is signed; others\' lookups still get answers', async () => {
    const [entry, victim, flooder] = relays as [Relay, Relay, Relay];
    const before = lookups[1]!.stats();
    const statuses: string[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const req: LookupRequest = { kind: 'relay-info', lookupId: rnd(16), target: ZERO_TARGET, timestamp: Date.now(), hopsLeft: 0, budgetMs: 1000, root: flooder.node.relayId, covered: [] };
      const res = QueryResponseCodec.decode(await request(flooder.node.libp2p, victim.node.peerId, LOOKUP_PROTOCOL, LookupRequestCodec.encode(req), { maxResponse: 1 << 20 }));
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [...Array<string>(BURST).fill('ok'), ...Array<string>(FLOOD - BURST).fill('rate-limited')]);
    const after = lookups[1]!.stats();
    assert.equal(after.rateLimited - before.rateLimited, FLOOD - BURST);
    assert.equal(after.handled - before.handled, BURST, 'only the requests within the limit were answered (and signed)');

    const lookupId = rnd(16);
    const answers = await lookups[0]!.lookup('relay-info', ZERO_TARGET, { lookupId, hops: 1 });
    const ids = answers.map((b) => hex.encode(openLookupAnswer(b, { kind: 'relay-info', lookupId, target: ZERO_TARGET }, ed)!.relayId));
    assert.deepEqual(ids, [entry, victim].map((r) => hex.encode(r.node.relayId)));
  });
});
