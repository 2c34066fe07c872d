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
import { bytesToHex } from '@noble/hashes/utils.js';
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
  return hmac(sha256, macKeyOf(privateKey, parties), senderAuthBytes(fields));
}

/**
 * The MAC key of a pair of identity keys depends on nothing else, so each private key keeps
 * the ones it derived (an X25519 agreement and an HKDF, ~150 µs, once per contact instead of
 * once per message). The cache lives and dies with the PrivateKey object (a locked identity
 * drops both) and holds at most MAC_KEY_CACHE keys per private key.
 */
const macKeys = new WeakMap<PrivateKey, Map<string, Uint8Array>>();
const MAC_KEY_CACHE = 4096;

function macKeyOf(privateKey: PrivateKey, parties: AuthParties): Uint8Array {
  let keys = macKeys.get(privateKey);
  if (keys === undefined) macKeys.set(privateKey, (keys = new Map()));
  const id = bytesToHex(parties.senderIdentityKey) + bytesToHex(parties.recipientIdentityKey);
  const hit = keys.get(id);
  if (hit !== undefined) return hit;
  const mine = privateKey.getPublicKey().serialize();
  const theirs = bytesEqual(mine, parties.senderIdentityKey) ? parties.recipientIdentityKey : parties.senderIdentityKey;
  const shared = privateKey.agree(PublicKey.deserialize(own(theirs)));
  const macKey = hkdf(sha256, shared, undefined, domainBytes('auth-key', parties.senderIdentityKey, parties.recipientIdentityKey), 32);
  if (keys.size >= MAC_KEY_CACHE) keys.delete(keys.keys().next().value!);
  keys.set(id, macKey);
  return macKey;
}


/** True iff `tag` is the authenticator of `fields` between these parties (constant-time compare). */
export function verifySenderAuthenticator(privateKey: PrivateKey, parties: AuthParties, fields: SenderAuthenticated, tag: Uint8Array): boolean {
  return bytesEqual(senderAuthenticator(privateKey, parties, fields), tag);
}
