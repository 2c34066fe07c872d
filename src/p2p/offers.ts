/**
 * Offer propagation (docs/protocol.md, "Relay network"). The sender's relay publishes the
 * Offer on the gossipsub topic 'satpost/offers/v1' (messages are signed, so the origin's
 * peer id is authenticated); every relay hands it to its `onOffer` policy and sends any
 * Quote straight back to the origin on '/satpost/quote/1.0.0'. The origin accepts a quote
 * only for an offer it is collecting, only if the quote matches that offer, is signed, and
 * its relayId is the node key of the peer that delivered it (one quote per relay).
 *
 * A relay that does not quote sends an OfferDecline instead, so the origin knows the relays
 * it can expect an answer from (`expectedRelays`: those its announced topology reaches) and
 * returns as soon as each has quoted or declined, the window being only the deadline. An
 * offerId this relay has seen before is not published again (every relay that saw it drops
 * it): such a collection ends with this relay's own answer, expecting nobody.
 *
 * Every relay limits offers per origin (the gossipsub signer) and per neighbour that forwards
 * them, with token buckets checked in the topic validator: before the offer reaches onOffer
 * (which signs) and before it propagates. A neighbour over its limit with its own offers is
 * rejected (gossipsub scores it down, prunes it from the mesh and, further down, ignores it
 * altogether, see OFFER_TOPIC_SCORE in ./node.ts); offers it merely forwards are ignored
 * without penalty, since an honest relay forwards whatever passed its own limits.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { bytesEqual } from '../core/hash.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { OFFER_TIME_STEP_MS, QuoteCodec, verifyQuote, type Offer, type Quote } from '../core/objects/index.ts';
import { RateLimiter, type RateLimit } from '../core/rate-limit.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { P2pError } from './errors.ts';
import { idHex, relayIdOf } from './ids.ts';
import type { RelayNode } from './node.ts';
import { request, serve } from './rpc.ts';
import { SeenSet } from './seen.ts';
import {
  MAX_ORIGIN_ADDRS, OFFER_DECLINE_TAG, OFFER_TOPIC, OfferAnnouncementCodec, OfferDeclineCodec, QUOTE_PROTOCOL, QuoteAckCodec,
  type OfferAnnouncement, type QuoteAck,
} from '../core/wire/p2p.ts';

/** A relay's pricing policy: a signed Quote for offers it takes, undefined otherwise. */
export type OnOffer = (offer: Offer, ctx: { origin: PeerId }) => Quote | undefined | Promise<Quote | undefined>;

export interface OfferServiceOptions {
  node: RelayNode;
  onOffer: OnOffer;
  ed25519?: Ed25519;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Offers older (beyond the minute their createdAt is rounded to) or further in the future than this are ignored, ms. Default 60000. */
  maxOfferAgeMs?: number;
  /** How long a quote may take to reach the origin, ms. Default 10000. */
  quoteTimeoutMs?: number;
  /**
   * The relays (hex relay ids, this one's own left out) an offer published here reaches: a
   * collection ends once each has quoted or declined. Default: none known, the window decides.
   */
  expectedRelays?: () => Iterable<string>;
  /** Offers taken from one origin relay. Default DEFAULT_OFFER_ORIGIN_LIMIT. */
  originLimit?: RateLimit;
  /** Offers taken from one neighbour forwarding other relays' offers, all origins together. Default DEFAULT_OFFER_PEER_LIMIT. */
  peerLimit?: RateLimit;
}

/** Far above what one relay's clients send (the demo's act 3 sends a few a second), far below a flood. */
export const DEFAULT_OFFER_ORIGIN_LIMIT: RateLimit = { burst: 100, perSec: 20 };
export const DEFAULT_OFFER_PEER_LIMIT: RateLimit = { burst: 400, perSec: 80 };

/** What a collection got: the quotes, and how many of the relays it expected answered. */
export interface OfferCollection {
  quotes: Quote[];
  /** Relays the offer was expected to reach (this one not counted). */
  expected: number;
  /** Of those, how many quoted or declined before the collection ended. */
  answered: number;
}

