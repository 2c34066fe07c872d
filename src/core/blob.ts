/**
 * Relay sealing. The relay stores blob = ChaCha20-Poly1305(k, nonce = 12 zero bytes,
 * aad = "satpost/v1/blob", c) and releases k only through the contract. The fixed nonce
 * is safe because k is fresh random per message and seals exactly one plaintext; a relay
 * that reused k would only hurt itself (k becomes public when it is paid).
 */
import { nobleAead, type Aead } from './aead.ts';
import { SatpostError, expected } from './errors.ts';
import { H, bytesEqual, domainTag } from './hash.ts';
import { BLOB_TAG_BYTES, MAX_BLOB, MAX_BODY } from './limits.ts';

export type BlobErrorCode = 'BAD_KEY' | 'BLOB_AUTH_FAILED' | 'BLOB_MALFORMED' | 'TOO_LARGE';
export class BlobError extends SatpostError<BlobErrorCode> {}

const NONCE = new Uint8Array(12);
const AAD = domainTag('blob');

export interface MessageKey {
  /** The one-time key; secret until the relay claims the contract. */
  k: Uint8Array;
  /** H(k), the hash in the quote and in the contract script. */
  hk: Uint8Array;
}

export function newMessageKey(randomBytes: (n: number) => Uint8Array): MessageKey {
  const k = randomBytes(32);
  checkKey(k);
  return { k, hk: H(k) };
}

/** True iff k is the preimage of hk (always check before using a k from anyone). */
export function keyMatches(k: Uint8Array, hk: Uint8Array): boolean {
  return k.length === 32 && hk.length === 32 && bytesEqual(H(k), hk);
}

export function sealBlob(k: Uint8Array, c: Uint8Array, aead: Aead = nobleAead): Uint8Array {
  checkKey(k);
  if (c.length > MAX_BODY) throw new BlobError('TOO_LARGE', expected('body', `at most ${MAX_BODY} bytes`, c));
  return aead.seal(k, NONCE, AAD, c);
}

export function openBlob(k: Uint8Array, blob: Uint8Array, aead: Aead = nobleAead): Uint8Array {
  checkKey(k);
  if (blob.length < BLOB_TAG_BYTES || blob.length > MAX_BLOB) {
    throw new BlobError('BLOB_MALFORMED', expected('blob', `${BLOB_TAG_BYTES}..${MAX_BLOB} bytes`, blob));
  }
  const c = aead.open(k, NONCE, AAD, blob);
  if (c === undefined) throw new BlobError('BLOB_AUTH_FAILED', 'blob does not decrypt under k (wrong key or tampered blob)');
  return c;
}

function checkKey(k: Uint8Array): void {
  if (!(k instanceof Uint8Array) || k.length !== 32) throw new BlobError('BAD_KEY', expected('k', '32 bytes', k));
}
