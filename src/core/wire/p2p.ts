/**
 * Wire objects of the relay network (docs/protocol.md, "Relay network"). They travel only
 * relay to relay, inside libp2p streams or gossipsub messages, and use tags 0x20.. so they
 * can never be confused with the protocol objects (0x01..0x0a).
 */
import { bytes, enumU8, list, refine, string, struct, tagged, u32, u64, u8, varbytes, type Codec } from '../codec.ts';
import { OfferCodec, TagQueryCodec, type Offer, type TagQuery } from '../objects/index.ts';

export const OFFER_TOPIC = 'satpost/offers/v1';
export const QUOTE_PROTOCOL = '/satpost/quote/1.0.0';
export const QUERY_PROTOCOL = '/satpost/query/1.0.0';
/** Lookups (prekey-bundle holders, relay information): LookupRequest in, QueryResponse out. */
export const LOOKUP_PROTOCOL = '/satpost/lookup/1.0.0';

export const OFFER_ANNOUNCEMENT_TAG = 0x20;
export const QUERY_REQUEST_TAG = 0x21;
export const QUERY_RESPONSE_TAG = 0x22;
export const TOPOLOGY_ANNOUNCEMENT_TAG = 0x23;
export const LOOKUP_REQUEST_TAG = 0x24;
/** A relay's signed answer to a lookup (./lookup-answer.ts). */
export const LOOKUP_ANSWER_TAG = 0x25;
export const OFFER_DECLINE_TAG = 0x26;

export const TOPOLOGY_TOPIC = 'satpost/topology/v1';
/** Neighbours one relay announces (and so the most connections the tree logic knows of per relay). */
export const MAX_NEIGHBOURS = 64;

/** At most this many listen addresses of the origin ride along with an offer. */
export const MAX_ORIGIN_ADDRS = 8;
export const MAX_MULTIADDR = 256;
/** Relay ids a query request may name as already covered. */
export const MAX_COVERED = 64;
/** One relay's sealed answer (HPKE overhead included). */
export const MAX_ANSWER = 16384;
/** Answers in one response (the union of a whole subtree). */
export const MAX_ANSWERS = 256;
/** A response's bytes can never exceed this; readers stop there. */
export const MAX_QUERY_RESPONSE = 2 + 3 + MAX_ANSWERS * (3 + MAX_ANSWER);
/** A TagQuery of MAX_QUERY_TAGS tags (32 KiB) with its forwarding fields. */
export const MAX_QUERY_REQUEST = 40_960;

export interface OfferAnnouncement {
  offer: Offer;
  /** Where the origin accepts '/satpost/quote/1.0.0' streams (its peer id is the gossipsub signer). */
  originAddrs: string[];
}

export const OfferAnnouncementCodec: Codec<OfferAnnouncement> = tagged(
  OFFER_ANNOUNCEMENT_TAG,
  struct({ offer: OfferCodec, originAddrs: list(string(MAX_MULTIADDR, 'originAddr'), MAX_ORIGIN_ADDRS, 'originAddrs') }, 'OfferAnnouncement'),
);

/**
 * A relay's answer that it does not quote an offer, sent on QUOTE_PROTOCOL like a Quote: the
 * origin then knows it need not wait for that relay. Unsigned: the stream's authenticated
 * peer is the relay that declines, and a decline can only end that relay's own part.
 */
export interface OfferDecline {
  offerId: Uint8Array;
}

export const OfferDeclineCodec: Codec<OfferDecline> = tagged(OFFER_DECLINE_TAG, struct({ offerId: bytes(16, 'offerId') }, 'OfferDecline'));

/** The one-byte answer to a delivered quote or decline. */
export type QuoteAck = 'accepted' | 'unknown-offer' | 'invalid';
export const QUOTE_ACK_CODES: Record<QuoteAck, number> = { accepted: 0, 'unknown-offer': 1, invalid: 2 };
export const QuoteAckCodec: Codec<QuoteAck> = enumU8(QUOTE_ACK_CODES, 'QuoteAck');

export type QueryKind = 'tags';
/**
 * Kind 4: a TagQuery. Kind 1 (the signed MailboxQuery of 0.1) is retired; kinds 2 (prekey
 * bundle) and 3 (relay info) travel as LookupRequest on LOOKUP_PROTOCOL.
 */
export const QUERY_KIND_CODES: Record<QueryKind, number> = { tags: 4 };

export interface QueryRequest {
  kind: QueryKind;
  query: TagQuery;
  /** How long the sender waits for this response, ms; the receiver waits less for its own peers. */
  budgetMs: number;
  /** The entry relay's id: every relay forwards along the same BFS tree rooted there. */
  root: Uint8Array;
  /** Relay ids (Ed25519 node keys) already sent this query: the receiver does not forward to them. */
  covered: Uint8Array[];
}

