/**
 * The deniable sender authenticator of a sealed header (as in Signal's sealed sender v1):
 *
 *   macKey = HKDF-SHA256(ikm = X25519(IK_sender, IK_recipient), salt = none,
 *                        info = "satpost/v1/auth-key" || IK_sender || IK_recipient, 32 bytes)
 *   tag    = HMAC-SHA256(macKey, senderAuthBytes(hc, hk, relayId, mailbox, timestamp, mode))
 *
 * Either party computes the same key from their own private key and the other's public key,
 * so the recipient is convinced the sender made the tag (only the two of them can) but could
 * have made it herself: it proves nothing to anyone else, unlike a signature.
 */
import { PrivateKey, PublicKey } from '@signalapp/libsignal-client';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, domainBytes } from '../core/hash.ts';
import { senderAuthBytes, type SenderAuthenticated } from '../core/objects/sealed-header.ts';
import { own } from '../identity/bytes.ts';

export interface AuthParties {
  senderIdentityKey: Uint8Array;
  recipientIdentityKey: Uint8Array;
}

/**
 * The tag, computed by either party: `privateKey` is the sender's or the recipient's identity
 * private key, and the DH runs against the other party's public key.
 */
export function senderAuthenticator(privateKey: PrivateKey, parties: AuthParties, fields: SenderAuthenticated): Uint8Array {
  const mine = privateKey.getPublicKey().serialize();
  const theirs = bytesEqual(mine, parties.senderIdentityKey) ? parties.recipientIdentityKey : parties.senderIdentityKey;
  const shared = privateKey.agree(PublicKey.deserialize(own(theirs)));
  const macKey = hkdf(sha256, shared, undefined, domainBytes('auth-key', parties.senderIdentityKey, parties.recipientIdentityKey), 32);
  return hmac(sha256, macKey, senderAuthBytes(fields));
}

/** True iff `tag` is the authenticator of `fields` between these parties (constant-time compare). */
export function verifySenderAuthenticator(privateKey: PrivateKey, parties: AuthParties, fields: SenderAuthenticated, tag: Uint8Array): boolean {
  return bytesEqual(senderAuthenticator(privateKey, parties, fields), tag);
}
