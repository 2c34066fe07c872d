import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sealSecret, openSecret, SecretBoxError } from '../../src/core/secretbox.ts';

const light = { log2N: 10, r: 8, p: 1 };
const rnd = (n: number) => new Uint8Array(randomBytes(n));

test('a sealed secret opens with its passphrase', () => {
  const secret = rnd(64);
  const blob = sealSecret(secret, 'correct horse', rnd, light);
  assert.deepEqual(openSecret(blob, 'correct horse'), secret);
});

test('a wrong passphrase is refused with WRONG_PASSPHRASE', () => {
  const blob = sealSecret(rnd(32), 'correct horse', rnd, light);
  assert.throws(() => openSecret(blob, 'battery staple'), (e) => SecretBoxError.is(e, 'WRONG_PASSPHRASE'));
});

test('tampered or truncated blobs are refused with a typed error', () => {
  const blob = sealSecret(rnd(32), 'pw', rnd, light);
  const flipped = blob.slice();
  flipped[flipped.length - 1]! ^= 1;
  assert.throws(() => openSecret(flipped, 'pw'), (e) => SecretBoxError.is(e, 'WRONG_PASSPHRASE'));
  const badHeader = blob.slice();
  badHeader[2] = 9; // r is authenticated as associated data
  assert.throws(() => openSecret(badHeader, 'pw'), (e) => SecretBoxError.is(e, 'WRONG_PASSPHRASE'));
  assert.throws(() => openSecret(blob.subarray(0, 20), 'pw'), (e) => SecretBoxError.is(e, 'MALFORMED_SECRET'));
});

test('weak key-derivation parameters are refused', () => {
  assert.throws(() => sealSecret(rnd(1), 'pw', rnd, { log2N: 4, r: 8, p: 1 }), (e) => SecretBoxError.is(e, 'WEAK_PARAMS'));
});
