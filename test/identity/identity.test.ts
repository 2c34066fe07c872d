import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openIdentityDb } from '../../src/identity/db.ts';
import { createIdentity, unlockIdentity } from '../../src/identity/identity.ts';
import { IdentityError, SessionError } from '../../src/identity/errors.ts';
import { verifyBundle, mergeBundles } from '../../src/identity/bundle.ts';
import { PrekeyBundleCodec, takeForFetch } from '../../src/core/objects/prekey-bundle.ts';
import { fingerprintOf, toHex } from '../../src/identity/keys.ts';
import { LIGHT_SCRYPT, makeUser, reopen, tempDir, text, utf8, T0 } from './helpers.ts';
import { EncodingError } from '../../src/core/codec.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const DAY = 24 * 3600 * 1000;

test('identity is created once, sealed under the passphrase, and a wrong passphrase is refused', () => {
  const db = openIdentityDb(join(tmp.dir, 'id.db'));
  const made = createIdentity(db, 'correct horse', { scrypt: LIGHT_SCRYPT });
  assert.equal(made.publicKey.length, 33);
  assert.ok(made.registrationId >= 1 && made.registrationId <= 16380);
  assert.throws(() => createIdentity(db, 'x', { scrypt: LIGHT_SCRYPT }), (e) => IdentityError.is(e, 'IDENTITY_EXISTS'));
  assert.throws(() => unlockIdentity(db, 'correct horse!'), (e) => IdentityError.is(e, 'WRONG_PASSPHRASE'));
  const row = db.prepare('SELECT sealed_private FROM identity_self').get() as { sealed_private: Uint8Array };
  assert.ok(!Buffer.from(row.sealed_private).includes(Buffer.from(made.keyPair.privateKey.serialize())), 'private key is not stored in clear');
  db.close();
  const again = openIdentityDb(join(tmp.dir, 'id.db'));
  const u = unlockIdentity(again, 'correct horse');
  assert.deepEqual(u.publicKey, made.publicKey);
  assert.deepEqual(u.mailbox, made.mailbox);
  assert.equal(u.registrationId, made.registrationId);
  again.close();
  const empty = openIdentityDb(join(tmp.dir, 'empty.db'));
  assert.throws(() => unlockIdentity(empty, 'x'), (e) => IdentityError.is(e, 'NO_IDENTITY'));
  empty.close();
});

test('a changed identity key is refused with both fingerprints until trustNewIdentity', async () => {
  const alice = makeUser(tmp.dir, 'ch-alice');
  const carol = makeUser(tmp.dir, 'ch-carol');
  await alice.sessions.encryptTo('carol', utf8('hi'), { bundle: takeForFetch(carol.prekeys.buildBundle(T0)).fetched });
  // Carol reinstalls: same contact, new identity key.
  const carol2 = makeUser(tmp.dir, 'ch-carol2');
  const bundle2 = takeForFetch(carol2.prekeys.buildBundle(T0)).fetched;
  for (let i = 0; i < 2; i++) {
    await assert.rejects(alice.sessions.encryptTo('carol', utf8('again'), { bundle: bundle2 }), (e) => {
      assert.ok(IdentityError.is(e, 'IDENTITY_KEY_CHANGED'));
      assert.deepEqual(e.change, {
        contact: 'carol',
        trustedFingerprint: fingerprintOf(carol.self.publicKey),
        newFingerprint: fingerprintOf(carol2.self.publicKey),
      });
      return true;
    });
  }
  // The refusal survives a restart (stored as untrusted), and the old key stays the trusted one.
  const a2 = reopen(alice);
  assert.deepEqual(a2.stores.identityChange('carol')?.newFingerprint, fingerprintOf(carol2.self.publicKey));
  assert.deepEqual(await a2.sessions.remoteIdentityKey('carol'), carol.self.publicKey);
  a2.stores.trustNewIdentity('carol');
  assert.equal(a2.stores.identityChange('carol'), null);
  assert.throws(() => a2.stores.trustNewIdentity('carol'), (e) => IdentityError.is(e, 'NO_UNTRUSTED_KEY'));
  const c = await a2.sessions.encryptTo('carol', utf8('to the new key'), { bundle: bundle2 });
  assert.equal(text(await carol2.sessions.decryptFrom(toHex(a2.self.mailbox), c)), 'to the new key');

  // Receiving direction: a PreKey message under a known contact name with another key is refused too.
  const mallory = makeUser(tmp.dir, 'ch-mallory');
  const m = await mallory.sessions.encryptTo('carol2', utf8('I am alice'), { bundle: takeForFetch(carol2.prekeys.buildBundle(T0 + 1)).fetched });
  await assert.rejects(carol2.sessions.decryptFrom(toHex(a2.self.mailbox), m), (e) => IdentityError.is(e, 'IDENTITY_KEY_CHANGED'));
  for (const u of [a2, carol, carol2, mallory]) u.db.close();
});

