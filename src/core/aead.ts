/**
 * ChaCha20-Poly1305 (RFC 8439) as an injected capability. The pure default
 * (@noble/ciphers) is the reference; relays pass the native one
 * (src/crypto/aead-node.ts), which is several times faster on large blobs.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

export interface Aead {
  /** ciphertext || 16-byte tag. key 32 bytes, nonce 12 bytes. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The plaintext, or undefined when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

export const nobleAead: Aead = {
  seal: (key, nonce, aad, plaintext) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  open(key, nonce, aad, sealed) {
    if (sealed.length < 16) return undefined;
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(sealed);
    } catch {
      return undefined;
    }
  },
};
