/**
 * Ed25519 through node:crypto (OpenSSL), for hot paths: relays sign every quote and
 * receipt. Raw 32-byte keys become KeyObjects by prefixing their fixed PKCS#8 / SPKI DER
 * headers; KeyObjects are cached (bounded) because importing costs about as much as a
 * signature.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Ed25519 } from '../core/ed25519.ts';

// DER of PKCS#8 PrivateKeyInfo { v0, id-Ed25519, OCTET STRING { OCTET STRING(32) } } up to the seed.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// DER of SubjectPublicKeyInfo { id-Ed25519, BIT STRING(33) } up to the key.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const CACHE_LIMIT = 1024;

class KeyCache {
  private readonly map = new Map<string, KeyObject>();
  get(raw: Uint8Array, make: (der: Buffer) => KeyObject, prefix: Buffer): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    let key = this.map.get(id);
    if (key === undefined) {
      key = make(Buffer.concat([prefix, raw]));
      if (this.map.size >= CACHE_LIMIT) this.map.delete(this.map.keys().next().value!);
      this.map.set(id, key);
    }
    return key;
  }
}

export function nodeEd25519(): Ed25519 {
  const secrets = new KeyCache();
  const publics = new KeyCache();
  const privateKey = (secret32: Uint8Array): KeyObject => {
    if (secret32.length !== 32) throw new TypeError(`"secret" expected 32 bytes, got ${secret32.length} bytes`);
    return secrets.get(secret32, (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), PKCS8_PREFIX);
  };
  return {
    publicKey(secret32) {
      const spki = createPublicKey(privateKey(secret32)).export({ format: 'der', type: 'spki' });
      return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
    },
    sign(secret32, msg) {
      return new Uint8Array(sign(null, msg, privateKey(secret32)));
    },
    verify(pub32, msg, sig64) {
      if (pub32.length !== 32 || sig64.length !== 64) return false;
      try {
        const key = publics.get(pub32, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), SPKI_PREFIX);
        return verify(null, msg, key, sig64);
      } catch {
        return false;
      }
    },
  };
}
