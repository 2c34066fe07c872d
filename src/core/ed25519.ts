/**
 * Ed25519 as an injected capability: relays sign quotes and receipts with their node key.
 * The pure default (@noble/curves) is for low volume and for checking the native one
 * (src/crypto/ed25519-node.ts, about 10x faster), which hot paths should pass in.
 *
 * Verification is RFC 8032 strict on encodings (no ZIP-215 leniency), matching OpenSSL.
 */
import { ed25519 } from '@noble/curves/ed25519.js';

export interface Ed25519 {
  /** 32-byte public key of a 32-byte secret (seed). */
  publicKey(secret32: Uint8Array): Uint8Array;
  sign(secret32: Uint8Array, msg: Uint8Array): Uint8Array;
  /** False for a bad signature and for malformed keys or signatures; never throws on them. */
  verify(pub32: Uint8Array, msg: Uint8Array, sig64: Uint8Array): boolean;
}

export const nobleEd25519: Ed25519 = {
  publicKey: (secret32) => ed25519.getPublicKey(secret32),
  sign: (secret32, msg) => ed25519.sign(msg, secret32),
  verify(pub32, msg, sig64) {
    if (pub32.length !== 32 || sig64.length !== 64) return false;
    try {
      return ed25519.verify(sig64, msg, pub32, { zip215: false });
    } catch {
      return false;
    }
  },
};
