/**
 * SealedHeaderPlain (0x03, version 2): what only Carol reads, after opening the HPKE-sealed
 * header. Version 2 replaced the sender's XEdDSA signature (transferable proof of who wrote to
 * whom) with a deniable authenticator: an HMAC under a key both identities can derive
 * (src/envelope/authenticator.ts), over the bytes from `senderAuthBytes`. This module only
 * builds those bytes. r (the sender-pays receipt secret) is present iff mode is sender-pays.
 */
import { bytes, optional, refine, struct, tagged, u64, type Codec } from '../codec.ts';
import { domainBytes } from '../hash.ts';
import { hash32, identityKey, millis, mode, relayId, type PaymentMode } from './fields.ts';

export const SEALED_HEADER_TAG = 0x03;
/** Version 1 carried an XEdDSA senderSignature (64 bytes) and a body that was not sealed. */
export const SEALED_HEADER_VERSION = 2;

export interface SealedHeaderPlain {
  senderIdentityKey: Uint8Array;
  /** H(sealed body): the bytes the relay stores and its receipt names. */
  hc: Uint8Array;
  hk: Uint8Array;
  relayId: Uint8Array;
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  timestamp: number;
  mode: PaymentMode;
  /** Sender-pays receipt secret; undefined for recipient-pays. */
  r: Uint8Array | undefined;
  /** HMAC-SHA256 over senderAuthBytes under the sender-recipient DH key. */
  senderAuth: Uint8Array;
}

export const SealedHeaderPlainCodec: Codec<SealedHeaderPlain> = tagged(
  SEALED_HEADER_TAG,
  refine(
    struct(
      {
        senderIdentityKey: identityKey('senderIdentityKey'),
        hc: hash32('hc'),
        hk: hash32('hk'),
        relayId: relayId(),
        tag: hash32('tag'),
        timestamp: millis('timestamp'),
        mode: mode(),
        r: optional(hash32('r')),
        senderAuth: bytes(32, 'senderAuth'),
      },
      'SealedHeaderPlain',
    ),
    (h) =>
      (h.mode === 'sender-pays') === (h.r !== undefined)
        ? undefined
        : `expected r present iff mode is sender-pays, got mode ${h.mode} with r ${h.r === undefined ? 'absent' : 'present'}`,
  ),
  'SealedHeaderPlain',
  SEALED_HEADER_VERSION,
);

export interface SenderAuthenticated {
  hc: Uint8Array;
  hk: Uint8Array;
  relayId: Uint8Array;
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  timestamp: number;
  mode: PaymentMode;
}

/** "satpost/v1/sender" || hc || hk || relayId || tag || timestamp u64 || mode u8. */
export function senderAuthBytes(s: SenderAuthenticated): Uint8Array {
  return domainBytes(
    'sender',
    hash32('hc').encode(s.hc),
    hash32('hk').encode(s.hk),
    relayId().encode(s.relayId),
    hash32('tag').encode(s.tag),
    u64('timestamp').encode(s.timestamp),
    mode().encode(s.mode),
  );
}
