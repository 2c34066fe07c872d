/**
 * The one forwarding mechanism of the relay network (docs/protocol.md, "Relay network"),
 * shared by mailbox queries (./query.ts) and lookups (./lookup.ts). A relay that receives a
 * request checks it (fresh timestamp, plus the kind's own rule), refuses an id it has seen,
 * answers from its own state and, while hops are left, forwards it to each connected relay
 * that is its child in the BFS tree rooted at the entry relay (or to every connected relay
 * the tree cannot place), except the sender and the relays named as covered. It waits for
 * them within its budget minus a hop margin and returns the union of the answers.
 *
 * Requests from other relays are rate-limited per neighbour (a token bucket per peer id,
 * taken before the request is even decoded) and, for kinds whose origin is authenticated,
 * per origin once the request checks out (before anything is answered, sealed or signed);
 * over a limit the answer is `rate-limited` and nothing is done.
 *
 * Subclasses say how their request encodes, what its id and timestamp are, how it is
 * checked, what it looks like one hop further, and what this relay answers.
 */
import { setMaxListeners } from 'node:events';
import type { PeerId } from '@libp2p/interface';
import { expected } from '../core/errors.ts';
import { RateLimiter, type RateLimit } from '../core/rate-limit.ts';
import { P2pError } from './errors.ts';
import { idHex, relayIdOf } from './ids.ts';
import type { RelayNode } from './node.ts';
import { request, serve } from './rpc.ts';
import { SeenSet } from './seen.ts';
import { shouldForward, type ForwardingTree } from './tree.ts';
import { MAX_ANSWERS, MAX_COVERED, MAX_QUERY_RESPONSE, QueryResponseCodec, type QueryResponse } from '../core/wire/p2p.ts';

export interface ForwardingOptions {
  node: RelayNode;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Accepted |now - timestamp|, ms. Default 300000 (5 min). */
  windowMs?: number;
  /** The most any request may make this relay wait, ms. Default 10000. */
  maxBudgetMs?: number;
  /** What each hop keeps for itself out of the budget it was given, ms. Default 250. */
  hopMarginMs?: number;
  /** Request ids remembered for duplicate suppression. Default 100000. */
  seenCapacity?: number;
  /**
   * The announced topology (a TopologyService): when given, a relay forwards only to its
   * children in the BFS tree rooted at the entry relay, and floods only where the tree
   * cannot say. Without it, every request is flooded.
   */
  topology?: { tree(root: string): ForwardingTree };
  /** Requests taken from one neighbouring relay (its own and those it forwards). Default DEFAULT_FORWARD_PEER_LIMIT. */
  peerLimit?: RateLimit;
  /** Requests taken from one origin, for kinds that know it (a mailbox query's owner). Default DEFAULT_FORWARD_ORIGIN_LIMIT. */
  originLimit?: RateLimit;
}

/**
 * A neighbour forwards every client's requests of its own subtree: its bucket is wide. One
 * mailbox owner polls her mailbox now and then; 120 at once still covers a busy client.
 */
export const DEFAULT_FORWARD_PEER_LIMIT: RateLimit = { burst: 400, perSec: 100 };
export const DEFAULT_FORWARD_ORIGIN_LIMIT: RateLimit = { burst: 120, perSec: 2 };

/** A request as it travels: the kind's message plus the forwarding fields every kind shares. */
export interface Forwarded<M> {
  message: M;
  /** How long the sender waits for this response, ms; the receiver waits less for its own peers. */
  budgetMs: number;
  /** The entry relay's id: every relay forwards along the same BFS tree rooted there. */
  root: Uint8Array;
  /** Relay ids (Ed25519 node keys) already sent this request: the receiver does not forward to them. */
  covered: Uint8Array[];
}

export interface ForwardingStats {
  /** Requests this relay accepted and processed (local or from peers). */
  handled: number;
  /** Requests this relay sent to peers. */
  forwards: number;
  /** Requests refused as already seen. */
  duplicates: number;
  /** Requests refused for a failed check (signature, mailbox, timestamp, encoding). */
  refused: number;
  /** Forwards that failed (peer gone, reset, timed out). */
  peerFailures: number;
  /** Answers from peers dropped because they failed the kind's answer check (forged, oversized). */
  dropped: number;
  /** Requests from peers refused unread, the peer or the request's origin being over its rate limit. */
  rateLimited: number;
}

