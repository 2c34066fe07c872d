/**
 * Mailbox queries forwarded relay to relay on '/satpost/query/1.0.0' (docs/protocol.md,
 * "Relay network"). Every relay that receives a query checks Carol's XEdDSA signature, that
 * the mailbox is hers, that the timestamp is fresh and that the query id is new to it; it
 * answers from its own store and, while hops are left, forwards to each connected relay
 * except the sender and the relays the request names as already covered, waits for them
 * within its budget, and returns the union. Answers are sealed (libsignal HPKE) to Carol's
 * identity key, so relays on the path learn that M was queried and nothing of what M holds.
 */
import { setMaxListeners } from 'node:events';
import { PublicKey } from '@signalapp/libsignal-client';
import type { PeerId } from '@libp2p/interface';
import { bytesEqual } from '../core/hash.ts';
import { expected } from '../core/errors.ts';
import { mailboxIdOf, mailboxQueryBytes, forwardedQuery, type MailboxQuery } from '../core/objects/index.ts';
import { P2pError } from './errors.ts';
import { idHex, relayIdOf } from './ids.ts';
import type { RelayNode } from './node.ts';
import { request, serve } from './rpc.ts';
import { SeenSet } from './seen.ts';
import { shouldForward, type ForwardingTree } from './tree.ts';
import {
  MAX_ANSWER,
  MAX_ANSWERS,
  MAX_COVERED,
  MAX_QUERY_REQUEST,
  MAX_QUERY_RESPONSE,
  QUERY_PROTOCOL,
  QueryRequestCodec,
  QueryResponseCodec,
  type QueryRequest,
  type QueryResponse,
} from './wire.ts';

/** HPKE `info` of a sealed answer; the associated data is the query id. */
export const ANSWER_INFO = 'satpost/v1/query-answer';

/**
 * What this relay holds for the mailbox, as plaintext bytes for Carol (the relay daemon's
 * own encoding), or undefined for nothing. The service seals it to Carol's identity key.
 */
export type MailboxLookup = (mailbox: Uint8Array, query: MailboxQuery) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface QueryServiceOptions {
  node: RelayNode;
  lookup: MailboxLookup;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Accepted |now - timestamp|, ms. Default 300000 (5 min). */
  windowMs?: number;
  /** The most any request may make this relay wait, ms. Default 10000. */
  maxBudgetMs?: number;
  /** What each hop keeps for itself out of the budget it was given, ms. Default 250. */
  hopMarginMs?: number;
  /** Query ids remembered for duplicate suppression. Default 100000. */
  seenCapacity?: number;
  /**
   * The announced topology (a TopologyService): when given, a relay forwards only to its
   * children in the BFS tree rooted at the entry relay, and floods only where the tree
   * cannot say. Without it, every query is flooded.
   */
  topology?: { tree(root: string): ForwardingTree };
}

export interface QueryStats {
  /** Queries this relay accepted and processed (local or from peers). */
  handled: number;
  /** Requests this relay sent to peers. */
  forwards: number;
  /** Requests refused as already seen. */
  duplicates: number;
  /** Requests refused for a bad signature, wrong mailbox, stale timestamp or bad encoding. */
  refused: number;
  /** Forwards that failed (peer gone, reset, timed out). */
  peerFailures: number;
}

export interface QueryOptions {
  /** Total time to wait for the network, ms. Default 5000. */
  budgetMs?: number;
  signal?: AbortSignal;
}

/** Dispatches 'stats' (a plain Event) whenever a counter changes. */
export class QueryService extends EventTarget {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxBudgetMs: number;
  private readonly hopMarginMs: number;
  private readonly seen: SeenSet;
  private readonly counters: QueryStats = { handled: 0, forwards: 0, duplicates: 0, refused: 0, peerFailures: 0 };
  private lifetime: AbortController | undefined;

  constructor(private readonly opts: QueryServiceOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.windowMs ?? 300_000;
    this.maxBudgetMs = opts.maxBudgetMs ?? 10_000;
    this.hopMarginMs = opts.hopMarginMs ?? 250;
    this.seen = new SeenSet(2 * this.windowMs, opts.seenCapacity ?? 100_000, this.now);
  }

  async start(): Promise<void> {
    this.lifetime = new AbortController();
    // Every query in flight listens on the lifetime signal: many at once are normal here.
    setMaxListeners(0, this.lifetime.signal);
    await serve(this.opts.node.libp2p, QUERY_PROTOCOL, MAX_QUERY_REQUEST, (req, from) => this.onRequest(req, from));
  }

  async stop(): Promise<void> {
    this.lifetime?.abort(new P2pError('NOT_STARTED', 'query service stopped'));
    this.lifetime = undefined;
    await this.opts.node.libp2p.unhandle(QUERY_PROTOCOL).catch(() => undefined);
  }

  private bump(k: keyof QueryStats): void {
    this.counters[k]++;
    this.dispatchEvent(new Event('stats'));
  }

  stats(): QueryStats {
    return { ...this.counters };
  }

