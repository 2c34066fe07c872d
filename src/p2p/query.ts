/**
 * Tag queries forwarded relay to relay on '/satpost/query/1.0.0' (docs/protocol.md, "Relay
 * network"), over the shared forwarding of ./forwarding.ts. A TagQuery names nobody and carries
 * no signature: every relay checks that its timestamp is fresh and its id new to it, answers
 * for the tags it holds and forwards it. Each answer is a TagAnswer signed by the answering
 * relay's node key and sealed (libsignal HPKE) to the query's one-time answerKey, so relays on
 * the path learn that some random tags were wanted, and nothing of who holds what.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import { x25519 } from '@noble/curves/ed25519.js';
import { ANSWER_INFO, forwardedQuery, type TagQuery } from '../core/objects/index.ts';
import { P2pError } from './errors.ts';
import { ForwardingService, type ForwardingOptions, type ForwardingStats, type Forwarded, type RunOptions } from './forwarding.ts';
import { MAX_ANSWER, MAX_QUERY_REQUEST, QUERY_PROTOCOL, QueryRequestCodec } from '../core/wire/p2p.ts';


/** Any fixed scalar (X25519 clamps it to a multiple of the cofactor). */
const PROBE_SCALAR = new Uint8Array(32).fill(0x5a);

/**
 * What this relay holds under the query's tags, as a signed TagAnswer's bytes, or undefined
 * for nothing. The service seals it to the query's answerKey.
 */
export type TagLookup = (query: TagQuery) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface QueryServiceOptions extends ForwardingOptions {
  lookup: TagLookup;
}

export type QueryStats = ForwardingStats;
export type QueryOptions = RunOptions;

export class QueryService extends ForwardingService<TagQuery> {
  constructor(private readonly opts: QueryServiceOptions) {
    super(QUERY_PROTOCOL, MAX_QUERY_REQUEST, opts);
  }

  /**
   * Runs a query for a client of this relay: the same checks as for a forwarded one, then
   * the local answer and the network's. Returns the sealed answers (each opens with the
   * answerKey's private key, info ANSWER_INFO, associated data queryId). Throws P2pError
   * BAD_KEY, STALE, DUPLICATE or NOT_STARTED.
   */
  query(q: TagQuery, opts: QueryOptions = {}): Promise<Uint8Array[]> {
    return this.run(q, opts);
  }

  protected decodeRequest(bytes: Uint8Array): Forwarded<TagQuery> {
    const r = QueryRequestCodec.decode(bytes);
    return { message: r.query, budgetMs: r.budgetMs, root: r.root, covered: r.covered };
  }

  protected encodeRequest(r: Forwarded<TagQuery>): Uint8Array {
    return QueryRequestCodec.encode({ kind: 'tags', query: r.message, budgetMs: r.budgetMs, root: r.root, covered: r.covered });
  }

  protected idOf(q: TagQuery): Uint8Array {
    return q.queryId;
  }

  protected timestampOf(q: TagQuery): number {
    return q.timestamp;
  }

  protected next(q: TagQuery): TagQuery | undefined {
    return forwardedQuery(q);
  }

  /**
   * Throws unless answers can be sealed to the answer key. A small-order point deserializes but
   * libsignal's seal panics on it (the X25519 result is all zeros), so it is refused here, before
   * any lookup: any clamped scalar times a small-order point is zero.
   */
  protected verify(q: TagQuery): void {
    let ok = false;
    try {
      PublicKey.deserialize(q.answerKey as Uint8Array<ArrayBuffer>);
      ok = q.answerKey.length === 33 && x25519.scalarMult(PROBE_SCALAR, q.answerKey.subarray(1)).some((b) => b !== 0);
    } catch {
      ok = false;
    }
    if (!ok) throw new P2pError('BAD_KEY', 'the query\'s answerKey is not a Curve25519 public key answers can be sealed to');
  }

  protected async answerLocally(q: TagQuery): Promise<Uint8Array | undefined> {
    const plain = await this.opts.lookup(q);
    if (plain === undefined) return undefined;
    const sealed = PublicKey.deserialize(q.answerKey as Uint8Array<ArrayBuffer>).seal(
      plain as Uint8Array<ArrayBuffer>,
      ANSWER_INFO,
      q.queryId as Uint8Array<ArrayBuffer>,
    );
    return sealed.length <= MAX_ANSWER ? sealed : undefined;
  }
}
