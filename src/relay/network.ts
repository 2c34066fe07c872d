/**
 * The relay in the relay network (docs/protocol.md, "Relay network"): a libp2p node whose
 * identity is the relay's node key, an OfferService that quotes network offers with the
 * relay's own quote logic, a QueryService that answers tag queries from the relay's
 * store, and a TopologyService that keeps forwarding on one tree and the overlay dense.
 * Also the HTTP routes a client uses to reach the network through this relay:
 *
 *   POST /v1/offer          body Offer (0x01). 200 {"quotes": [hex Quote], "expected": E,
 *                           "answered": A}: every quote the network returned, this relay's own
 *                           included, as soon as each of the E relays its announced topology
 *                           reaches has quoted or declined (A = E), else when offerWindowMs
 *                           passes (A < E). ?windowMs=W shortens the window; ?expected=N
 *                           answers as soon as N quotes came (BAD_REQUEST outside 1..60000 and 1..256).
 *   POST /v1/tags/query     body TagQuery (0x10): tags and a one-time answer key, nobody named.
 *                           200 {"answers": [hex sealed answer]}; each opens with the answer
 *                           key's private key (info "satpost/v1/query-answer", aad queryId)
 *                           to a TagAnswer (0x11) signed by the relay that gives it.
 *
 *   GET /v1/lookup/prekeys/:mailboxHex   which relays hold a prekey bundle for the mailbox
 *   GET /v1/lookup/relays                which relays exist, and their terms
 *                           ?id=<32 hex> the lookup id (default: random; a client that picks
 *                           it can tell its answers from replayed ones), ?hops=N the hop limit
 *                           (default 3, at most queryHopLimit). 200 {"lookupId", "answers":
 *                           [hex LookupAnswer (0x25)]}: every signed answer the network
 *                           returned within queryBudgetMs, this relay's own first when it has one.
 *                           A lookup never consumes a one-time prekey.
 *
 * With p2p off all answer P2P_OFF (503), before any input is judged; a refused query or
 * lookup is QUERY_REFUSED with `reason` STALE, BAD_KEY or DUPLICATE.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { hex } from '@scure/base';
import { Counter, Gauge } from 'prom-client';
import { OFFER_TAG, OfferCodec, QuoteCodec, TAG_QUERY_TAG, TagAnswerCodec, TagQueryCodec, tagAnswerSigningBytes, type Offer, type Quote, type TagQuery } from '../core/objects/index.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { P2pError, type P2pErrorCode } from '../p2p/errors.ts';
import { LookupService, ZERO_TARGET } from '../p2p/lookup.ts';
import { MAX_RELAY_NAME, type RelayTerms } from '../core/wire/lookup-answer.ts';
import { createRelayNode, type RelayNode } from '../p2p/node.ts';
import { DEFAULT_LOOKUP_HOPS, LOOKUP_ANSWER_TAG, MAX_ORIGIN_ADDRS, type LookupKind } from '../core/wire/p2p.ts';
import { OfferService, type OfferCollection } from '../p2p/offers.ts';
import { QueryService } from '../p2p/query.ts';
import { TopologyService } from '../p2p/topology.ts';
import type { ChannelTerms } from './channels.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import { decode, retiredRoute } from './http.ts';
import { binaryObject, objectLabel, type RouteApi } from './openapi.ts';
import type { RelayMetrics } from './metrics.ts';
import type { RelayService } from './service.ts';
import type { RelayStore } from './store.ts';

/** Tags one TagAnswer names at most: its sealed form must fit MAX_ANSWER with room for the URL. */
export const ANSWER_TAGS_MAX = 400;

/** Test and operator tuning that is not a documented setting. */
export interface NetworkTuning {
  /** Gossipsub heartbeat, ms (default 1000). */
  heartbeatMs?: number;
  /** Topology announcement debounce, ms (default 100). */
  topologyDebounceMs?: number;
}

export interface RelayNetworkDeps {
  config: RelayConfig;
  nodeSecret: Uint8Array;
  service: RelayService;
  store: RelayStore;
  metrics: RelayMetrics;
  log: Logger;
  now?: () => number;
  tuning?: NetworkTuning;
  /** The prekey pools, for prekey lookups (read-only; no answers without it). */
  prekeys?: { poolSizes(mailbox: Uint8Array): { oneTimePreKeys: number; kyberPreKeys: number } | undefined };
  /** Payment-channel terms for relay-info answers; absent: no channels. */
  channelTerms?: () => ChannelTerms;
}

export interface NetworkInfo {
  enabled: boolean;
  peerId?: string;
  multiaddrs?: string[];
}

