/**
 * PrekeyPublish (object 0x0D): a PrekeyBundle wrapped in the identity key's signature for ONE
 * relay at one moment (docs/protocol.md "Prekeys"). A bare bundle proves only that its keys
 * were once signed; anyone who fetched one could post it back (returning used one-time keys to
 * the pool), post an old one (pinning a retired signed prekey) or relabel its Kyber key ids
 * (their signatures cover the public key only). The publish signature closes all three:
 *
 *   signed (XEdDSA by bundle.identityKey): "satpost/v1/bundle-publish" || relayId (32) ||
 *          timestamp u64 ms || nonce (16) || SHA-256(PrekeyBundle encoding)
 *
 * The bundle hash covers publishedAt and every key's id and public key; relayId is the relay's
 * ed25519 node key from its information document; timestamp and nonce make it fresh.
 * Pure: the codec and the signed bytes; signing and verifying (libsignal XEdDSA) live in
 * src/identity/prekey-publish.ts.
 */
import { struct, tagged, u64, type Codec } from '../codec.ts';
import { H, concatBytes } from '../hash.ts';
import { id16, millis, relayId, sig64 } from './fields.ts';
import { PrekeyBundleCodec, type PrekeyBundle } from './prekey-bundle.ts';

export const PREKEY_PUBLISH_TAG = 0x0d;

export interface PrekeyPublish {
  /** The ed25519 node key of the relay this publish is for. */
  relayId: Uint8Array;
  /** When it was signed (unix ms); a relay takes it only within its clock skew. */
  timestamp: number;
  /** 16 random bytes; a relay takes each (identity key, nonce) once. */
  nonce: Uint8Array;
  bundle: PrekeyBundle;
  signature: Uint8Array;
}

export const PrekeyPublishCodec: Codec<PrekeyPublish> = tagged(
  PREKEY_PUBLISH_TAG,
  struct(
    { relayId: relayId(), timestamp: millis('timestamp'), nonce: id16('nonce'), bundle: PrekeyBundleCodec, signature: sig64() },
    'PrekeyPublish',
  ),
);

// Not a prefix of "satpost/v1/prekey" (nor it of this), the other tag signed by the identity key for prekeys.
const DOMAIN = new TextEncoder().encode('satpost/v1/bundle-publish');

/** The exact bytes the publish signature covers. */
export function prekeyPublishPayload(p: Omit<PrekeyPublish, 'signature'>): Uint8Array {
  return concatBytes(DOMAIN, relayId().encode(p.relayId), u64('timestamp').encode(p.timestamp), id16('nonce').encode(p.nonce), H(PrekeyBundleCodec.encode(p.bundle)));
}