export interface RunOptions {
  /** Total time to wait for the network, ms. Default 5000. */
  budgetMs?: number;
  signal?: AbortSignal;
}

/** Dispatches 'stats' (a plain Event) whenever a counter changes. */
export abstract class ForwardingService<M> extends EventTarget {
  protected readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxBudgetMs: number;
  private readonly hopMarginMs: number;
  private readonly seen: SeenSet;
  private readonly counters: ForwardingStats = { handled: 0, forwards: 0, duplicates: 0, refused: 0, peerFailures: 0, dropped: 0, rateLimited: 0 };
  private readonly peerLimiter: RateLimiter;
  private readonly originLimiter: RateLimiter;
  private lifetime: AbortController | undefined;

  constructor(
    private readonly protocol: string,
    private readonly maxRequest: number,
    protected readonly fwd: ForwardingOptions,
  ) {
    super();
    this.now = fwd.now ?? Date.now;
    this.windowMs = fwd.windowMs ?? 300_000;
    this.maxBudgetMs = fwd.maxBudgetMs ?? 10_000;
    this.hopMarginMs = fwd.hopMarginMs ?? 250;
    this.seen = new SeenSet(2 * this.windowMs, fwd.seenCapacity ?? 100_000, this.now);
    const peer = fwd.peerLimit ?? DEFAULT_FORWARD_PEER_LIMIT;
    const origin = fwd.originLimit ?? DEFAULT_FORWARD_ORIGIN_LIMIT;
    this.peerLimiter = new RateLimiter(peer.burst, peer.perSec, this.now);
    this.originLimiter = new RateLimiter(origin.burst, origin.perSec, this.now);
  }

  /** The request's bytes on the wire (throws EncodingError on bad bytes). */
  protected abstract decodeRequest(bytes: Uint8Array): Forwarded<M>;
  protected abstract encodeRequest(r: Forwarded<M>): Uint8Array;
  /** The id duplicates are suppressed by. */
  protected abstract idOf(m: M): Uint8Array;
  protected abstract timestampOf(m: M): number;
  /** Throws a P2pError unless the message passes the kind's own checks (freshness is checked before). */
  protected abstract verify(m: M): void;
  /** The message as the next relay receives it, or undefined when no hops are left. */
  protected abstract next(m: M): M | undefined;
  /** This relay's own answer, or undefined for none. */
  protected abstract answerLocally(m: M): Promise<Uint8Array | undefined>;
  /** Who the request comes from, once verify() passed, when the kind authenticates it: its rate-limit key. Default: unknown. */
  protected originOf(_m: M): string | undefined {
    return undefined;
  }
  /** Whether an answer a peer returned for `m` is kept. Default: all (opaque answers). */
  protected acceptAnswer(_m: M, _answer: Uint8Array): boolean {
    return true;
  }

  async start(): Promise<void> {
    this.lifetime = new AbortController();
    // Every request in flight listens on the lifetime signal: many at once are normal here.
    setMaxListeners(0, this.lifetime.signal);
    await serve(this.fwd.node.libp2p, this.protocol, this.maxRequest, (req, from) => this.onRequest(req, from));
  }

  async stop(): Promise<void> {
    this.lifetime?.abort(new P2pError('NOT_STARTED', 'forwarding service stopped'));
    this.lifetime = undefined;
    await this.fwd.node.libp2p.unhandle(this.protocol).catch(() => undefined);
  }

  stats(): ForwardingStats {
    return { ...this.counters };
  }

  private bump(k: keyof ForwardingStats, n = 1): void {
    if (n === 0) return;
    this.counters[k] += n;
    this.dispatchEvent(new Event('stats'));
  }

  /** Throws unless the message is fresh and passes the kind's checks. */
  check(m: M): void {
    const age = this.now() - this.timestampOf(m);
    if (Math.abs(age) > this.windowMs) {
      throw new P2pError('STALE', expected('timestamp', `within ${this.windowMs} ms of now`, `${age} ms off`));
    }
    this.verify(m);
  }

