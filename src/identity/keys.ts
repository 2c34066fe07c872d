/**
 * Derived values of a user identity key (libsignal Curve25519, 33 bytes serialized with
 * the 0x05 type prefix): the mailbox id and a human-comparable fingerprint.
 */
import { concatBytes, H } from '../core/hash.ts';
import { expected } from '../core/errors.ts';
import { hex } from '@scure/base';

export const IDENTITY_KEY_LENGTH = 33;
/** libsignal's type byte for Curve25519 (DJB) public keys. */
export const DJB_KEY_TYPE = 0x05;

/** Shape check only: any 32 bytes are a usable Montgomery u-coordinate. */
export function identityKeyProblem(key: Uint8Array): string | undefined {
  if (!(key instanceof Uint8Array) || key.length !== IDENTITY_KEY_LENGTH) {
    return expected('identityKey', `${IDENTITY_KEY_LENGTH} bytes`, key);
  }
  if (key[0] !== DJB_KEY_TYPE) return expected('identityKey[0]', '0x05 (Curve25519)', key[0]);
  return undefined;
}

/** Mailbox id M = H("satpost/v1/mailbox" || identityPublicKey33) (defined with the objects). */
export { mailboxIdOf } from '../core/objects/tag-query.ts';

const FINGERPRINT_TAG = new TextEncoder().encode('satpost/v1/fingerprint');

/**
 * 20 bytes of H("satpost/v1/fingerprint" || key) as 8 groups of 5 hex digits: short enough
 * to read aloud, long enough (160 bits) that a second key with the same print cannot be found.
 */
export function fingerprintOf(identityKey: Uint8Array): string {
  const h = H(concatBytes(FINGERPRINT_TAG, identityKey)).subarray(0, 20);
  return hex.encode(h).match(/.{5}/g)!.join(' ');
}

export function toHex(b: Uint8Array): string {
  return hex.encode(b);
}
