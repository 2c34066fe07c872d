/**
 * Secrets at rest (wallet seed, identity private key): scrypt(passphrase) -> key,
 * then XChaCha20-Poly1305 with a random 24-byte nonce. The blob is self-describing so
 * parameters can be raised later without breaking old files:
 *
 *   version(1)=1 | log2N(1) | r(1) | p(1) | salt(16) | nonce(24) | ciphertext+tag
 *
 * Pure: randomness is passed in.
 */
import { scrypt } from '@noble/hashes/scrypt.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { SatpostError } from './errors.ts';

export type SecretBoxErrorCode = 'WRONG_PASSPHRASE' | 'MALFORMED_SECRET' | 'WEAK_PARAMS';
export class SecretBoxError extends SatpostError<SecretBoxErrorCode> {}

export interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}

/** Interactive-login strength (~100 ms here). Tests may pass lighter params. */
export const DEFAULT_SCRYPT: ScryptParams = { log2N: 17, r: 8, p: 1 };
const VERSION = 1;
const HEADER = 4 + 16 + 24;

let derivations = 0;
/** How many scrypt derivations this process has run (sealing and opening): lets a test prove a command ran none. */
export function scryptDerivations(): number {
  return derivations;
}

export function sealSecret(
  plaintext: Uint8Array,
  passphrase: string,
  randomBytes: (n: number) => Uint8Array,
  params: ScryptParams = DEFAULT_SCRYPT,
): Uint8Array {
  if (params.log2N < 10 || params.log2N > 22) {
    throw new SecretBoxError('WEAK_PARAMS', `"log2N" expected 10..22, got ${params.log2N}`);
  }
  const salt = randomBytes(16);
  const nonce = randomBytes(24);
  const key = derive(passphrase, salt, params);
  const ct = xchacha20poly1305(key, nonce, header(params)).encrypt(plaintext);
  const out = new Uint8Array(HEADER + ct.length);
  out.set(header(params), 0);
  out.set(salt, 4);
  out.set(nonce, 20);
  out.set(ct, HEADER);
  return out;
}

export function openSecret(blob: Uint8Array, passphrase: string): Uint8Array {
  if (blob.length < HEADER + 16 || blob[0] !== VERSION) {
    throw new SecretBoxError('MALFORMED_SECRET', `encrypted secret is malformed (${blob.length} bytes)`);
  }
  const params: ScryptParams = { log2N: blob[1]!, r: blob[2]!, p: blob[3]! };
  if (params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.p < 1) {
    throw new SecretBoxError('MALFORMED_SECRET', 'encrypted secret has invalid key-derivation parameters');
  }
  const key = derive(passphrase, blob.subarray(4, 20), params);
  try {
    return xchacha20poly1305(key, blob.subarray(20, HEADER), header(params)).decrypt(blob.subarray(HEADER));
  } catch {
    throw new SecretBoxError('WRONG_PASSPHRASE', 'wrong passphrase (or the secret was tampered with)');
  }
}

function header(params: ScryptParams): Uint8Array {
  return Uint8Array.of(VERSION, params.log2N, params.r, params.p);
}

function derive(passphrase: string, salt: Uint8Array, params: ScryptParams): Uint8Array {
  derivations++;
  return scrypt(new TextEncoder().encode(passphrase.normalize('NFKC')), salt, {
    N: 2 ** params.log2N,
    r: params.r,
    p: params.p,
    dkLen: 32,
  });
}