test('bundles: codec round trip, signatures checked, mailbox checked, malformed refused', () => {
  const carol = makeUser(tmp.dir, 'b-carol');
  const other = makeUser(tmp.dir, 'b-other');
  const b = carol.prekeys.buildBundle(T0);
  assert.equal(b.oneTimePreKeys.length, 5);
  assert.equal(b.kyberPreKeys.length, 2);
  const round = PrekeyBundleCodec.decode(PrekeyBundleCodec.encode(b));
  assert.deepEqual(round, b);
  verifyBundle(round, carol.self.mailbox);
  assert.throws(() => verifyBundle(round, other.self.mailbox), (e) => IdentityError.is(e, 'BUNDLE_MAILBOX_MISMATCH'));
  const flip = (x: Uint8Array, i = 10): Uint8Array => {
    const y = x.slice();
    y[i]! ^= 1;
    return y;
  };
  const bad = [
    { ...b, signedPreKey: { ...b.signedPreKey, signature: flip(b.signedPreKey.signature) } },
    { ...b, signedPreKey: { ...b.signedPreKey, publicKey: flip(b.signedPreKey.publicKey) } },
    { ...b, lastResortKyber: { ...b.lastResortKyber, signature: flip(b.lastResortKyber.signature) } },
    { ...b, kyberPreKeys: [{ ...b.kyberPreKeys[0]!, publicKey: flip(b.kyberPreKeys[0]!.publicKey, 100) }] },
    { ...b, oneTimePreKeys: [{ ...b.oneTimePreKeys[0]!, id: b.oneTimePreKeys[0]!.id + 1 }] },
    { ...b, identityKey: other.self.publicKey },
  ];
  for (const x of bad) assert.throws(() => verifyBundle(x), (e) => IdentityError.is(e, 'BUNDLE_BAD_SIGNATURE'));
  const enc = PrekeyBundleCodec.encode(b);
  assert.throws(() => PrekeyBundleCodec.decode(enc.subarray(0, enc.length - 1)), (e) => EncodingError.is(e, 'TRUNCATED'));
  assert.throws(() => PrekeyBundleCodec.decode(Uint8Array.from([0x0b, ...enc.subarray(1)])), (e) => EncodingError.is(e, 'BAD_TAG'));
  assert.throws(() => PrekeyBundleCodec.encode({ ...b, registrationId: 0 }), (e) => EncodingError.is(e, 'BAD_VALUE'));
  // A relay's pool: fetches hand out one-time keys once each; merges append new ones.
  let pool = b;
  const seen = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const { fetched, remaining } = takeForFetch(pool);
    assert.equal(fetched.oneTimePreKeys.length, 1);
    assert.ok(!seen.has(fetched.oneTimePreKeys[0]!.id));
    seen.add(fetched.oneTimePreKeys[0]!.id);
    pool = remaining;
  }
  assert.equal(takeForFetch(pool).fetched.oneTimePreKeys.length, 0);
  carol.prekeys.replenish(T0 + 1, { oneTime: 0, kyber: 0 });
  pool = mergeBundles(pool, carol.prekeys.buildBundle(T0 + 1));
  assert.equal(pool.oneTimePreKeys.length, 5);
  verifyBundle(pool, carol.self.mailbox);
  carol.db.close();
  other.db.close();
});

