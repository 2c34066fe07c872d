/**
 * Mailbox ownership: MailboxAuth (0x08) answers a relay's fresh challenge; MailboxQuery
 * (0x09) travels relay to relay. Both are XEdDSA-signed by Carol's identity key
 * (libsignal); this module builds the signed bytes, signing lives with the identity keys.
 * Verifiers must also check mailbox == mailboxIdOf(identityKey) (or, later, a rotating
 * mailbox derived from it); the codec does not, so rotating ids stay possible.
 */
import { enumU8, refine, struct, tagged, u64, u8, type Codec } from '../codec.ts';
import { domainBytes, taggedHash } from '../hash.ts';
import { hash32, id16, identityKey, millis, sig64 } from './fields.ts';

/**
 * 0x08 was the unbound MailboxAuth (mailbox, identityKey, challenge, timestamp): one relay could
 * replay it at another, or spend a login meant for one operation on another. It is retired;
 * 0x0e binds the relay and the operation, and decoders refuse 0x08 (BAD_TAG).
 */
export const MAILBOX_AUTH_TAG = 0x0e;
export const MAILBOX_QUERY_TAG = 0x09;

/** M = H("satpost/v1/mailbox" || identityPublicKey33). */
export function mailboxIdOf(identityKey33: Uint8Array): Uint8Array {
  return taggedHash('mailbox', identityKey('identityKey').encode(identityKey33));
}

/** What one login authorises, exactly one of: one page of the listing, one fetch, one live subscription. */
export type MailboxOperation = 'list' | 'fetch' | 'subscribe';
export const MAILBOX_OPERATION_CODES: Record<MailboxOperation, number> = { list: 1, fetch: 2, subscribe: 3 };

export interface MailboxAuth {
  mailbox: Uint8Array;
  identityKey: Uint8Array;
  /** The relay this login is for: its Ed25519 node key (the information document's relayId). */
  relayId: Uint8Array;
  operation: MailboxOperation;
  challenge: Uint8Array;
  timestamp: number;
  signature: Uint8Array;
}

export const MailboxAuthCodec: Codec<MailboxAuth> = tagged(
  MAILBOX_AUTH_TAG,
  struct(
    {
      mailbox: hash32('mailbox'),
      identityKey: identityKey(),
      relayId: hash32('relayId'),
      operation: enumU8(MAILBOX_OPERATION_CODES, 'operation'),
      challenge: hash32('challenge'),
      timestamp: millis('timestamp'),
      signature: sig64(),
    },
    'MailboxAuth',
  ),
);

/** "satpost/v1/mailbox-login" || relayId || operation u8 || mailbox || challenge || timestamp u64. */
export function mailboxAuthBytes(a: Omit<MailboxAuth, 'identityKey' | 'signature'>): Uint8Array {
  return domainBytes(
    'mailbox-login',
    hash32('relayId').encode(a.relayId),
    enumU8(MAILBOX_OPERATION_CODES, 'operation').encode(a.operation),
    hash32('mailbox').encode(a.mailbox),
    hash32('challenge').encode(a.challenge),
    u64('timestamp').encode(a.timestamp),
  );
}

export interface MailboxQuery {
  queryId: Uint8Array;
  mailbox: Uint8Array;
  identityKey: Uint8Array;
  timestamp: number;
  /** The hop limit Carol signed; never changes on the way. */
  hopLimit: number;
  signature: Uint8Array;
  /** Hops still allowed: starts at hopLimit, each forwarder decrements it. Not signed. */
  hopsLeft: number;
}

export const MailboxQueryCodec: Codec<MailboxQuery> = tagged(
  MAILBOX_QUERY_TAG,
  refine(
    struct(
      {
        queryId: id16('queryId'),
        mailbox: hash32('mailbox'),
        identityKey: identityKey(),
        timestamp: millis('timestamp'),
        hopLimit: u8('hopLimit'),
        signature: sig64(),
        hopsLeft: u8('hopsLeft'),
      },
      'MailboxQuery',
    ),
    (q) => (q.hopsLeft <= q.hopLimit ? undefined : `expected hopsLeft <= hopLimit (${q.hopLimit}), got ${q.hopsLeft}`),
  ),
);

/** "satpost/v1/mailbox-query" || queryId || mailbox || timestamp u64 || hopLimit u8. */
export function mailboxQueryBytes(q: { queryId: Uint8Array; mailbox: Uint8Array; timestamp: number; hopLimit: number }): Uint8Array {
  return domainBytes(
    'mailbox-query',
    id16('queryId').encode(q.queryId),
    hash32('mailbox').encode(q.mailbox),
    u64('timestamp').encode(q.timestamp),
    u8('hopLimit').encode(q.hopLimit),
  );
}

/** The query as the next relay receives it, or undefined when no hops are left. */
export function forwardedQuery(q: MailboxQuery): MailboxQuery | undefined {
  return q.hopsLeft > 0 ? { ...q, hopsLeft: q.hopsLeft - 1 } : undefined;
}
