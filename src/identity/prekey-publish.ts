/**
 * Signing and verifying a PrekeyPublish (object 0x0D) with the identity key (libsignal XEdDSA).
 * The object, its codec and the signed bytes are pure: src/core/objects/prekey-publish.ts.
 */
import { PrivateKey, PublicKey } from '@signalapp/libsignal-client';
import { prekeyPublishPayload, type PrekeyBundle, type PrekeyPublish } from '../core/objects/index.ts';
import { own } from './bytes.ts';

/** Wraps `bundle` for the relay `relayIdBytes`, signed by the identity private key. */
export function signPrekeyPublish(
  bundle: PrekeyBundle, relayIdBytes: Uint8Array, fresh: { timestamp: number; nonce: Uint8Array }, identityKey: PrivateKey,
): PrekeyPublish {
  const unsigned = { relayId: relayIdBytes, timestamp: fresh.timestamp, nonce: fresh.nonce, bundle };
  return { ...unsigned, signature: identityKey.sign(own(prekeyPublishPayload(unsigned))) };
}

/**
 * True iff the signature is the bundle identity key's over this publish. The bundle's own
 * signatures are checked separately (verifyBundle); an identity key that is not a Curve25519
 * key is simply not a valid signer here.
 */
export function verifyPrekeyPublish(p: PrekeyPublish): boolean {
  let identity: PublicKey;
  try {
    identity = PublicKey.deserialize(own(p.bundle.identityKey));
  } catch {
    return false;
  }
  return identity.verify(own(prekeyPublishPayload(p)), own(p.signature));
}
