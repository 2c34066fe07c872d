/**
 * Test networks of real libp2p relays in one process, on 127.0.0.1 port 0. Everything
 * waits on events (connections, grafts, heartbeats, stats), never on sleeps; `waitFor`
 * only fails a test that would otherwise hang.
 */
import { randomBytes } from 'node:crypto';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { TagAnswerCodec, coarseQueryTime, tagOfSecret, tagSecret, type TagAnswer, type TagQuery } from '../../src/core/objects/index.ts';
import { createRelayNode, type RelayNode } from '../../src/p2p/node.ts';
import { ANSWER_INFO } from '../../src/core/objects/index.ts';
import { QueryService, type TagLookup, type QueryServiceOptions } from '../../src/p2p/query.ts';
import { OfferService, type OfferServiceOptions, type OnOffer } from '../../src/p2p/offers.ts';
import { TopologyService } from '../../src/p2p/topology.ts';
import { OFFER_TOPIC } from '../../src/core/wire/p2p.ts';

export interface Relay {
  index: number;
  secret: Uint8Array;
  node: RelayNode;
  queries: QueryService;
  offers: OfferService;
  topology?: TopologyService;
}

export interface NetOptions {
  /** Relay i's lookup; `secret` is its Ed25519 node secret (to sign TagAnswers). */
  lookup?: (i: number, secret: Uint8Array) => TagLookup;
  onOffer?: (i: number, secret: Uint8Array) => OnOffer;
  /** More options of relay i's query service (rate limits). */
  queryOptions?: (i: number) => Partial<QueryServiceOptions>;
  /** More options of relay i's offer service (rate limits, expected relays). */
  offerOptions?: (i: number) => Partial<OfferServiceOptions>;
  /** Run topology exchange and tree forwarding (minPeers: dial known relays up to this many). */
  topology?: { minPeers?: number };
  /** Gossipsub heartbeat, ms. Default 100 (fast meshes for small test networks). */
  heartbeatMs?: number;
}

