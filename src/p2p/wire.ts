/**
 * Wire objects of the relay network (docs/protocol.md, "Relay network"). They travel only
 * relay to relay, inside libp2p streams or gossipsub messages, and use tags 0x20.. so they
 * can never be confused with the protocol objects (0x01..0x0a).
 */
import { bytes, enumU8, list, string, struct, tagged, u32, u64, varbytes, type Codec } from '../core/codec.ts';
import { MailboxQueryCodec, OfferCodec, type MailboxQuery, type Offer } from '../core/objects/index.ts';

export const OFFER_TOPIC = 'satpost/offers/v1';
export const QUOTE_PROTOCOL = '/satpost/quote/1.0.0';
export const QUERY_PROTOCOL = '/satpost/query/1.0.0';

export const OFFER_ANNOUNCEMENT_TAG = 0x20;
export const QUERY_REQUEST_TAG = 0x21;
export const QUERY_RESPONSE_TAG = 0x22;
export const TOPOLOGY_ANNOUNCEMENT_TAG = 0x23;

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
export const MAX_QUERY_REQUEST = 4096;

export interface OfferAnnouncement {
  offer: Offer;
  /** Where the origin accepts '/satpost/quote/1.0.0' streams (its peer id is the gossipsub signer). */
  originAddrs: string[];
}

export const OfferAnnouncementCodec: Codec<OfferAnnouncement> = tagged(
  OFFER_ANNOUNCEMENT_TAG,
  struct({ offer: OfferCodec, originAddrs: list(string(MAX_MULTIADDR, 'originAddr'), MAX_ORIGIN_ADDRS, 'originAddrs') }, 'OfferAnnouncement'),
);

/** The one-byte answer to a delivered quote. */
export type QuoteAck = 'accepted' | 'unknown-offer' | 'invalid';
export const QUOTE_ACK_CODES: Record<QuoteAck, number> = { accepted: 0, 'unknown-offer': 1, invalid: 2 };
export const QuoteAckCodec: Codec<QuoteAck> = enumU8(QUOTE_ACK_CODES, 'QuoteAck');

export type QueryKind = 'mailbox';
/** Kinds 2 (prekey bundle) and 3 (relay info) are reserved for the same mechanism. */
export const QUERY_KIND_CODES: Record<QueryKind, number> = { mailbox: 1 };

export interface QueryRequest {
  kind: QueryKind;
  query: MailboxQuery;
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
      query: MailboxQueryCodec,
      budgetMs: u32('budgetMs'),
      root: bytes(32, 'root'),
      covered: list(bytes(32, 'coveredRelayId'), MAX_COVERED, 'covered'),
    },
    'QueryRequest',
  ),
);

export type QueryStatus = 'ok' | 'duplicate' | 'refused';
export const QUERY_STATUS_CODES: Record<QueryStatus, number> = { ok: 1, duplicate: 2, refused: 3 };

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