  /**
   * Runs a request for a client of this relay (this relay is the root): the same checks as
   * for a forwarded one, then the local answer and the network's. Throws P2pError STALE,
   * DUPLICATE, NOT_STARTED or the kind's check codes.
   */
  protected async run(m: M, opts: RunOptions = {}): Promise<Uint8Array[]> {
    const lifetime = this.lifetime;
    if (lifetime === undefined) throw new P2pError('NOT_STARTED', 'forwarding service is not started');
    this.check(m);
    if (!this.seen.add(idHex(this.idOf(m)))) {
      this.bump('duplicates');
      throw new P2pError('DUPLICATE', `request ${idHex(this.idOf(m))} was already handled here`);
    }
    const budget = Math.min(opts.budgetMs ?? 5000, this.maxBudgetMs);
    const signal = opts.signal === undefined ? lifetime.signal : AbortSignal.any([opts.signal, lifetime.signal]);
    return this.process(m, undefined, this.fwd.node.relayId, [], budget, signal);
  }

  private async onRequest(bytes: Uint8Array, from: PeerId): Promise<Uint8Array> {
    const respond = (r: QueryResponse): Uint8Array => QueryResponseCodec.encode(r);
    const lifetime = this.lifetime;
    const limited = (): Uint8Array => {
      this.bump('rateLimited');
      return respond({ status: 'rate-limited', answers: [] });
    };
    if (!this.peerLimiter.take(from.toString())) return limited();
    let req: Forwarded<M>;
    try {
      req = this.decodeRequest(bytes);
      this.check(req.message);
    } catch {
      this.bump('refused');
      return respond({ status: 'refused', answers: [] });
    }
    if (lifetime === undefined) return respond({ status: 'refused', answers: [] });
    if (!this.seen.add(idHex(this.idOf(req.message)))) {
      this.bump('duplicates');
      return respond({ status: 'duplicate', answers: [] });
    }
    // After the duplicate check: the same request reaching this relay twice costs its origin once.
    const origin = this.originOf(req.message);
    if (origin !== undefined && !this.originLimiter.take(origin)) return limited();
    const budget = Math.min(req.budgetMs, this.maxBudgetMs);
    const answers = await this.process(req.message, from, req.root, req.covered, budget, lifetime.signal);
    return respond({ status: 'ok', answers: answers.slice(0, MAX_ANSWERS) });
  }

  private async process(m: M, from: PeerId | undefined, root: Uint8Array, covered: Uint8Array[], budgetMs: number, signal: AbortSignal): Promise<Uint8Array[]> {
    this.bump('handled');
    const local = this.answerLocally(m).catch(() => undefined); // a failing store costs only this relay's answer
    const next = this.next(m);
    const childBudget = budgetMs - this.hopMarginMs;
    const remote = next !== undefined && childBudget > 0 ? this.forward(next, from, root, covered, childBudget, signal) : Promise.resolve([]);
    const [mine, theirs] = await Promise.all([local, remote]);
    return mine === undefined ? theirs : [mine, ...theirs];
  }

  private async forward(m: M, from: PeerId | undefined, root: Uint8Array, covered: Uint8Array[], budgetMs: number, signal: AbortSignal): Promise<Uint8Array[]> {
    const { node } = this.fwd;
    const skip = new Set(covered.map(idHex));
    if (from !== undefined) skip.add(from.toString());
    const tree = this.fwd.topology?.tree(idHex(root));
    const me = idHex(node.relayId);
    const targets: PeerId[] = [];
    for (const peer of node.libp2p.getPeers()) {
      const rid = relayIdOf(peer);
      if (rid === undefined || skip.has(idHex(rid)) || skip.has(peer.toString())) continue;
      if (tree !== undefined && !shouldForward(tree, me, idHex(rid))) continue;
      targets.push(peer);
    }
    if (targets.length === 0) return [];
    // Tell every target who else gets the request from here (and who had it before), so
    // siblings do not forward it to each other. Oldest entries go first when full.
    const nextCovered = [...covered, node.relayId, ...targets.map((p) => relayIdOf(p)!)].slice(-MAX_COVERED);
    const req = this.encodeRequest({ message: m, budgetMs, root, covered: nextCovered });
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]);
    const results = await Promise.all(
      targets.map(async (peer) => {
        this.bump('forwards');
        let answers: Uint8Array[];
        try {
          const res = QueryResponseCodec.decode(await request(node.libp2p, peer, this.protocol, req, { maxResponse: MAX_QUERY_RESPONSE, signal: deadline }));
          answers = res.status === 'ok' ? res.answers : [];
        } catch {
          this.bump('peerFailures');
          return [];
        }
        const kept = answers.filter((a) => this.acceptAnswer(m, a));
        this.bump('dropped', answers.length - kept.length);
        return kept;
      }),
    );
    return results.flat();
  }
}