  /**
   * Runs a query for a client of this relay: the same checks as for a forwarded one, then
   * the local answer and the network's. Returns the sealed answers (each opens with Carol's
   * identity private key, info ANSWER_INFO, associated data queryId). Throws P2pError
   * BAD_SIGNATURE, WRONG_MAILBOX, STALE, DUPLICATE or NOT_STARTED.
   */
  async query(q: MailboxQuery, opts: QueryOptions = {}): Promise<Uint8Array[]> {
    const lifetime = this.lifetime;
    if (lifetime === undefined) throw new P2pError('NOT_STARTED', 'query service is not started');
    this.check(q);
    if (!this.seen.add(idHex(q.queryId))) {
      this.bump('duplicates');
      throw new P2pError('DUPLICATE', `query ${idHex(q.queryId)} was already handled here`);
    }
    const budget = Math.min(opts.budgetMs ?? 5000, this.maxBudgetMs);
    const signal = opts.signal === undefined ? lifetime.signal : AbortSignal.any([opts.signal, lifetime.signal]);
    return this.process(q, undefined, this.opts.node.relayId, [], budget, signal);
  }

  /** Throws unless the query is Carol's, fresh and well-formed. */
  check(q: MailboxQuery): void {
    const age = this.now() - q.timestamp;
    if (Math.abs(age) > this.windowMs) {
      throw new P2pError('STALE', expected('query timestamp', `within ${this.windowMs} ms of now`, `${age} ms off`));
    }
    if (!bytesEqual(q.mailbox, mailboxIdOf(q.identityKey))) {
      throw new P2pError('WRONG_MAILBOX', 'query mailbox is not the mailbox of its identity key');
    }
    let ok = false;
    try {
      ok = PublicKey.deserialize(q.identityKey as Uint8Array<ArrayBuffer>).verify(
        mailboxQueryBytes(q) as Uint8Array<ArrayBuffer>,
        q.signature as Uint8Array<ArrayBuffer>,
      );
    } catch {
      ok = false;
    }
    if (!ok) throw new P2pError('BAD_SIGNATURE', 'query signature does not verify under its identity key');
  }

  private async onRequest(bytes: Uint8Array, from: PeerId): Promise<Uint8Array> {
    const respond = (r: QueryResponse): Uint8Array => QueryResponseCodec.encode(r);
    const lifetime = this.lifetime;
    let req: QueryRequest;
    try {
      req = QueryRequestCodec.decode(bytes);
      this.check(req.query);
    } catch {
      this.bump('refused');
      return respond({ status: 'refused', answers: [] });
    }
    if (lifetime === undefined) return respond({ status: 'refused', answers: [] });
    if (!this.seen.add(idHex(req.query.queryId))) {
      this.bump('duplicates');
      return respond({ status: 'duplicate', answers: [] });
    }
    const budget = Math.min(req.budgetMs, this.maxBudgetMs);
    const answers = await this.process(req.query, from, req.root, req.covered, budget, lifetime.signal);
    return respond({ status: 'ok', answers: answers.slice(0, MAX_ANSWERS) });
  }

  private async process(q: MailboxQuery, from: PeerId | undefined, root: Uint8Array, covered: Uint8Array[], budgetMs: number, signal: AbortSignal): Promise<Uint8Array[]> {
    this.bump('handled');
    const local = this.answerLocally(q);
    const next = forwardedQuery(q);
    const childBudget = budgetMs - this.hopMarginMs;
    const remote = next !== undefined && childBudget > 0 ? this.forward(next, from, root, covered, childBudget, signal) : Promise.resolve([]);
    const [mine, theirs] = await Promise.all([local, remote]);
    return mine === undefined ? theirs : [mine, ...theirs];
  }

  private async answerLocally(q: MailboxQuery): Promise<Uint8Array | undefined> {
    let plain: Uint8Array | undefined;
    try {
      plain = await this.opts.lookup(q.mailbox, q);
    } catch {
      return undefined; // a failing store costs only this relay's answer
    }
    if (plain === undefined) return undefined;
    const sealed = PublicKey.deserialize(q.identityKey as Uint8Array<ArrayBuffer>).seal(
      plain as Uint8Array<ArrayBuffer>,
      ANSWER_INFO,
      q.queryId as Uint8Array<ArrayBuffer>,
    );
    return sealed.length <= MAX_ANSWER ? sealed : undefined;
  }

  private async forward(q: MailboxQuery, from: PeerId | undefined, root: Uint8Array, covered: Uint8Array[], budgetMs: number, signal: AbortSignal): Promise<Uint8Array[]> {
    const { node } = this.opts;
    const skip = new Set(covered.map(idHex));
    if (from !== undefined) skip.add(from.toString());
    const tree = this.opts.topology?.tree(idHex(root));
    const me = idHex(node.relayId);
    const targets: PeerId[] = [];
    for (const peer of node.libp2p.getPeers()) {
      const rid = relayIdOf(peer);
      if (rid === undefined || skip.has(idHex(rid)) || skip.has(peer.toString())) continue;
      if (tree !== undefined && !shouldForward(tree, me, idHex(rid))) continue;
      targets.push(peer);
    }
    if (targets.length === 0) return [];
    // Tell every target who else gets the query from here (and who had it before), so
    // siblings do not forward it to each other. Oldest entries go first when full.
    const nextCovered = [...covered, node.relayId, ...targets.map((p) => relayIdOf(p)!)].slice(-MAX_COVERED);
    const req = QueryRequestCodec.encode({ kind: 'mailbox', query: q, budgetMs, root, covered: nextCovered });
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]);
    const results = await Promise.all(
      targets.map(async (peer) => {
        this.bump('forwards');
        try {
          const res = QueryResponseCodec.decode(await request(node.libp2p, peer, QUERY_PROTOCOL, req, { maxResponse: MAX_QUERY_RESPONSE, signal: deadline }));
          return res.status === 'ok' ? res.answers : [];
        } catch {
          this.bump('peerFailures');
          return [];
        }
      }),
    );
    return results.flat();
  }
}