export interface CollectOptions {
  /** How long to collect, ms. */
  windowMs: number;
  /** Return as soon as this many quotes came (the own one included). */
  expected?: number;
  /** Ask this relay's own onOffer too. Default true. */
  includeSelf?: boolean;
  signal?: AbortSignal;
}

export interface OfferStats {
  /** Offers received from the network and handed to onOffer. */
  offersSeen: number;
  /** Quotes this relay sent to an origin and that it accepted. */
  quotesSent: number;
  /** Quotes that could not be delivered or were not accepted. */
  quoteSendFailures: number;
  /** Quotes received as origin, accepted / refused. */
  quotesAccepted: number;
  quotesRefused: number;
  /** Declines this relay sent to an origin and that it took. */
  declinesSent: number;
  /** Declines received as origin for an offer being collected. */
  declinesAccepted: number;
  /** Offers dropped in validation for an origin or a neighbour over its rate limit. */
  offersRateLimited: number;
}

interface Collection {
  offer: Offer;
  quotes: Map<string, Quote>;
  expected: number;
  /** Expected relays (hex ids) that have not answered yet; undefined: none known. */
  waiting: Set<string> | undefined;
  done: () => void;
}

const ack = (a: QuoteAck): Uint8Array => QuoteAckCodec.encode(a);

/** Dispatches 'stats' (a plain Event) whenever a counter changes. */
export class OfferService extends EventTarget {
  private readonly ed: Ed25519;
  private readonly now: () => number;
  private readonly maxAge: number;
  private readonly collecting = new Map<string, Collection>();
  private readonly seen: SeenSet;
  private readonly counters: OfferStats = {
    offersSeen: 0, quotesSent: 0, quoteSendFailures: 0, quotesAccepted: 0, quotesRefused: 0, declinesSent: 0, declinesAccepted: 0, offersRateLimited: 0,
  };
  private readonly originLimiter: RateLimiter;
  private readonly peerLimiter: RateLimiter;
  private lifetime: AbortController | undefined;
  private readonly onMessage = (e: CustomEvent<Message>): void => void this.handleMessage(e.detail);

  constructor(private readonly opts: OfferServiceOptions) {
    super();
    this.ed = opts.ed25519 ?? nodeEd25519();
    this.now = opts.now ?? Date.now;
    this.maxAge = opts.maxOfferAgeMs ?? 60_000;
    this.seen = new SeenSet(2 * this.maxAge, 100_000, this.now);
    const origin = opts.originLimit ?? DEFAULT_OFFER_ORIGIN_LIMIT;
    const peer = opts.peerLimit ?? DEFAULT_OFFER_PEER_LIMIT;
    this.originLimiter = new RateLimiter(origin.burst, origin.perSec, this.now);
    this.peerLimiter = new RateLimiter(peer.burst, peer.perSec, this.now);
  }

  async start(): Promise<void> {
    const { libp2p } = this.opts.node;
    this.lifetime = new AbortController();
    await serve(libp2p, QUOTE_PROTOCOL, 4096, (req, from) => Promise.resolve(this.onQuote(req, from)));
    const pubsub = libp2p.services.pubsub;
    // Malformed offers are rejected (the sender is penalised and nothing propagates); stale
    // ones are ignored (not propagated, no penalty: clocks differ).
    pubsub.topicValidators.set(OFFER_TOPIC, (peer, msg) => this.validate(peer, msg));
    pubsub.addEventListener('message', this.onMessage);
    pubsub.subscribe(OFFER_TOPIC);
  }

  async stop(): Promise<void> {
    const { libp2p } = this.opts.node;
    this.lifetime?.abort(new P2pError('NOT_STARTED', 'offer service stopped'));
    this.lifetime = undefined;
    for (const c of this.collecting.values()) c.done();
    const pubsub = libp2p.services.pubsub;
    pubsub.removeEventListener('message', this.onMessage);
    pubsub.topicValidators.delete(OFFER_TOPIC);
    if (libp2p.status === 'started') {
      pubsub.unsubscribe(OFFER_TOPIC);
      await libp2p.unhandle(QUOTE_PROTOCOL).catch(() => undefined);
    }
  }