interface Running {
  node: RelayNode;
  offers: OfferService;
  queries: QueryService;
  lookups: LookupService;
  topology: TopologyService;
}

function listenAddr(host: string, port: number): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `/ip4/${host}/tcp/${port}`;
  if (host.includes(':')) return `/ip6/${host}/tcp/${port}`;
  throw new RelayError('BAD_CONFIG', `"host" expected an IP address for the relay network (p2p), got ${JSON.stringify(host)}`);
}

export class RelayNetwork {
  private running: Running | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: RelayNetworkDeps) {
    this.now = deps.now ?? Date.now;
    this.registerMetrics();
  }

  get enabled(): boolean {
    return this.running !== undefined;
  }

  /** The parts, for tests and benchmarks; undefined while p2p is off. */
  get parts(): Readonly<Running> | undefined {
    return this.running;
  }

  /** Starts the libp2p node and the services, then dials the bootstrap relays. */
  async start(): Promise<void> {
    const { config, log, tuning } = this.deps;
    const node = await createRelayNode({
      nodeSecret: this.deps.nodeSecret,
      listen: listenAddr(config.host, config.p2pPort),
      ...(tuning?.heartbeatMs !== undefined ? { heartbeatMs: tuning.heartbeatMs } : {}),
    });
    const topology = new TopologyService({
      node, now: this.now, republishMs: config.topologyRepublishSecs * 1000, minPeers: config.p2pMinPeers,
      ...(tuning?.topologyDebounceMs !== undefined ? { debounceMs: tuning.topologyDebounceMs } : {}),
    });
    const peerLimit = { burst: config.forwardRateBurst, perSec: config.forwardRatePerSec };
    const ed = nodeEd25519();
    const secret = this.deps.nodeSecret;
    const queries = new QueryService({ node, now: this.now, topology, peerLimit, lookup: (q) => this.tagAnswer(q, (msg) => ed.sign(secret, msg)) });
    const lookups = new LookupService({
      node, now: this.now, topology, peerLimit, ed, sign: (msg) => ed.sign(secret, msg), maxHops: config.queryHopLimit,
      answerer: {
        url: () => this.deps.service.url,
        prekeys: (mailbox) => {
          const held = this.deps.prekeys?.poolSizes(mailbox);
          return held && { oneTimePreKeys: held.oneTimePreKeys, kyberPreKeys: held.kyberPreKeys };
        },
        relayInfo: () => this.terms(node),
      },
    });
    const offers = new OfferService({
      node, now: this.now, onOffer: (offer) => this.quoteOrNothing(offer),
      // Every relay the announced links reach from here gets the offer by gossip and answers it.
      expectedRelays: () => topology.reachable(),
      originLimit: { burst: config.offerRateBurst, perSec: config.offerRatePerSec },
      peerLimit: { burst: 4 * config.offerRateBurst, perSec: 4 * config.offerRatePerSec },
    });
    await node.start();
    try {
      await queries.start();
      await lookups.start();
      await offers.start();
      await topology.start();
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
    this.running = { node, offers, queries, lookups, topology };
    this.watchStats();
    // Bootstrap relays are dialled in the background: one that is down must not stop this one.
    for (const addr of config.bootstrap) {
      node.connect(addr, AbortSignal.timeout(10_000)).catch((err: unknown) => log.warn({ addr, err: (err as Error).message }, 'bootstrap relay unreachable'));
    }
    log.info({ peerId: node.peerId.toString(), multiaddrs: node.multiaddrs().map(String) }, 'relay network started');
  }

  async stop(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    if (r === undefined) return;
    await r.topology.stop();
    await r.offers.stop();
    await r.queries.stop();
    await r.lookups.stop();
    await r.node.stop();
  }

  info(): NetworkInfo {
    const r = this.running;
    if (r === undefined) return { enabled: false };
    return { enabled: true, peerId: r.node.peerId.toString(), multiaddrs: r.node.multiaddrs().map(String) };
  }

  /** Throws P2P_OFF unless the network runs (checked before a body is even decoded). */
  need(): Running {
    if (this.running === undefined) throw new RelayError('P2P_OFF', 'this relay does not take part in the relay network (p2p is off)');
    return this.running;
  }

  /**
   * Every quote for `offer` the network returns once every relay the topology reaches has
   * answered, or within offerWindowMs (or the shorter `windowMs`), sooner once `expected`
   * came; this relay's own first.
   */
  async offer(offer: Offer, o: { windowMs?: number; expected?: number; signal?: AbortSignal } = {}): Promise<OfferCollection> {
    const r = this.need();
    const windowMs = Math.min(o.windowMs ?? Infinity, this.deps.config.offerWindowMs);
    const got = await r.offers.collect(offer, {
      windowMs, ...(o.expected !== undefined ? { expected: o.expected } : {}), ...(o.signal ? { signal: o.signal } : {}),
    });
    const own = hex.encode(r.node.relayId);
    got.quotes.sort((a, b) => Number(hex.encode(b.relayId) === own) - Number(hex.encode(a.relayId) === own));
    return got;
  }

  /** The sealed answers of every relay within the query's hops (this relay's own included). */
  async query(q: TagQuery, signal?: AbortSignal): Promise<Uint8Array[]> {
    const r = this.need();
    const capped = { ...q, hopsLeft: Math.min(q.hopsLeft, this.deps.config.queryHopLimit) };
    try {
      return await r.queries.query(capped, { budgetMs: this.deps.config.queryBudgetMs, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw asRelayError(err, ['STALE', 'BAD_KEY', 'DUPLICATE']);
    }
  }

  /**
   * The signed answers of every relay within `hops` (this relay's own first when it has one).
   * `target` is the mailbox for prekeys and ignored for relay-info.
   */
  async lookup(kind: LookupKind, target: Uint8Array | undefined, o: { lookupId?: Uint8Array; hops?: number; signal?: AbortSignal } = {}): Promise<{ lookupId: Uint8Array; answers: Uint8Array[] }> {
    const r = this.need();
    const lookupId = o.lookupId ?? new Uint8Array(randomBytes(16));
    try {
      const answers = await r.lookups.lookup(kind, kind === 'prekeys' ? target! : ZERO_TARGET, {
        lookupId, hops: o.hops ?? DEFAULT_LOOKUP_HOPS, budgetMs: this.deps.config.queryBudgetMs, ...(o.signal ? { signal: o.signal } : {}),
      });
      return { lookupId, answers };
    } catch (err) {
      if (P2pError.is(err, 'BAD_MESSAGE')) throw new RelayError('BAD_REQUEST', err.message, { cause: err });
      throw asRelayError(err, ['DUPLICATE', 'STALE']);
    }
  }

  /** This relay's terms as a relay-info lookup answers them (the information document's). */
  private terms(node: RelayNode): RelayTerms {
    const i = this.deps.service.info();
    const ch = this.deps.channelTerms?.();
    return {
      name: cutUtf8(i.name, MAX_RELAY_NAME),
      network: i.network as RelayTerms['network'],
      acceptedModes: i.acceptedModes,
      price: i.price,
      maxMessageBytes: i.limits.maxMessageBytes,
      maxRetentionSecs: i.limits.maxRetentionSecs,
      confirmations: i.confirmations,
      lockBlocks: i.lockBlocks,
      claimMarginBlocks: i.claimMarginBlocks,
      ...(ch ? { channels: ch } : {}),
      multiaddrs: node.multiaddrs().map(String).slice(0, MAX_ORIGIN_ADDRS),
    };
  }

  /** The relay's own quote logic; a refusal means no quote (the network hears nothing). */
  private async quoteOrNothing(offer: Offer): Promise<Quote | undefined> {
    try {
      return await this.deps.service.quote(offer);
    } catch (err) {
      if (RelayError.is(err)) return undefined;
      throw err;
    }
  }

  /**
   * The query's tags this relay holds unexpired messages under, signed for this query (the
   * client lists and fetches them at `url`); nothing when it holds none.
   */
  private tagAnswer(q: TagQuery, sign: (msg: Uint8Array) => Uint8Array): Uint8Array | undefined {
    const now = this.now();
    const held = this.deps.store.tagsHeld(q.tags, now).slice(0, ANSWER_TAGS_MAX);
    if (held.length === 0) return undefined;
    const unsigned = { queryId: q.queryId, relayId: this.deps.service.relayId, url: this.deps.service.url, tags: held };
    return TagAnswerCodec.encode({ ...unsigned, signature: sign(tagAnswerSigningBytes(unsigned)) });
  }

  private readonly counters = {
    forwards: undefined as Counter | undefined,
    duplicates: undefined as Counter | undefined,
    handled: undefined as Counter | undefined,
    offers: undefined as Counter | undefined,
    rateLimited: undefined as Counter | undefined,
  };

  private registerMetrics(): void {
    const registers = [this.deps.metrics.registry];
    const running = (): Running | undefined => this.running;
    new Gauge({
      name: 'satpost_relay_p2p_peers', help: 'relays connected in the relay network', registers,
      collect() {
        this.set(running()?.node.libp2p.getPeers().length ?? 0);
      },
    });
    new Gauge({
      name: 'satpost_relay_p2p_known_relays', help: 'relays whose topology announcement this relay holds (itself included)', registers,
      collect() {
        this.set(running()?.topology.stats().known ?? 0);
      },
    });
    this.counters.forwards = new Counter({ name: 'satpost_relay_p2p_query_forwards_total', help: 'mailbox query requests sent to other relays', registers });
    this.counters.duplicates = new Counter({ name: 'satpost_relay_p2p_query_duplicates_total', help: 'mailbox queries refused as already handled', registers });
    this.counters.handled = new Counter({ name: 'satpost_relay_p2p_queries_handled_total', help: 'mailbox queries answered (own clients and other relays)', registers });
    this.counters.offers = new Counter({ name: 'satpost_relay_p2p_offers_seen_total', help: 'network offers handed to the quote logic', registers });
    this.counters.rateLimited = new Counter({
      name: 'satpost_relay_p2p_rate_limited_total', help: 'offers, mailbox queries and lookups from other relays dropped over a per-peer or per-origin rate limit',
      labelNames: ['kind'], registers,
    });
  }

  /** Turns the services' running counts into Prometheus counters. */
  private watchStats(): void {
    const r = this.running!;
    const limited = this.counters.rateLimited!;
    let q = r.queries.stats();
    r.queries.addEventListener('stats', () => {
      const now = r.queries.stats();
      this.counters.forwards!.inc(now.forwards - q.forwards);
      this.counters.duplicates!.inc(now.duplicates - q.duplicates);
      this.counters.handled!.inc(now.handled - q.handled);
      limited.inc({ kind: 'query' }, now.rateLimited - q.rateLimited);
      q = now;
    });
    let l = r.lookups.stats();
    r.lookups.addEventListener('stats', () => {
      const now = r.lookups.stats();
      limited.inc({ kind: 'lookup' }, now.rateLimited - l.rateLimited);
      l = now;
    });
    let o = r.offers.stats();
    r.offers.addEventListener('stats', () => {
      const now = r.offers.stats();
      this.counters.offers!.inc(now.offersSeen - o.offersSeen);
      limited.inc({ kind: 'offer' }, now.offersRateLimited - o.offersRateLimited);
      o = now;
    });
  }
}

/**
 * How a client hears the network's error for its query or lookup: a code of `refusals` is
 * QUERY_REFUSED (reason: the code), a stopping network P2P_OFF; anything else passes as is.
 */
function asRelayError(err: unknown, refusals: readonly P2pErrorCode[]): unknown {
  if (P2pError.is(err) && refusals.includes(err.code)) {
    return new RelayError('QUERY_REFUSED', err.message, { cause: err, details: { reason: err.code } });
  }
  if (P2pError.is(err, 'NOT_STARTED')) return new RelayError('P2P_OFF', 'the relay network is stopping', { cause: err });
  return err;
}

/** The longest prefix of `s` that fits `maxBytes` of UTF-8 (whole code points). */
function cutUtf8(s: string, maxBytes: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= maxBytes) return s;
  let out = '';
  for (const ch of s) {
    if (enc.encode(out + ch).length > maxBytes) break;
    out += ch;
  }
  return out;
}

function intParam(what: string, v: string, min: number, max: number): number {
  const n = /^[0-9]{1,6}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new RelayError('BAD_REQUEST', `"${what}" expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

const LOOKUP_QUERY = {
  id: { description: 'the lookup id, 32 lowercase hex (default: random)', schema: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
  hops: { description: `hops the lookup spreads (0..255, default ${DEFAULT_LOOKUP_HOPS}, lowered to queryHopLimit)`, schema: { type: 'string', pattern: '^[0-9]{1,3}$' } },
};
const LOOKUP_ANSWERS = {
  description: `The lookup id and one signed ${objectLabel(binaryObject('LookupAnswer', LOOKUP_ANSWER_TAG))} (hex) per relay that answered, this relay's own first`,
  body: { json: { type: 'object', properties: { lookupId: { type: 'string' }, answers: { type: 'array', items: { type: 'string' } } }, required: ['lookupId', 'answers'] } },
};
const NETWORK_API = {
  offer: {
    summary: 'Offer to the relay network',
    description: 'Quotes of every relay in the relay network that took the offer (hex Quotes, this relay\'s first), answered once the expected relays quoted or declined, at the latest after offerWindowMs.',
    tags: ['network'],
    query: {
      expected: { description: 'answer as soon as this many quotes came (1..256)', schema: { type: 'string', pattern: '^[0-9]{1,6}$' } },
      windowMs: { description: 'shortens the offer window (1..60000 ms)', schema: { type: 'string', pattern: '^[0-9]{1,6}$' } },
    },
    body: { binary: [binaryObject('Offer', OFFER_TAG)] },
    responses: {
      200: {
        description: 'The quotes collected',
        body: { json: { type: 'object', properties: { quotes: { type: 'array', items: { type: 'string' } }, expected: { type: 'integer' }, answered: { type: 'integer' } }, required: ['quotes', 'expected', 'answered'] } },
      },
    },
    errors: ['P2P_OFF', 'BAD_ENCODING'],
  },
  query: {
    summary: 'Query the relay network for tags',
    description: 'One answer (hex) per relay within the query\'s hops that holds messages under some of the tags: a TagAnswer signed by that relay, HPKE-sealed to the query\'s one-time answer key.',
    tags: ['network'],
    body: { binary: [binaryObject('TagQuery', TAG_QUERY_TAG)], description: 'unsigned: tags and a one-time answer key, nobody named' },
    responses: { 200: { description: 'The sealed answers', body: { json: { type: 'object', properties: { answers: { type: 'array', items: { type: 'string' } } }, required: ['answers'] } } } },
    errors: ['P2P_OFF', 'QUERY_REFUSED', 'BAD_ENCODING'],
  },
  lookupPrekeys: {
    summary: 'Look up prekey holders',
    description: 'Which relays within the hops hold a prekey bundle for the mailbox (their url and pool sizes); consumes no one-time key.',
    tags: ['network'],
    params: { mailbox: { description: 'the mailbox (64 lowercase hex)', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
    query: LOOKUP_QUERY,
    responses: { 200: LOOKUP_ANSWERS },
    errors: ['P2P_OFF', 'QUERY_REFUSED'],
  },
  lookupRelays: {
    summary: 'Look up relays',
    description: 'One answer per relay within the hops: its url, name, network, modes, price, limits, channel terms and multiaddrs.',
    tags: ['network'],
    query: LOOKUP_QUERY,
    responses: { 200: LOOKUP_ANSWERS },
    errors: ['P2P_OFF', 'QUERY_REFUSED'],
  },
} satisfies Record<string, RouteApi>;

/** POST /v1/offer and POST /v1/tags/query (see the top of this file). */
export function registerNetworkRoutes(app: FastifyInstance, network: RelayNetwork): void {
  app.post('/v1/offer', { schema: { api: NETWORK_API.offer } }, async (req) => {
    network.need();
    const q = req.query as { expected?: string; windowMs?: string };
    const got = await network.offer(decode(OfferCodec, req.body), {
      ...(q.expected !== undefined ? { expected: intParam('expected', q.expected, 1, 256) } : {}),
      ...(q.windowMs !== undefined ? { windowMs: intParam('windowMs', q.windowMs, 1, 60_000) } : {}),
    });
    return { quotes: got.quotes.map((q) => hex.encode(QuoteCodec.encode(q))), expected: got.expected, answered: got.answered };
  });
  retiredRoute(app, '/v1/mailbox/query', 'signed mailbox query', 'POST /v1/tags/query');
  app.post('/v1/tags/query', { schema: { api: NETWORK_API.query } }, async (req) => {
    network.need();
    const answers = await network.query(decode(TagQueryCodec, req.body));
    return { answers: answers.map((a) => hex.encode(a)) };
  });
  const lookup = async (kind: LookupKind, target: Uint8Array | undefined, query: unknown) => {
    const q = query as { id?: string; hops?: string };
    const out = await network.lookup(kind, target, {
      ...(q.id !== undefined ? { lookupId: hexParam('id', q.id, 16) } : {}),
      ...(q.hops !== undefined ? { hops: intParam('hops', q.hops, 0, 255) } : {}),
    });
    return { lookupId: hex.encode(out.lookupId), answers: out.answers.map((a) => hex.encode(a)) };
  };
  app.get('/v1/lookup/prekeys/:mailbox', { schema: { api: NETWORK_API.lookupPrekeys } }, async (req) => {
    network.need();
    return lookup('prekeys', hexParam('mailbox', (req.params as { mailbox: string }).mailbox, 32), req.query);
  });
  app.get('/v1/lookup/relays', { schema: { api: NETWORK_API.lookupRelays } }, async (req) => {
    network.need();
    return lookup('relay-info', undefined, req.query);
  });
}

function hexParam(what: string, v: unknown, n: number): Uint8Array {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${2 * n}}$`).test(v)) {
    throw new RelayError('BAD_REQUEST', `"${what}" expected ${2 * n} lowercase hex characters, got ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  return hex.decode(v);
}
