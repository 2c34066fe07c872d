import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { signQuote, verifyQuote, type Offer, type Quote } from '../../src/core/objects/index.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { P2pError } from '../../src/p2p/errors.ts';
import { OfferService, type OnOffer } from '../../src/p2p/offers.ts';
import { OFFER_TOPIC, OfferAnnouncementCodec } from '../../src/core/wire/p2p.ts';
import { connect, lineEdges, randomEdges, startRelays, stopRelays, waitFor, type Relay } from './net.ts';

const ed = nodeEd25519();
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function makeOffer(o: Partial<Offer> = {}): Offer {
  return { offerId: rnd(16), tag: rnd(32), mode: 'sender-pays', size: 1000, maxFee: 500, retentionSecs: 86400, createdAt: Date.now(), ...o };
}

function quoteFor(offer: Offer, secret: Uint8Array, o: Partial<Quote> = {}): Quote {
  const q = signQuote(
    {
      quoteId: rnd(16),
      offerId: offer.offerId,
      relayId: ed.publicKey(secret),
      relayUrl: 'http://127.0.0.1:1',
      network: 'regtest',
      tag: offer.tag,
      mode: offer.mode,
      size: offer.size,
      hk: rnd(32),
      contractPubkey: new Uint8Array([2, ...rnd(32)]),
      amount: 100,
      locktime: 500,
      expiresAt: Date.now() + 86400_000,
      validUntil: Date.now() + 60_000,
    },
    secret,
    ed,
  );
  return { ...q, ...o };
}

const ids = (qs: Quote[]): string[] => qs.map((q) => hex.encode(q.relayId)).sort();

