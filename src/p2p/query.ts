/**
 * Mailbox queries forwarded relay to relay on '/satpost/query/1.0.0' (docs/protocol.md,
 * "Relay network"), over the shared forwarding of ./forwarding.ts. Every relay that receives
 * a query checks Carol's XEdDSA signature, that the mailbox is hers, that the timestamp is
 * fresh and that the query id is new to it. Answers are sealed (libsignal HPKE) to Carol's
 * identity key, so relays on the path learn that M was queried and nothing of what M holds.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import { bytesEqual } from '../core/hash.ts';
import { mailboxIdOf, mailboxQueryBytes, forwardedQuery, type MailboxQuery } from '../core/objects/index.ts';
import { P2pError } from './errors.ts';
import { idHex } from './ids.ts';
import { ForwardingService, type ForwardingOptions, type ForwardingStats, type Forwarded, type RunOptions } from './forwarding.ts';
import { MAX_ANSWER, MAX_QUERY_REQUEST, QUERY_PROTOCOL, QueryRequestCodec } from './wire.ts';

/** HPKE `info` of a sealed answer; the associated data is the query id. */
export const ANSWER_INFO = 'satpost/v1/query-answer';

/**
 * What this relay holds for the mailbox, as plaintext bytes for Carol (the relay daemon's
 * own encoding), or undefined for nothing. The service seals it to Carol's identity key.
 */
export type MailboxLookup = (mailbox: Uint8Array, query: MailboxQuery) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface QueryServiceOptions extends ForwardingOptions {
  lookup: MailboxLookup;
}

export type QueryStats = ForwardingStats;
export type QueryOptions = RunOptions;

export class QueryService extends ForwardingService<MailboxQuery> {
  constructor(private readonly opts: QueryServiceOptions) {
    super(QUERY_PROTOCOL, MAX_QUERY_REQUEST, opts);
  }

  /**
   * Runs a query for a client of this relay: the same checks as for a forwarded one, then
   * the local answer and the network's. Returns the sealed answers (each opens with Carol's
   * identity private key, info ANSWER_INFO, associated data queryId). Throws P2pError
   * BAD_SIGNATURE, WRONG_MAILBOX, STALE, DUPLICATE or NOT_STARTED.
   */
  query(q: MailboxQuery, opts: QueryOptions = {}): Promise<Uint8Array[]> {
    return this.run(q, opts);
  }

  protected decodeRequest(bytes: Uint8Array): Forwarded<MailboxQuery> {
    const r = QueryRequestCodec.decode(bytes);
    return { message: r.query, budgetMs: r.budgetMs, root: r.root, covered: r.covered };
  }

  protected encodeRequest(r: Forwarded<MailboxQuery>): Uint8Array {
    return QueryRequestCodec.encode({ kind: 'mailbox', query: r.message, budgetMs: r.budgetMs, root: r.root, covered: r.covered });
  }

  protected idOf(q: MailboxQuery): Uint8Array {
    return q.queryId;
  }

  protected timestampOf(q: MailboxQuery): number {
    return q.timestamp;
  }

  protected next(q: MailboxQuery): MailboxQuery | undefined {
    return forwardedQuery(q);
  }

  /** Throws unless the query is Carol's: her mailbox, her signature. */
  protected verify(q: MailboxQuery): void {
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

  /** The mailbox owner: her signature was checked, so nobody can spend her bucket. */
  protected override originOf(q: MailboxQuery): string {
    return idHex(q.mailbox);
  }

  protected async answerLocally(q: MailboxQuery): Promise<Uint8Array | undefined> {
    const plain = await this.opts.lookup(q.mailbox, q);
    if (plain === undefined) return undefined;
    const sealed = PublicKey.deserialize(q.identityKey as Uint8Array<ArrayBuffer>).seal(
      plain as Uint8Array<ArrayBuffer>,
      ANSWER_INFO,
      q.queryId as Uint8Array<ArrayBuffer>,
    );
    return sealed.length <= MAX_ANSWER ? sealed : undefined;
  }
}
