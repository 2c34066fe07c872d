/**
 * ChannelAuth (tag 0x37): the payer's signature that lets it read or act on its channel at a
 * relay (docs/protocol.md "Payment channels", docs/relay-api.md "Channels"). Channel updates
 * carry the payer's signature of a commitment already; the view, the standing terms, the close
 * request and the fresh relay key are requests without one, so each carries a ChannelAuth instead.
 *
 *   signed: SHA-256("satpost/v1/channel-auth" || relayId (32) || op u8 || channelId (32) ||
 *           timestamp u64 ms || nonce (16)), compact ECDSA (low-S) by payerPubkey
 *
 * relayId binds the relay (its ed25519 node key from the information document), op and
 * channelId the request (all zeros for op `key`, which comes before any channel), timestamp
 * and nonce make it fresh: the relay takes each (payer key, nonce) once within its clock skew.
 * Pure: the caller supplies the clock and the randomness.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../core/hash.ts';
import { hex } from '@scure/base';
import { enumU8, struct, tagged, u64, type Codec } from '../core/codec.ts';
import { hash32, id16, millis, secpPubkey, sig64 } from '../core/objects/fields.ts';
import { signDigest, verifyDigest } from './commitment.ts';
import { hex32 } from './messages.ts';

export const CHANNEL_AUTH_TAG = 0x37;
/** The header a ChannelAuth travels in (hex of its canonical encoding). */
export const CHANNEL_AUTH_HEADER = 'satpost-channel-auth';
/** channelId of a request made before the channel exists (op `key`). */
export const NO_CHANNEL = '0'.repeat(64);

export type ChannelAuthOp = 'key' | 'view' | 'close' | 'terms';
const OPS: Record<ChannelAuthOp, number> = { key: 1, view: 2, close: 3, terms: 4 };

export interface ChannelAuth {
  payerPubkey: Uint8Array;
  op: ChannelAuthOp;
  /** 64 lowercase hex; NO_CHANNEL for op `key`. */
  channelId: string;
  timestamp: number;
  nonce: Uint8Array;
  signature: Uint8Array;
}

export const ChannelAuthCodec: Codec<ChannelAuth> = tagged(CHANNEL_AUTH_TAG, struct({
  payerPubkey: secpPubkey('payerPubkey'),
  op: enumU8(OPS, 'op'),
  channelId: hex32('channelId'),
  timestamp: millis('timestamp'),
  nonce: id16('nonce'),
  signature: sig64('signature'),
}, 'ChannelAuth'));

const TAG = new TextEncoder().encode('satpost/v1/channel-auth');

function digest(a: Omit<ChannelAuth, 'signature' | 'payerPubkey'>, relayId: Uint8Array): Uint8Array {
  return sha256(concatBytes(
    TAG, hash32('relayId').encode(relayId), Uint8Array.of(OPS[a.op]), hex.decode(a.channelId), u64('timestamp').encode(a.timestamp), id16('nonce').encode(a.nonce),
  ));
}

export function signChannelAuth(
  a: { op: ChannelAuthOp; channelId: string; timestamp: number; nonce: Uint8Array }, relayId: Uint8Array, payer: { privkey: Uint8Array; pubkey: Uint8Array },
): ChannelAuth {
  const fields = { op: a.op, channelId: a.channelId, timestamp: a.timestamp, nonce: a.nonce };
  return { payerPubkey: payer.pubkey, ...fields, signature: signDigest(payer.privkey, digest(fields, relayId)) };
}

/** True iff the signature is payerPubkey's over this request to relay `relayId`. */
export function verifyChannelAuth(a: ChannelAuth, relayId: Uint8Array): boolean {
  return verifyDigest(a.signature, digest(a, relayId), a.payerPubkey);
}