describe('offers on a line of 8 relays', () => {
  let relays: Relay[];
  const asked: number[] = [];
  before(async () => {
    relays = await startRelays(8, {
      onOffer: (i, secret) => (offer) => {
        asked.push(i);
        return quoteFor(offer, secret);
      },
    });
    await connect(relays, lineEdges(8));
  });
  after(async () => stopRelays(relays));

  it('reach every relay; every quote returns to the origin, signed by the relay that sent it', async () => {
    asked.length = 0;
    const offer = makeOffer();
    const quotes = await relays[0]!.offers.collectQuotes(offer, { windowMs: 20_000, expected: 8 });
    assert.deepEqual(ids(quotes), ids(relays.map((r) => ({ relayId: r.node.relayId }) as Quote)));
    assert.ok(quotes.every((q) => verifyQuote(q, ed) && hex.encode(q.offerId) === hex.encode(offer.offerId)));
    assert.deepEqual([...asked].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('from the middle of the line too', async () => {
    const quotes = await relays[4]!.offers.collectQuotes(makeOffer(), { windowMs: 20_000, expected: 8 });
    assert.equal(quotes.length, 8);
  });

  it('returns what came when the caller aborts, and refuses to run stopped', async () => {
    const ac = new AbortController();
    ac.abort();
    const quotes = await relays[0]!.offers.collectQuotes(makeOffer(), { windowMs: 20_000, signal: ac.signal, includeSelf: false });
    assert.ok(quotes.length < 8);
    const idle = new OfferService({ node: relays[0]!.node, onOffer: () => undefined });
    await assert.rejects(idle.collectQuotes(makeOffer(), { windowMs: 1 }), (e) => P2pError.is(e, 'NOT_STARTED'));
  });
});

describe('offers on a random graph with dishonest and declining relays', () => {
  let relays: Relay[];
  const secrets: Uint8Array[] = [];
  // 2 declines; 3 overcharges; 5 claims to be relay 6 (a quote signed with 6's key, sent by 5);
  // 6 sends a quote with a broken signature. 0, 1, 4, 7 quote honestly.
  const policy = (i: number, secret: Uint8Array): OnOffer => {
    secrets[i] = secret;
    return (offer) => {
      if (i === 2) return undefined;
      if (i === 3) return quoteFor(offer, secret, { amount: offer.maxFee + 1 });
      if (i === 5) return quoteFor(offer, secrets[6]!);
      if (i === 6) return quoteFor(offer, secret, { size: offer.size + 1 });
      return quoteFor(offer, secret);
    };
  };
  before(async () => {
    // Every relay expects all the others, as a relay daemon expects those its topology reaches.
    relays = await startRelays(8, { onOffer: policy, offerOptions: () => ({ expectedRelays: () => relays.map((r) => hex.encode(r.node.relayId)) }) });
    await connect(relays, randomEdges(8, 3, 11));
  });
  after(async () => stopRelays(relays));

  it('keeps only honest quotes and counts the refused ones', async () => {
    const origin = relays[0]!;
    const quotes = await origin.offers.collectQuotes(makeOffer(), { windowMs: 20_000, expected: 4 });
    assert.deepEqual(ids(quotes), ids([0, 1, 4, 7].map((i) => ({ relayId: relays[i]!.node.relayId }) as Quote)));
    // The three bad quotes reach the origin too (maybe after the collection ended) and are refused.
    await waitFor(() => origin.offers.stats().quotesRefused >= 3, [origin.offers], ['stats'], 'refusals');
    await waitFor(() => relays[2]!.offers.stats().offersSeen === 1, [relays[2]!.offers], ['stats'], 'offer at the declining relay');
    assert.equal(relays[2]!.offers.stats().quotesSent + relays[2]!.offers.stats().quoteSendFailures, 0);
  });

  // A window far longer than this test may run: only an early end lets collect() return.
  it('offer collection returns as soon as every expected relay has answered', { timeout: 40_000 }, async () => {
    const got = await relays[0]!.offers.collect(makeOffer(), { windowMs: 60_000 });
    assert.deepEqual(ids(got.quotes), ids([0, 1, 4, 7].map((i) => ({ relayId: relays[i]!.node.relayId }) as Quote)));
    // 2 declined, 3, 5 and 6 answered with bad quotes: all seven answered.
    assert.deepEqual([got.expected, got.answered], [7, 7]);
    assert.ok(relays[2]!.offers.stats().declinesSent >= 1);
  });

  // Every relay that saw an offerId drops it: offered again (here or at another relay that
  // received it by gossip), nobody would answer, so nobody is waited for.
  it('an offer offered again ends with the own answer alone, expecting nobody', { timeout: 40_000 }, async () => {
    const offer = makeOffer();
    const first = await relays[0]!.offers.collect(offer, { windowMs: 60_000 });
    assert.deepEqual([first.expected, first.answered], [7, 7]);
    const seen = relays[4]!.offers.stats().offersSeen;
    for (const at of [0, 4]) {
      const again = await relays[at]!.offers.collect(offer, { windowMs: 60_000 });
      assert.deepEqual([again.expected, again.answered], [0, 0], `offered again at relay ${at}`);
      assert.deepEqual(ids(again.quotes), ids([relays[at]!.node.relayId].map((relayId) => ({ relayId }) as Quote)), 'its own quote only');
    }
    assert.equal(relays[4]!.offers.stats().offersSeen, seen, 'not published again');
  });
});

describe('offer flooding', () => {
  let relays: Relay[];
  const FLOOD = 40;
  const BURST = 5;
  // Offer ids relay 1 handed to its quote policy, by origin index.
  const asked: Map<number, number> = new Map();
  const byId = new Map<string, number>();
  before(async () => {
    // 0: an honest origin; 1: the relay under attack, with a tight limit per origin; 2: the flooder.
    relays = await startRelays(3, {
      onOffer: (i, secret) => (offer) => {
        if (i !== 1) return undefined;
        const from = byId.get(hex.encode(offer.offerId)) ?? 0;
        asked.set(from, (asked.get(from) ?? 0) + 1);
        return quoteFor(offer, secret);
      },
      offerOptions: (i) => (i === 1 ? { originLimit: { burst: BURST, perSec: 0.001 } } : {}),
    });
    await connect(relays, lineEdges(3));
  });
  after(async () => stopRelays(relays));

  it('a peer flooding offers is rate-limited and scored down; others\' offers still get quotes', async () => {
    const [honest, victim, flooder] = relays as [Relay, Relay, Relay];
    const pubsub = flooder.node.libp2p.services.pubsub;
    for (let i = 0; i < FLOOD; i++) {
      const offer = makeOffer();
      byId.set(hex.encode(offer.offerId), 2);
      await pubsub.publish(OFFER_TOPIC, OfferAnnouncementCodec.encode({ offer, originAddrs: flooder.node.multiaddrs().map(String) }));
    }
    const flooderId = flooder.node.peerId;
    await waitFor(
      () => victim.node.peerScore(flooderId) < 0 && !victim.node.meshPeers(OFFER_TOPIC).includes(flooderId.toString()),
      [victim.node.libp2p.services.pubsub],
      ['gossipsub:heartbeat'],
      'the flooder scored down and pruned from the offer mesh',
    );
    assert.ok((asked.get(2) ?? 0) <= BURST, `the victim quoted ${asked.get(2)} of the flood, at most ${BURST} expected`);
    assert.ok(victim.offers.stats().offersRateLimited >= 1);

    const quotes = await honest.offers.collectQuotes(makeOffer(), { windowMs: 20_000, expected: 1, includeSelf: false });
    assert.deepEqual(ids(quotes), ids([{ relayId: victim.node.relayId } as Quote]));
    assert.equal(asked.get(0), 1);
  });
});
