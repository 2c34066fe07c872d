import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { hex } from '@scure/base';
import { AddressError, decodeAddress, encodeAddress, type AddressErrorCode } from '../../src/identity/address.ts';
import { mailboxIdOf } from '../../src/identity/keys.ts';
import type { NetworkName } from '../../src/core/network.ts';

interface Vectors {
  valid: { address: string; network: NetworkName; identityKey: string; mailbox: string; relayHints: string[] }[];
  invalid: { description: string; address: string; error: AddressErrorCode }[];
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/address.json', import.meta.url), 'utf8')) as Vectors;

test('valid address vectors decode to their fields and re-encode to the same string', () => {
  assert.ok(vectors.valid.length >= 3);
  for (const v of vectors.valid) {
    const a = decodeAddress(v.address);
    assert.equal(a.network, v.network);
    assert.equal(hex.encode(a.identityKey), v.identityKey);
    assert.equal(hex.encode(a.mailbox), v.mailbox);
    assert.deepEqual(a.relayHints, v.relayHints);
    assert.equal(encodeAddress(a), v.address);
    assert.deepEqual(decodeAddress(v.address.toUpperCase()), a, 'all-uppercase form (QR codes) is accepted');
  }
});

test('invalid address vectors raise their named AddressError code', () => {
  assert.ok(vectors.invalid.length >= 15);
  for (const v of vectors.invalid) {
    assert.throws(() => decodeAddress(v.address), (e) => AddressError.is(e, v.error), `${v.description}: expected ${v.error}`);
  }
});

test('network check, and encoding refuses what decoding would refuse', () => {
  const v = vectors.valid[1]!;
  assert.throws(() => decodeAddress(v.address, { expectNetwork: 'mainnet' }), (e) => AddressError.is(e, 'WRONG_NETWORK'));
  assert.equal(decodeAddress(v.address, { expectNetwork: 'regtest' }).network, 'regtest');
  const key = hex.decode(v.identityKey);
  assert.throws(() => encodeAddress({ network: 'regtest', identityKey: key.slice(1), relayHints: [] }), (e) => AddressError.is(e, 'BAD_KEY'));
  const five = Array.from({ length: 5 }, (_, i) => `http://r${i}.example/`);
  assert.throws(() => encodeAddress({ network: 'regtest', identityKey: key, relayHints: five }), (e) => AddressError.is(e, 'TOO_MANY_HINTS'));
  assert.throws(() => encodeAddress({ network: 'regtest', identityKey: key, relayHints: ['ftp://x/'] }), (e) => AddressError.is(e, 'BAD_HINT'));
  assert.throws(() => encodeAddress({ network: 'regtest', identityKey: key, relayHints: [`http://${'a'.repeat(260)}.example/`] }), (e) =>
    AddressError.is(e, 'BAD_HINT'),
  );
  // Hints are normalized on encoding, so the decoded form is canonical.
  const a = decodeAddress(encodeAddress({ network: 'regtest', identityKey: key, relayHints: ['HTTP://Relay.Example:80'] }));
  assert.deepEqual(a.relayHints, ['http://relay.example/']);
});

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Uint8Array.from([5, ...b]));
const hintArb = fc
  .tuple(fc.constantFrom('http', 'https', 'ws', 'wss'), fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), fc.webPath())
  .map(([s, d, p, path]) => new URL(`${s}://${d}${p ? `:${p}` : ''}${path}`).href)
  .filter((h) => h.length <= 256);
const addrArb = fc.record({
  network: fc.constantFrom<NetworkName>('mainnet', 'testnet', 'signet', 'regtest'),
  identityKey: keyArb,
  relayHints: fc.array(hintArb, { maxLength: 4 }),
});

test('property: encode/decode round-trips every address', () => {
  fc.assert(
    fc.property(addrArb, (a) => {
      const s = encodeAddress(a);
      assert.ok(s.startsWith('satpost1'));
      const d = decodeAddress(s);
      assert.equal(d.network, a.network);
      assert.deepEqual(d.identityKey, a.identityKey);
      assert.deepEqual(d.mailbox, mailboxIdOf(a.identityKey));
      assert.deepEqual(d.relayHints, a.relayHints);
    }),
    { numRuns: 300 },
  );
});

test('property: one substituted character is refused with BAD_CHECKSUM', () => {
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  fc.assert(
    fc.property(addrArb, fc.nat(), fc.integer({ min: 1, max: 31 }), (a, pos, delta) => {
      const s = encodeAddress(a);
      const i = 8 + (pos % (s.length - 8));
      const c = charset[(charset.indexOf(s[i]!) + delta) % 32]!;
      assert.throws(() => decodeAddress(s.slice(0, i) + c + s.slice(i + 1)), (e) => AddressError.is(e, 'BAD_CHECKSUM'));
    }),
    { numRuns: 300 },
  );
});

test('property: random strings are refused with an AddressError, never another error', () => {
  const refused = (s: string): void => {
    assert.throws(() => decodeAddress(s), (e) => e instanceof AddressError);
  };
  fc.assert(fc.property(fc.string({ maxLength: 300 }), refused), { numRuns: 500 });
  fc.assert(fc.property(fc.stringMatching(/^satpost1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{0,200}$/), refused), { numRuns: 500 });
});
