/** ChaCha20-Poly1305 (RFC 8439) through node:crypto (OpenSSL), for relay sealing at volume. */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Aead } from '../core/aead.ts';

const TAG = 16;

export const nodeAead: Aead = {
  seal(key, nonce, aad, plaintext) {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const out = new Uint8Array(head.length + tail.length + TAG);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(cipher.getAuthTag(), head.length + tail.length);
    return out;
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < TAG) return undefined;
    const body = sealed.subarray(0, sealed.length - TAG);
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    decipher.setAAD(aad, { plaintextLength: body.length });
    const head = decipher.update(body);
    try {
      const tail = decipher.final();
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    } catch {
      return undefined;
    }
  },
};