  private bump(k: keyof OfferStats): void {
    this.counters[k]++;
    this.dispatchEvent(new Event('stats'));
  }

  stats(): OfferStats {
    return { ...this.counters };
  }

  /** collect()'s quotes alone. */
  async collectQuotes(offer: Offer, o: CollectOptions): Promise<Quote[]> {
    return (await this.collect(offer, o)).quotes;
  }

  /**
   * Publishes `offer` and collects quotes for `windowMs`, or until every expected relay has
   * quoted or declined, or `expected` quotes came, or the signal aborts. Returns every
   * accepted quote (at most one per relay) and how many expected relays answered.
   */
  async collect(offer: Offer, o: CollectOptions): Promise<OfferCollection> {
    const lifetime = this.lifetime;
    if (lifetime === undefined) throw new P2pError('NOT_STARTED', 'offer service is not started');
    const key = idHex(offer.offerId);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    // An offerId seen before (offered here already, or gossiped here from another origin) is
    // dropped by every relay that saw it: nobody will answer it again, so nobody is waited for.
    const repeated = !this.seen.add(key);
    const expectedRelays = repeated ? [] : this.opts.expectedRelays?.();
    const waiting = expectedRelays === undefined ? undefined : new Set(expectedRelays);
    waiting?.delete(idHex(this.opts.node.relayId));
    const c: Collection = { offer, quotes: new Map(), expected: o.expected ?? Infinity, waiting, done: resolve };
    const expectedCount = waiting?.size ?? 0;
    // A repeated offer gets no answers; a collection of it still running keeps receiving its own.
    if (!repeated) this.collecting.set(key, c);
    const timer = setTimeout(resolve, o.windowMs);
    const signal = o.signal === undefined ? lifetime.signal : AbortSignal.any([o.signal, lifetime.signal]);
    const onAbort = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { node } = this.opts;
      const announcement: OfferAnnouncement = {
        offer,
        originAddrs: node.multiaddrs().slice(0, MAX_ORIGIN_ADDRS).map(String),
      };
      if (!repeated) await node.libp2p.services.pubsub.publish(OFFER_TOPIC, OfferAnnouncementCodec.encode(announcement));
      if (o.includeSelf !== false) {
        const own = await this.askPolicy(offer, node.peerId);
        if (own !== undefined && this.acceptable(c, own, node.relayId)) this.add(c, own);
      }
      if (this.complete(c)) resolve();
      await promise;
      return { quotes: [...c.quotes.values()], expected: expectedCount, answered: expectedCount - (c.waiting?.size ?? 0) };
    } finally {
      clearTimeout(timer);
      // One listener per offer on the service's lifetime signal would pile up over a relay's life.
      signal.removeEventListener('abort', onAbort);
      if (this.collecting.get(key) === c) this.collecting.delete(key);
    }
  }

  private validate(peer: PeerId, msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject;
    let a: OfferAnnouncement;
    try {
      a = OfferAnnouncementCodec.decode(msg.data);
      for (const s of a.originAddrs) multiaddr(s);
    } catch {
      return TopicValidatorResult.Reject;
    }
    // createdAt is rounded down to the minute (coarseOfferTime): an offer may look up to a minute older.
    const age = this.now() - a.offer.createdAt;
    if (age < -this.maxAge || age > this.maxAge + OFFER_TIME_STEP_MS) return TopicValidatorResult.Ignore;
    // Only well-formed, fresh offers take tokens. A neighbour's own offers over the limit are
    // its fault (Reject: scored down); offers it forwards passed its own limits (Ignore).
    const own = peer.equals(msg.from);
    if ((!own && !this.peerLimiter.take(peer.toString())) || !this.originLimiter.take(msg.from.toString())) {
      this.bump('offersRateLimited');
      return own ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    }
    return TopicValidatorResult.Accept;
  }

  private async handleMessage(msg: Message): Promise<void> {
    if (msg.topic !== OFFER_TOPIC || msg.type !== 'signed' || this.lifetime === undefined) return;
    const { node } = this.opts;
    let a: OfferAnnouncement;
    try {
      a = OfferAnnouncementCodec.decode(msg.data);
    } catch {
      return; // the validator has already rejected it
    }
    if (msg.from.equals(node.peerId) || !this.seen.add(idHex(a.offer.offerId))) return;
    this.bump('offersSeen');
    const quote = await this.askPolicy(a.offer, msg.from);
    // No quote: say so, so the origin need not wait for this relay until its window closes.
    const answer = quote !== undefined ? QuoteCodec.encode(quote) : OfferDeclineCodec.encode({ offerId: a.offer.offerId });
    let res: QuoteAck | undefined;
    try {
      // The origin may be many hops away on the mesh: dial it directly at the addresses it gave.
      await node.libp2p.peerStore.merge(msg.from, { multiaddrs: a.originAddrs.map((s) => multiaddr(s)) });
      const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.opts.quoteTimeoutMs ?? 10_000)]);
      res = QuoteAckCodec.decode(await request(node.libp2p, msg.from, QUOTE_PROTOCOL, answer, { maxResponse: 1, signal }));
    } catch {
      res = undefined;
    }
    if (quote === undefined) {
      if (res === 'accepted') this.bump('declinesSent');
    } else this.bump(res === 'accepted' ? 'quotesSent' : 'quoteSendFailures');
  }

  private async askPolicy(offer: Offer, origin: PeerId): Promise<Quote | undefined> {
    try {
      return await this.opts.onOffer(offer, { origin });
    } catch {
      return undefined; // a failing policy means no quote from this relay
    }
  }

  private onQuote(bytes: Uint8Array, from: PeerId): Uint8Array {
    if (bytes[0] === OFFER_DECLINE_TAG) return this.onDecline(bytes, from);
    let quote: Quote;
    try {
      quote = QuoteCodec.decode(bytes);
    } catch {
      this.bump('quotesRefused');
      return ack('invalid');
    }
    const c = this.collecting.get(idHex(quote.offerId));
    if (c === undefined) {
      this.bump('quotesRefused');
      return ack('unknown-offer');
    }
    const sender = relayIdOf(from);
    if (sender === undefined || !this.acceptable(c, quote, sender)) {
      this.bump('quotesRefused');
      // It answered all the same (badly): waiting longer for it would bring nothing.
      if (sender !== undefined) this.answered(c, idHex(sender));
      return ack('invalid');
    }
    this.add(c, quote);
    return ack('accepted');
  }

  private onDecline(bytes: Uint8Array, from: PeerId): Uint8Array {
    let offerId: Uint8Array;
    try {
      offerId = OfferDeclineCodec.decode(bytes).offerId;
    } catch {
      return ack('invalid');
    }
    const c = this.collecting.get(idHex(offerId));
    const sender = relayIdOf(from);
    if (c === undefined || sender === undefined) return ack('unknown-offer');
    this.bump('declinesAccepted');
    this.answered(c, idHex(sender));
    return ack('accepted');
  }

  private complete(c: Collection): boolean {
    return c.quotes.size >= c.expected || c.waiting?.size === 0;
  }

  /** `relay` (hex id) quoted or declined: the collection may be complete. */
  private answered(c: Collection, relay: string): void {
    c.waiting?.delete(relay);
    if (this.complete(c)) c.done();
  }

  /** The quote answers this offer, is signed by its relayId, and that relay delivered it. */
  private acceptable(c: Collection, q: Quote, deliveredBy: Uint8Array): boolean {
    const o = c.offer;
    return (
      bytesEqual(q.relayId, deliveredBy) &&
      bytesEqual(q.offerId, o.offerId) &&
      bytesEqual(q.tag, o.tag) &&
      q.mode === o.mode &&
      q.size === o.size &&
      q.amount <= o.maxFee &&
      verifyQuote(q, this.ed)
    );
  }

  private add(c: Collection, q: Quote): void {
    const key = idHex(q.relayId);
    if (c.quotes.has(key)) return;
    c.quotes.set(key, q);
    this.bump('quotesAccepted');
    this.answered(c, key);
  }
}

