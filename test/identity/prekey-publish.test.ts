// PrekeyPublish (0x0d): canonical round trip, and every field the signature must bind is bound.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signPrekeyPublish, verifyPrekeyPublish } from '../../src/identity/prekey-publish.ts';
import { PrekeyPublishCodec, type PrekeyPublish } from '../../src/core/objects/prekey-publish.ts';
import { makeUser, tempDir, T0 } from './helpers.ts';

const tmp = tempDir();
const carol = makeUser(tmp.dir, 'carol-publish');
const mallory = makeUser(tmp.dir, 'mallory-publish');
after(() => {
  carol.db.close();
  mallory.db.close();
  tmp.cleanup();
});

test('PrekeyPublish: canonical round trip, and the signature binds relay, time, nonce and every bundle field', () => {
  const relayId = new Uint8Array(randomBytes(32));
  const p = signPrekeyPublish(carol.prekeys.buildBundle(T0), relayId, { timestamp: T0 + 5, nonce: new Uint8Array(randomBytes(16)) }, carol.self.keyPair.privateKey);
  const bytes = PrekeyPublishCodec.encode(p);
  assert.equal(bytes[0], 0x0d);
  const back = PrekeyPublishCodec.decode(bytes);
  assert.deepEqual(PrekeyPublishCodec.encode(back), bytes);
  assert.ok(verifyPrekeyPublish(back));

  const b = p.bundle;
  const flip = (x: Uint8Array): Uint8Array => Uint8Array.from(x, (v, i) => (i === x.length - 1 ? v ^ 1 : v));
  const changed: [string, PrekeyPublish][] = [
    ['relayId', { ...p, relayId: flip(p.relayId) }],
    ['timestamp', { ...p, timestamp: p.timestamp + 1 }],
    ['nonce', { ...p, nonce: flip(p.nonce) }],
    ['publishedAt', { ...p, bundle: { ...b, publishedAt: b.publishedAt + 1 } }],
    ['one-time EC id', { ...p, bundle: { ...b, oneTimePreKeys: b.oneTimePreKeys.map((k, i) => (i === 0 ? { ...k, id: k.id + 1000 } : k)) } }],
    ['one-time EC key dropped', { ...p, bundle: { ...b, oneTimePreKeys: b.oneTimePreKeys.slice(1) } }],
    ['Kyber id', { ...p, bundle: { ...b, kyberPreKeys: b.kyberPreKeys.map((k, i) => (i === 0 ? { ...k, id: k.id + 1000 } : k)) } }],
    ['signed prekey id', { ...p, bundle: { ...b, signedPreKey: { ...b.signedPreKey, id: b.signedPreKey.id + 1 } } }],
    ['last-resort Kyber id', { ...p, bundle: { ...b, lastResortKyber: { ...b.lastResortKyber, id: b.lastResortKyber.id + 1 } } }],
    ['identity key', { ...p, bundle: { ...b, identityKey: mallory.self.publicKey } }],
  ];
  for (const [what, q] of changed) assert.equal(verifyPrekeyPublish(q), false, what);
  const byMallory = signPrekeyPublish(b, relayId, { timestamp: p.timestamp, nonce: p.nonce }, mallory.self.keyPair.privateKey);
  assert.equal(verifyPrekeyPublish(byMallory), false, "another identity key's signature");
});
