/**
 * Finding messages by tag (docs/protocol.md, "Tags" and "Relay network").
 *
 * TagQuery (0x10) travels relay to relay: the tags a recipient looks for (random-looking, see
 * ./tags.ts) and a fresh one-time Curve25519 key the answers are sealed to. It names nobody and
 * is not signed: a relay on the path learns that someone wants some random tags, and the
 * coarse time. Each relay holding messages under some of the tags answers with a TagAnswer
 * (0x11) signed by its Ed25519 node key, HPKE-sealed to answerKey: the relays on the way back
 * read nothing, and the recipient acts only on answers a relay signed for this query.
 *
 * Retired: MailboxQuery (0x09, signed by the identity key: presence with a transferable proof)
 * and the mailbox logins MailboxAuth (0x08, 0x0e); decoders refuse them (BAD_TAG).
 */
import { list, refine, string, struct, tagged, u8, type Codec } from '../codec.ts';
import { concatBytes, domainTag, taggedHash } from '../hash.ts';
import { hash32, id16, identityKey, millis, relayId, sig64 } from './fields.ts';

export const TAG_QUERY_TAG = 0x10;
export const TAG_ANSWER_TAG = 0x11;

/** Tags in one query (a recipient with more splits them: 100 contacts x 8 + 9 introduction tags fit). */
export const MAX_QUERY_TAGS = 1024;
/** Tags one answer names. */
export const MAX_ANSWER_TAGS = 1024;
export const MAX_ANSWER_URL = 512;

/** HPKE `info` of a sealed TagAnswer; the associated data is the query id. */
export const ANSWER_INFO = 'satpost/v1/query-answer';

/** Resolution of a query's timestamp: like an offer's, a whole minute. */
export const QUERY_TIME_STEP_MS = 60_000;

/**
 * M = H("satpost/v1/mailbox" || identityPublicKey33): the id an address's prekey bundles are
 * published under (the introduction is the one public thing). Messages are not addressed by it.
 */
export function mailboxIdOf(identityKey33: Uint8Array): Uint8Array {
  return taggedHash('mailbox', identityKey('identityKey').encode(identityKey33));
}

export interface TagQuery {
  queryId: Uint8Array;
  /** One-time Curve25519 public key (libsignal, 0x05 prefix) the answers are sealed to. */
  answerKey: Uint8Array;
  tags: Uint8Array[];
  /** ms since the epoch, a whole minute. */
  timestamp: number;
  /** The hop limit the querier set; never changes on the way. */
  hopLimit: number;
  /** Hops still allowed: starts at hopLimit, each forwarder decrements it. */
  hopsLeft: number;
}

export const TagQueryCodec: Codec<TagQuery> = tagged(
  TAG_QUERY_TAG,
  refine(
    struct(
      {
        queryId: id16('queryId'),
        answerKey: identityKey('answerKey'),
        tags: list(hash32('tag'), MAX_QUERY_TAGS, 'tags'),
        timestamp: millis('timestamp'),
        hopLimit: u8('hopLimit'),
        hopsLeft: u8('hopsLeft'),
      },
      'TagQuery',
    ),
    (q) =>
      q.hopsLeft > q.hopLimit
        ? `expected hopsLeft <= hopLimit (${q.hopLimit}), got ${q.hopsLeft}`
        : q.timestamp % QUERY_TIME_STEP_MS !== 0
          ? `expected timestamp a whole minute, got ${q.timestamp}`
          : undefined,
  ),
);

/** now rounded down to the minute. */
export function coarseQueryTime(now: number): number {
  return Math.floor(now / QUERY_TIME_STEP_MS) * QUERY_TIME_STEP_MS;
}

/** The query as the next relay receives it, or undefined when no hops are left. */
export function forwardedQuery(q: TagQuery): TagQuery | undefined {
  return q.hopsLeft > 0 ? { ...q, hopsLeft: q.hopsLeft - 1 } : undefined;
}

export interface TagAnswer {
  queryId: Uint8Array;
  /** The answering relay's Ed25519 node key: the signer. */
  relayId: Uint8Array;
  /** Where to list and fetch (POST {url}/v1/tags/list, /v1/tags/message). */
  url: string;
  /** The query's tags this relay holds messages under. */
  tags: Uint8Array[];
  signature: Uint8Array;
}

const answerBody = {
  queryId: id16('queryId'),
  relayId: relayId(),
  url: string(MAX_ANSWER_URL, 'url'),
  tags: list(hash32('tag'), MAX_ANSWER_TAGS, 'tags'),
};

export const UnsignedTagAnswerCodec: Codec<Omit<TagAnswer, 'signature'>> = tagged(TAG_ANSWER_TAG, struct(answerBody, 'TagAnswer'));
export const TagAnswerCodec: Codec<TagAnswer> = tagged(TAG_ANSWER_TAG, struct({ ...answerBody, signature: sig64() }, 'TagAnswer'));

/** "satpost/v1/tag-answer" || the answer's encoding without its signature. */
export function tagAnswerSigningBytes(a: Omit<TagAnswer, 'signature'>): Uint8Array {
  return concatBytes(domainTag('tag-answer'), UnsignedTagAnswerCodec.encode(a));
}
