/**
 * SealedHeaderPlain (0x03): what only Carol reads, after opening the HPKE-sealed header.
 * The sender's identity key signs (XEdDSA, libsignal) the bytes from `senderSigningBytes`;
 * this module only builds those bytes, signing lives with the identity keys.
 * r (the sender-pays receipt secret) is present iff mode is sender-pays.
 */
import { optional, refine, struct, tagged, u64, type Codec } from '../codec.ts';
import { domainBytes } from '../hash.ts';
import { hash32, identityKey, millis, mode, relayId, sig64, type PaymentMode } from './fields.ts';

export const SEALED_HEADER_TAG = 0x03;

export interface SealedHeaderPlain {
  senderIdentityKey: Uint8Array;
  hc: Uint8Array;
  hk: Uint8Array;
  relayId: Uint8Array;
  mailbox: Uint8Array;
  timestamp: number;
  mode: PaymentMode;
  /** Sender-pays receipt secret; undefined for recipient-pays. */
  r: Uint8Array | undefined;
  senderSignature: Uint8Array;
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
        mailbox: hash32('mailbox'),
        timestamp: millis('timestamp'),
        mode: mode(),
        r: optional(hash32('r')),
        senderSignature: sig64('senderSignature'),
      },
      'SealedHeaderPlain',
    ),
    (h) =>
      (h.mode === 'sender-pays') === (h.r !== undefined)
        ? undefined
        : `expected r present iff mode is sender-pays, got mode ${h.mode} with r ${h.r === undefined ? 'absent' : 'present'}`,
  ),
);

export interface SenderSigned {
  hc: Uint8Array;
  hk: Uint8Array;
  relayId: Uint8Array;
  mailbox: Uint8Array;
  timestamp: number;
  mode: PaymentMode;
}

/** "satpost/v1/sender" || hc || hk || relayId || mailbox || timestamp u64 || mode u8. */
export function senderSigningBytes(s: SenderSigned): Uint8Array {
  return domainBytes(
    'sender',
    hash32('hc').encode(s.hc),
    hash32('hk').encode(s.hk),
    relayId().encode(s.relayId),
    hash32('mailbox').encode(s.mailbox),
    u64('timestamp').encode(s.timestamp),
    mode().encode(s.mode),
  );
}
