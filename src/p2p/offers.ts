/**
 * Offer propagation (docs/protocol.md, "Relay network"). The sender's relay publishes the
 * Offer on the gossipsub topic 'satpost/offers/v1' (messages are signed, so the origin's
 * peer id is authenticated); every relay hands it to its `onOffer` policy and sends any
 * Quote straight back to the origin on '/satpost/quote/1.0.0'. The origin accepts a quote
 * only for an offer it is collecting, only if the quote matches that offer, is signed, and
 * its relayId is the node key of the peer that delivered it (one quote per relay).
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { bytesEqual } from '../core/hash.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { OFFER_TIME_STEP_MS, QuoteCodec, verifyQuote, type Offer, type Quote } from '../core/objects/index.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { P2pError } from './errors.ts';
import { idHex, relayIdOf } from './ids.ts';
import type { RelayNode } from './node.ts';
import { request, serve } from './rpc.ts';
import { SeenSet } from './seen.ts';
import { MAX_ORIGIN_ADDRS, OFFER_TOPIC, OfferAnnouncementCodec, QUOTE_PROTOCOL, QuoteAckCodec, type OfferAnnouncement, type QuoteAck } from './wire.ts';

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
}

interface Collection {
  offer: Offer;
  quotes: Map<string, Quote>;
  expected: number;
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
  private readonly counters: OfferStats = { offersSeen: 0, quotesSent: 0, quoteSendFailures: 0, quotesAccepted: 0, quotesRefused: 0 };
  private lifetime: AbortController | undefined;
  private readonly onMessage = (e: CustomEvent<Message>): void => void this.handleMessage(e.detail);

  constructor(private readonly opts: OfferServiceOptions) {
    super();
    this.ed = opts.ed25519 ?? nodeEd25519();
    this.now = opts.now ?? Date.now;
    this.maxAge = opts.maxOfferAgeMs ?? 60_000;
    this.seen = new SeenSet(2 * this.maxAge, 100_000, this.now);
  }

  async start(): Promise<void> {
    const { libp2p } = this.opts.node;
    this.lifetime = new AbortController();
    await serve(libp2p, QUOTE_PROTOCOL, 4096, (req, from) => Promise.resolve(this.onQuote(req, from)));
    const pubsub = libp2p.services.pubsub;
    // Malformed offers are rejected (the sender is penalised and nothing propagates); stale
    // ones are ignored (not propagated, no penalty: clocks differ).
    pubsub.topicValidators.set(OFFER_TOPIC, (_peer, msg) => this.validate(msg));
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

  /**
   * Publishes `offer` and collects quotes for `windowMs` (or until `expected` came, or the
   * signal aborts). Returns every accepted quote, at most one per relay.
   */
  async collectQuotes(offer: Offer, o: CollectOptions): Promise<Quote[]> {
    const lifetime = this.lifetime;
    if (lifetime === undefined) throw new P2pError('NOT_STARTED', 'offer service is not started');
    const key = idHex(offer.offerId);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    const c: Collection = { offer, quotes: new Map(), expected: o.expected ?? Infinity, done: resolve };
    this.collecting.set(key, c);
    this.seen.add(key);
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
      await node.libp2p.services.pubsub.publish(OFFER_TOPIC, OfferAnnouncementCodec.encode(announcement));
      if (o.includeSelf !== false) {
        const own = await this.askPolicy(offer, node.peerId);
        if (own !== undefined && this.acceptable(c, own, node.relayId)) this.add(c, own);
      }
      if (c.quotes.size >= c.expected) resolve();
      await promise;
      return [...c.quotes.values()];
    } finally {
      clearTimeout(timer);
      // One listener per offer on the service's lifetime signal would pile up over a relay's life.
      signal.removeEventListener('abort', onAbort);
      this.collecting.delete(key);
    }
  }

  private validate(msg: Message): TopicValidatorResult {
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
    if (quote === undefined) return;
    try {
      // The origin may be many hops away on the mesh: dial it directly at the addresses it gave.
      await node.libp2p.peerStore.merge(msg.from, { multiaddrs: a.originAddrs.map((s) => multiaddr(s)) });
      const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.opts.quoteTimeoutMs ?? 10_000)]);
      const res = QuoteAckCodec.decode(await request(node.libp2p, msg.from, QUOTE_PROTOCOL, QuoteCodec.encode(quote), { maxResponse: 1, signal }));
      if (res === 'accepted') this.bump('quotesSent');
      else this.bump('quoteSendFailures');
    } catch {
      this.bump('quoteSendFailures');
    }
  }

  private async askPolicy(offer: Offer, origin: PeerId): Promise<Quote | undefined> {
    try {
      return await this.opts.onOffer(offer, { origin });
    } catch {
      return undefined; // a failing policy means no quote from this relay
    }
  }

  private onQuote(bytes: Uint8Array, from: PeerId): Uint8Array {
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
      return ack('invalid');
    }
    this.add(c, quote);
    return ack('accepted');
  }

  /** The quote answers this offer, is signed by its relayId, and that relay delivered it. */
  private acceptable(c: Collection, q: Quote, deliveredBy: Uint8Array): boolean {
    const o = c.offer;
    return (
      bytesEqual(q.relayId, deliveredBy) &&
      bytesEqual(q.offerId, o.offerId) &&
      bytesEqual(q.mailbox, o.mailbox) &&
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
    if (c.quotes.size >= c.expected) c.done();
  }
}