test('prekeys: consumed on use, pool replenished below the threshold, an exhausted pool falls back to last-resort keys', async () => {
  const carol = makeUser(tmp.dir, 'p-carol');
  let pool = carol.prekeys.buildBundle(T0);
  assert.equal(carol.prekeys.buildBundle(T0).oneTimePreKeys.length, 0, 'published keys are never published twice');
  const senders = [0, 1, 2, 3, 4, 5, 6].map((i) => makeUser(tmp.dir, `p-sender${i}`));
  for (const s of senders) {
    const { fetched, remaining } = takeForFetch(pool);
    pool = remaining;
    const c = await s.sessions.encryptTo('carol', utf8(`from ${s.name}`), { bundle: fetched });
    assert.equal(text(await carol.sessions.decryptFrom(toHex(s.self.mailbox), c)), `from ${s.name}`);
  }
  const counts = carol.prekeys.counts();
  assert.equal(counts.oneTime, 0, 'all 5 one-time prekeys consumed (2 senders used none)');
  assert.equal(counts.kyber, 0);
  assert.equal(counts.lastResort, 1, 'last-resort Kyber key is kept');
  assert.deepEqual(carol.prekeys.replenish(T0 + 1), { oneTime: 5, kyber: 2 });
  assert.deepEqual(carol.prekeys.replenish(T0 + 1), { oneTime: 0, kyber: 0 }, 'at the pool size nothing is added');
  const fresh = carol.prekeys.buildBundle(T0 + 1);
  assert.equal(fresh.oneTimePreKeys.length, 5);
  assert.ok(fresh.oneTimePreKeys.every((k) => k.id > 5), 'ids are never reused');
  // The same one-time prekey fetched twice (a cheating relay): the second session fails cleanly.
  const { fetched } = takeForFetch(fresh);
  const [x, y] = [makeUser(tmp.dir, 'p-x'), makeUser(tmp.dir, 'p-y')];
  const cx = await x.sessions.encryptTo('carol', utf8('x'), { bundle: fetched });
  const cy = await y.sessions.encryptTo('carol', utf8('y'), { bundle: fetched });
  assert.equal(text(await carol.sessions.decryptFrom(toHex(x.self.mailbox), cx)), 'x');
  await assert.rejects(carol.sessions.decryptFrom(toHex(y.self.mailbox), cy), (e) => SessionError.is(e, 'UNDECRYPTABLE'));
  for (const u of [carol, x, y, ...senders]) u.db.close();
});

test('signed prekey rotates on schedule; the previous one works during the grace period only', async () => {
  const carol = makeUser(tmp.dir, 'r-carol');
  const alice = makeUser(tmp.dir, 'r-alice');
  const old = takeForFetch(carol.prekeys.buildBundle(T0)).fetched;
  assert.equal(carol.prekeys.rotateSignedPrekey(T0 + 6 * DAY), false, 'not due before 7 days');
  assert.equal(carol.prekeys.rotateSignedPrekey(T0 + 7 * DAY), true);
  const b = carol.prekeys.buildBundle(T0 + 7 * DAY);
  assert.notEqual(b.signedPreKey.id, old.signedPreKey.id);
  assert.notEqual(b.lastResortKyber.id, old.lastResortKyber.id);
  assert.equal(carol.prekeys.counts().signed, 2, 'previous signed prekey kept for the grace period');
  // A message built on the old bundle still opens during the grace period.
  const c = await alice.sessions.encryptTo('carol', utf8('late'), { bundle: old, now: new Date(T0) });
  assert.equal(text(await carol.sessions.decryptFrom(toHex(alice.self.mailbox), c)), 'late');
  assert.equal(carol.prekeys.rotateSignedPrekey(T0 + 38 * DAY), true);
  const ids = (carol.db.prepare('SELECT id FROM signed_prekeys').all() as { id: number }[]).map((r) => r.id);
  assert.deepEqual(ids.includes(old.signedPreKey.id), false, 'retired longer than the grace period: deleted');
  assert.equal(ids.length, 2, 'the pair retired just now is kept, with the new one');
  const bob = makeUser(tmp.dir, 'r-bob');
  const c2 = await bob.sessions.encryptTo('carol', utf8('too late'), { bundle: old, now: new Date(T0) });
  await assert.rejects(carol.sessions.decryptFrom(toHex(bob.self.mailbox), c2), (e) => SessionError.is(e, 'UNDECRYPTABLE'));
  for (const u of [carol, alice, bob]) u.db.close();
});

test('session errors: no session, garbage bodies', async () => {
  const alice = makeUser(tmp.dir, 'e-alice');
  await assert.rejects(alice.sessions.encryptTo('nobody', utf8('x')), (e) => SessionError.is(e, 'NO_SESSION'));
  await assert.rejects(alice.sessions.decryptFrom('nobody', Uint8Array.of(2)), (e) => SessionError.is(e, 'BAD_MESSAGE'));
  await assert.rejects(alice.sessions.decryptFrom('nobody', Uint8Array.of(9, 1, 2, 3)), (e) => SessionError.is(e, 'BAD_MESSAGE'));
  await assert.rejects(alice.sessions.decryptFrom('nobody', Uint8Array.of(2, 1, 2, 3)), (e) => SessionError.is(e, 'BAD_MESSAGE'));
  alice.db.close();
});
