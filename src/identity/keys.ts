/**
 * Derived values of a user identity key (libsignal Curve25519, 33 bytes serialized with
 * the 0x05 type prefix): the mailbox id and a human-comparable fingerprint.
 */
import { concatBytes, H } from '../core/hash.ts';
import { hex } from '@scure/base';

/** The identity key's shape (defined with the objects, src/core/objects/fields.ts). */
export { DJB_KEY_TYPE, IDENTITY_KEY_LENGTH, identityKeyProblem } from '../core/objects/fields.ts';

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