export const QueryRequestCodec: Codec<QueryRequest> = tagged(
  QUERY_REQUEST_TAG,
  struct(
    {
      kind: enumU8(QUERY_KIND_CODES, 'kind'),
      query: TagQueryCodec,
      budgetMs: u32('budgetMs'),
      root: bytes(32, 'root'),
      covered: list(bytes(32, 'coveredRelayId'), MAX_COVERED, 'covered'),
    },
    'QueryRequest',
  ),
);

export type LookupKind = 'prekeys' | 'relay-info';
/** The same numbering as QueryRequest kinds: 2 prekey-bundle holders, 3 relay information. */
export const LOOKUP_KIND_CODES: Record<LookupKind, number> = { prekeys: 2, 'relay-info': 3 };
/** The most hops a lookup spreads unless a relay is configured otherwise (issue 7: 3). */
export const DEFAULT_LOOKUP_HOPS = 3;
/** One relay's signed lookup answer; peers drop larger ones. */
export const MAX_LOOKUP_ANSWER = 4096;

/**
 * A lookup anyone may start (no owner signature): who holds a bundle for mailbox `target`
 * (kind prekeys), or which relays exist and on what terms (kind relay-info, target all zero).
 * The entry relay picks the timestamp (its clock); every relay checks it is fresh.
 */
export interface LookupMessage {
  kind: LookupKind;
  lookupId: Uint8Array;
  /** The mailbox for prekeys; 32 zero bytes for relay-info. */
  target: Uint8Array;
  /** ms since the epoch, set by the entry relay. */
  timestamp: number;
  /** Hops still allowed; each relay lowers it to its own limit, each forwarder decrements it. */
  hopsLeft: number;
}

export interface LookupRequest extends LookupMessage {
  budgetMs: number;
  root: Uint8Array;
  covered: Uint8Array[];
}

/** Undefined when `m` is a well-formed lookup, else what is wrong. */
export function lookupProblem(m: { kind: LookupKind; target: Uint8Array }): string | undefined {
  if (m.kind === 'relay-info' && m.target.some((b) => b !== 0)) return 'expected an all-zero target for a relay-info lookup, got another';
  return undefined;
}

export const LookupRequestCodec: Codec<LookupRequest> = tagged(
  LOOKUP_REQUEST_TAG,
  refine(
    struct(
      {
        kind: enumU8(LOOKUP_KIND_CODES, 'kind'),
        lookupId: bytes(16, 'lookupId'),
        target: bytes(32, 'target'),
        timestamp: u64('timestamp'),
        hopsLeft: u8('hopsLeft'),
        budgetMs: u32('budgetMs'),
        root: bytes(32, 'root'),
        covered: list(bytes(32, 'coveredRelayId'), MAX_COVERED, 'covered'),
      },
      'LookupRequest',
    ),
    lookupProblem,
  ),
);
export const MAX_LOOKUP_REQUEST = 2 + 1 + 16 + 32 + 8 + 1 + 4 + 32 + 1 + MAX_COVERED * 32;

/** rate-limited: the sender (or the request's origin) is over this relay's limit; nothing was checked or answered. */
export type QueryStatus = 'ok' | 'duplicate' | 'refused' | 'rate-limited';
export const QUERY_STATUS_CODES: Record<QueryStatus, number> = { ok: 1, duplicate: 2, refused: 3, 'rate-limited': 4 };

export interface QueryResponse {
  status: QueryStatus;
  /** Sealed answers (opaque to every relay but the mailbox owner). Empty unless status is ok. */
  answers: Uint8Array[];
}

export const QueryResponseCodec: Codec<QueryResponse> = tagged(
  QUERY_RESPONSE_TAG,
  struct(
    {
      status: enumU8(QUERY_STATUS_CODES, 'status'),
      answers: list(varbytes(MAX_ANSWER, 'answer'), MAX_ANSWERS, 'answers'),
    },
    'QueryResponse',
  ),
);

/**
 * A relay's view of its own links, published on TOPOLOGY_TOPIC (the origin is the signed
 * gossipsub `from`). Relays use the union of these to compute the same forwarding tree, and
 * the addresses to find more peers.
 */
export interface TopologyAnnouncement {
  /** Increases with every announcement of one origin (ms clock); older ones are ignored. */
  seq: number;
  /** The origin's listen addresses (with /p2p/<id>). */
  addrs: string[];
  /** Relay ids of the origin's connected relays, sorted. */
  neighbours: Uint8Array[];
}

export const TopologyAnnouncementCodec: Codec<TopologyAnnouncement> = tagged(
  TOPOLOGY_ANNOUNCEMENT_TAG,
  struct(
    {
      seq: u64('seq'),
      addrs: list(string(MAX_MULTIADDR, 'addr'), MAX_ORIGIN_ADDRS, 'addrs'),
      neighbours: list(bytes(32, 'neighbour'), MAX_NEIGHBOURS, 'neighbours'),
    },
    'TopologyAnnouncement',
  ),
);
