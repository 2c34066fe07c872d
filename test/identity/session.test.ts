import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeUser, reopen, tempDir, text, utf8, T0 } from './helpers.ts';
import { takeForFetch, PrekeyBundleCodec } from '../../src/core/objects/prekey-bundle.ts';
import { SessionError } from '../../src/identity/errors.ts';
import { toHex } from '../../src/identity/keys.ts';

const tmp = tempDir();
after(() => tmp.cleanup());

test('Alice starts a session from a fetched bundle and Carol replies; restart keeps it working', async () => {
  let alice = makeUser(tmp.dir, 'alice1');
  let carol = makeUser(tmp.dir, 'carol1');
  const published = PrekeyBundleCodec.decode(PrekeyBundleCodec.encode(carol.prekeys.buildBundle(T0)));
  const { fetched } = takeForFetch(published);
  const aName = toHex(alice.self.mailbox);

  const c1 = await alice.sessions.encryptTo('carol', utf8('hello carol'), { bundle: fetched, mailbox: carol.self.mailbox });
  assert.equal(c1[0], 3, 'first message is a PreKeySignalMessage');
  const before = carol.prekeys.counts();
  assert.equal(text(await carol.sessions.decryptFrom(aName, c1)), 'hello carol');
  const afterUse = carol.prekeys.counts();
  assert.equal(afterUse.oneTime, before.oneTime - 1, 'one-time prekey consumed');
  assert.equal(afterUse.kyber, before.kyber - 1, 'one-time Kyber prekey consumed');

  const r1 = await carol.sessions.encryptTo(aName, utf8('hi alice'));
  assert.equal(r1[0], 2);
  assert.equal(text(await alice.sessions.decryptFrom('carol', r1)), 'hi alice');

  alice = reopen(alice);
  carol = reopen(carol);
  const c2 = await alice.sessions.encryptTo('carol', utf8('after restart'));
  assert.equal(c2[0], 2, 'session survived the restart');
  assert.equal(text(await carol.sessions.decryptFrom(aName, c2)), 'after restart');
  const r2 = await carol.sessions.encryptTo(aName, utf8('back at you'));
  assert.equal(text(await alice.sessions.decryptFrom('carol', r2)), 'back at you');
  alice.db.close();
  carol.db.close();
});

test('100 messages delivered out of order all decrypt; a replay is DUPLICATE_MESSAGE', async () => {
  const alice = makeUser(tmp.dir, 'alice2');
  const carol = makeUser(tmp.dir, 'carol2');
  const { fetched } = takeForFetch(carol.prekeys.buildBundle(T0));
  const aName = toHex(alice.self.mailbox);
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) bodies.push(await alice.sessions.encryptTo('carol', utf8(`m${i}`), { bundle: fetched }));
  // Deterministic shuffle (no randomness in tests' expectations).
  const order = bodies.map((_, i) => i).sort((a, b) => ((a * 37) % 101) - ((b * 37) % 101));
  assert.notDeepEqual(order, bodies.map((_, i) => i));
  for (const i of order) assert.equal(text(await carol.sessions.decryptFrom(aName, bodies[i]!)), `m${i}`);
  for (const i of [order[0]!, 50, 99]) {
    await assert.rejects(carol.sessions.decryptFrom(aName, bodies[i]!), (e) => SessionError.is(e, 'DUPLICATE_MESSAGE'));
  }
  // After a reply the ratchet moves on; a replayed old message is still refused.
  const r = await carol.sessions.encryptTo(aName, utf8('ack'));
  assert.equal(text(await alice.sessions.decryptFrom('carol', r)), 'ack');
  await assert.rejects(alice.sessions.decryptFrom('carol', r), (e) => SessionError.is(e, 'DUPLICATE_MESSAGE'));
  alice.db.close();
  carol.db.close();
});

test('concurrent conversations share group commits and every step is durable across a restart', async () => {
  let alice = makeUser(tmp.dir, 'gc-alice', { poolSize: 12, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
  let carol = makeUser(tmp.dir, 'gc-carol', { poolSize: 12, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
  let pool = carol.prekeys.buildBundle(T0);
  const ids = Array.from({ length: 10 }, (_, i) => i);
  const fetched = ids.map(() => {
    const t = takeForFetch(pool);
    pool = t.remaining;
    return t.fetched;
  });
  const first = await Promise.all(ids.map((i) => alice.sessions.encryptTo(`c${i}`, utf8(`hello ${i}`), { bundle: fetched[i]! })));
  assert.equal(alice.stores.hasPendingWrites, false);
  const got = await Promise.all(ids.map((i) => carol.sessions.decryptFrom(`a${i}`, first[i]!)));
  assert.deepEqual(got.map(text), ids.map((i) => `hello ${i}`));
  alice = reopen(alice);
  carol = reopen(carol);
  const second = await Promise.all(ids.map((i) => alice.sessions.encryptTo(`c${i}`, utf8(`again ${i}`))));
  const got2 = await Promise.all(ids.map((i) => carol.sessions.decryptFrom(`a${i}`, second[i]!)));
  assert.deepEqual(got2.map(text), ids.map((i) => `again ${i}`));
  // The first messages were committed before they were returned: replaying them is refused.
  await assert.rejects(carol.sessions.decryptFrom('a3', first[3]!), (e) => SessionError.is(e, 'DUPLICATE_MESSAGE'));
  alice.db.close();
  carol.db.close();
});
