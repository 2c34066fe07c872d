/**
 * H = SHA-256 everywhere (it is what OP_SHA256 computes, so H(k) in a quote is the very
 * hash the contract checks). Domain-separated hashes and signed payloads start with the
 * ASCII tag "satpost/v1/<purpose>".
 */
import { sha256 } from '@noble/hashes/sha2.js';

export function H(data: Uint8Array): Uint8Array {
  return sha256(data);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Every purpose used in this version. No tag is a prefix of another tag used with the
 * same key or hash, so payloads of different purposes can never coincide.
 */
export type DomainPurpose =
  | 'quote'
  | 'receipt'
  | 'standing-terms'
  | 'sender'
  | 'mailbox'
  | 'tag-of'
  | 'tag-secret'
  | 'intro-secret'
  | 'tag-answer'
  | 'msgid'
  | 'blob'
  | 'header'
  | 'body'
  | 'auth-key';

const cache = new Map<DomainPurpose, Uint8Array>();

function tagBytes(purpose: DomainPurpose): Uint8Array {
  let t = cache.get(purpose);
  if (t === undefined) {
    t = new TextEncoder().encode(`satpost/v1/${purpose}`);
    cache.set(purpose, t);
  }
  return t;
}

/** The ASCII bytes of "satpost/v1/<purpose>" (a fresh copy). */
export function domainTag(purpose: DomainPurpose): Uint8Array {
  return tagBytes(purpose).slice();
}

/** tag || parts... : the exact bytes that get signed or hashed for a purpose. */
export function domainBytes(purpose: DomainPurpose, ...parts: Uint8Array[]): Uint8Array {
  return concatBytes(tagBytes(purpose), ...parts);
}

/** H(tag || parts...). */
export function taggedHash(purpose: DomainPurpose, ...parts: Uint8Array[]): Uint8Array {
  return H(domainBytes(purpose, ...parts));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
