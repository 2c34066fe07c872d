import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { BlobError, keyMatches, newMessageKey, openBlob, sealBlob } from '../../src/core/blob.ts';
import { nobleAead, type Aead } from '../../src/core/aead.ts';
import { nodeAead } from '../../src/crypto/aead-node.ts';
import { MAX_BODY } from '../../src/core/limits.ts';
import * as S from './samples.ts';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const impls: [string, Aead][] = [['noble', nobleAead], ['node', nodeAead]];

test('newMessageKey returns a fresh k and hk = SHA-256(k)', () => {
  const a = newMessageKey(rnd);
  const b = newMessageKey(rnd);
  assert.equal(a.k.length, 32);
  assert.deepEqual(a.hk, sha256(a.k));
  assert.notDeepEqual(a.k, b.k);
  assert.ok(keyMatches(a.k, a.hk));
  assert.ok(!keyMatches(b.k, a.hk));
  assert.ok(!keyMatches(a.k.subarray(0, 31), a.hk));
  assert.throws(() => newMessageKey(() => new Uint8Array(16)), (e) => BlobError.is(e, 'BAD_KEY'));
});

test('the blob is RFC 8439 ChaCha20-Poly1305 with a zero nonce and the blob tag as AAD', () => {
  const c = S.det('body', 1000);
  const expectedBlob = chacha20poly1305(S.k, new Uint8Array(12), new TextEncoder().encode('satpost/v1/blob')).encrypt(c);
  for (const [name, aead] of impls) assert.deepEqual(sealBlob(S.k, c, aead), expectedBlob, name);
});

test('native and pure AEAD interoperate at several sizes', () => {
  for (const n of [0, 1, 63, 64, 1024, 65536 + 7]) {
    const c = rnd(n);
    const k = rnd(32);
    const fromNode = sealBlob(k, c, nodeAead);
    assert.equal(fromNode.length, n + 16);
    assert.deepEqual(openBlob(k, fromNode, nobleAead), c);
    assert.deepEqual(openBlob(k, sealBlob(k, c, nobleAead), nodeAead), c);
  }
});

for (const [name, aead] of impls) {
  test(`${name}: wrong key, tampering and malformed inputs are typed errors`, () => {
    const c = S.det('body', 200);
    const blob = sealBlob(S.k, c, aead);
    assert.throws(() => openBlob(S.det('other', 32), blob, aead), (e) => BlobError.is(e, 'BLOB_AUTH_FAILED'));
    for (const i of [0, 100, blob.length - 1]) {
      const t = blob.slice();
      t[i]! ^= 1;
      assert.throws(() => openBlob(S.k, t, aead), (e) => BlobError.is(e, 'BLOB_AUTH_FAILED'), `byte ${i}`);
    }
    assert.throws(() => openBlob(S.k, blob.subarray(0, 15), aead), (e) => BlobError.is(e, 'BLOB_MALFORMED'));
    assert.throws(() => openBlob(S.k.subarray(0, 31), blob, aead), (e) => BlobError.is(e, 'BAD_KEY'));
    assert.throws(() => sealBlob(new Uint8Array(33), c, aead), (e) => BlobError.is(e, 'BAD_KEY'));
    assert.throws(() => sealBlob(S.k, new Uint8Array(MAX_BODY + 1), aead), (e) => BlobError.is(e, 'TOO_LARGE'));
  });
}