/** Resolves once `cond()` holds, re-checking whenever one of `targets` fires one of `events`. */
export function waitFor(cond: () => boolean, targets: EventTarget[], events: string[], what: string, guardMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      cleanup();
      resolve();
    };
    const guard = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${what}`));
    }, guardMs);
    const cleanup = (): void => {
      clearTimeout(guard);
      for (const t of targets) for (const e of events) t.removeEventListener(e, check);
    };
    for (const t of targets) for (const e of events) t.addEventListener(e, check);
    check();
  });
}

export async function startRelays(n: number, o: NetOptions = {}): Promise<Relay[]> {
  const relays: Relay[] = [];
  for (let i = 0; i < n; i++) {
    const secret = new Uint8Array(randomBytes(32));
    const node = await createRelayNode({ nodeSecret: secret, heartbeatMs: o.heartbeatMs ?? 100 });
    const topology = o.topology === undefined ? undefined : new TopologyService({ node, debounceMs: 20, republishMs: 2000, minPeers: o.topology.minPeers ?? 0 });
    const queries = new QueryService({ node, lookup: o.lookup?.(i, secret) ?? (() => undefined), ...(topology ? { topology } : {}), ...o.queryOptions?.(i) });
    const offers = new OfferService({ node, onOffer: o.onOffer?.(i, secret) ?? (() => undefined), ...o.offerOptions?.(i) });
    await node.start();
    await queries.start();
    await offers.start();
    await topology?.start();
    relays.push({ index: i, secret, node, queries, offers, ...(topology ? { topology } : {}) });
  }
  return relays;
}

export async function stopRelays(relays: Relay[]): Promise<void> {
  await Promise.all(
    relays.map(async (r) => {
      await r.topology?.stop();
      await r.offers.stop();
      await r.queries.stop();
      await r.node.stop();
    }),
  );
}

export type Edge = [number, number];

export const lineEdges = (n: number): Edge[] => Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as Edge);

/** A connected random graph: a random spanning tree plus `extra` distinct edges (deterministic per seed). */
export function randomEdges(n: number, extra: number, seed: number): Edge[] {
  let s = seed >>> 0;
  const rand = (k: number): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * k;
  };
  const key = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);
  const have = new Set<string>();
  const edges: Edge[] = [];
  for (let i = 1; i < n; i++) {
    const j = Math.floor(rand(i));
    edges.push([j, i]);
    have.add(key(i, j));
  }
  while (edges.length < n - 1 + extra) {
    const a = Math.floor(rand(n));
    const b = Math.floor(rand(n));
    if (a === b || have.has(key(a, b))) continue;
    have.add(key(a, b));
    edges.push([a, b]);
  }
  return edges;
}

/** A busy machine can time out a Noise handshake; a test network should not fail on that. */
export async function dialWithRetry(from: RelayNode, to: RelayNode, attempts = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await from.connect(to.multiaddrs()[0]!);
      return;
    } catch (e) {
      if (i >= attempts) throw e;
    }
  }
}

/** Dials every edge and waits until both ends list each other and the offer mesh spans the graph. */
export async function connect(relays: Relay[], edges: Edge[]): Promise<void> {
  for (const [a, b] of edges) await dialWithRetry(relays[a]!.node, relays[b]!.node);
  const libs = relays.map((r) => r.node.libp2p);
  const linked = (): boolean =>
    edges.every(([a, b]) => {
      const pa = libs[a]!.peerId.toString();
      const pb = libs[b]!.peerId.toString();
      return libs[a]!.getPeers().some((p) => p.toString() === pb) && libs[b]!.getPeers().some((p) => p.toString() === pa);
    });
  await waitFor(linked, libs, ['peer:connect'], 'connections');
  await waitFor(() => meshSpans(relays), libs.map((l) => l.services.pubsub), ['gossipsub:graft', 'gossipsub:heartbeat', 'subscription-change'], 'gossipsub mesh');
}

/** Every relay reaches every other along directed mesh edges (how gossipsub forwards). */
function meshSpans(relays: Relay[]): boolean {
  const byId = new Map(relays.map((r) => [r.node.peerId.toString(), r.index]));
  for (const start of relays) {
    const seen = new Set([start.index]);
    const todo = [start.index];
    while (todo.length > 0) {
      const i = todo.pop()!;
      for (const p of relays[i]!.node.meshPeers(OFFER_TOPIC)) {
        const j = byId.get(p);
        if (j !== undefined && !seen.has(j)) {
          seen.add(j);
          todo.push(j);
        }
      }
    }
    if (seen.size !== relays.length) return false;
  }
  return true;
}

/**
 * Carol as a querier: her identity (her prekey bundles' id is mailboxIdOf(identityKey)), the
 * tags of one conversation seed she looks for, and an answer key pair. Each query gets a fresh
 * one-time answer key unless `answerKey` is given; `keys` opens the answers of the last query
 * made (or `keyOf(queryId)` of any).
 */
export interface Carol {
  identity: IdentityKeyPair;
  identityKey: Uint8Array;
  /** tag_0 of her seed (named mailbox, as the test helpers call a recipient's tag) and its secret: deposit under it, fetch with `secret`. */
  mailbox: Uint8Array;
  secret: Uint8Array;
  seed: Uint8Array;
  /** tag_0 .. tag_7 of her seed. */
  tags: Uint8Array[];
  /** The answer key pair of the last query. */
  keys: IdentityKeyPair;
  keyOf(queryId: Uint8Array): IdentityKeyPair | undefined;
  query(o?: Partial<TagQuery>): TagQuery;
  /** The TagAnswer in a sealed answer to `q` (throws when it does not open with q's answer key). */
  open(sealed: Uint8Array, q: TagQuery): TagAnswer;
}

export function makeCarol(): Carol {
  const identity = IdentityKeyPair.generate();
  const identityKey = identity.publicKey.serialize();
  const seed = new Uint8Array(randomBytes(32));
  const byQuery = new Map<string, IdentityKeyPair>();
  const carol: Carol = {
    identity,
    identityKey,
    mailbox: tagOfSecret(tagSecret(seed, 0)),
    secret: tagSecret(seed, 0),
    seed,
    tags: Array.from({ length: 8 }, (_, i) => tagOfSecret(tagSecret(seed, i))),
    keys: IdentityKeyPair.generate(),
    keyOf: (queryId) => byQuery.get(Buffer.from(queryId).toString('hex')),
    query(o = {}) {
      const hopLimit = o.hopLimit ?? 3;
      const keys = IdentityKeyPair.generate();
      const q: TagQuery = {
        queryId: o.queryId ?? new Uint8Array(randomBytes(16)),
        answerKey: o.answerKey ?? keys.publicKey.serialize(),
        tags: o.tags ?? carol.tags,
        timestamp: o.timestamp ?? coarseQueryTime(Date.now()),
        hopLimit,
        hopsLeft: o.hopsLeft ?? hopLimit,
      };
      carol.keys = keys;
      byQuery.set(Buffer.from(q.queryId).toString('hex'), keys);
      return q;
    },
    open(sealed, q) {
      const k = carol.keyOf(q.queryId);
      if (k === undefined) throw new Error('not a query of this Carol');
      return TagAnswerCodec.decode(k.privateKey.open(sealed as Uint8Array<ArrayBuffer>, ANSWER_INFO, q.queryId as Uint8Array<ArrayBuffer>));
    },
  };
  return carol;
}

export const sum = (relays: Relay[], f: (r: Relay) => number): number => relays.reduce((acc, r) => acc + f(r), 0);

/** Every relay's announced topology holds every relay with exactly its current connections. */
export function topologySettled(relays: Relay[]): boolean {
  const actual = new Map<string, string>();
  for (const r of relays) {
    const ids = r.node.libp2p.getPeers().map((p) => Buffer.from(p.publicKey!.raw).toString('hex'));
    actual.set(Buffer.from(r.node.relayId).toString('hex'), ids.sort().join());
  }
  return relays.every((r) => {
    const t = r.topology!.topology();
    return [...actual].every(([id, ns]) => t.get(id)?.join() === ns);
  });
}

export async function waitTopology(relays: Relay[]): Promise<void> {
  await waitFor(() => topologySettled(relays), relays.map((r) => r.topology!), ['change'], 'topology exchange');
}
