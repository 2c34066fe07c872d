// Prekey bundle storage at a real relay: signed publish, merge, hand out one-time keys once, persist.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyBundle } from '../../src/identity/bundle.ts';
import { PrekeyBundleCodec, type PrekeyBundle } from '../../src/core/objects/prekey-bundle.ts';
import { mailboxIdOf } from '../../src/identity/keys.ts';
import { finish, DEFAULTS } from '../../src/relay/config.ts';
import { startRelay } from '../../src/relay/daemon.ts';
import { pino } from 'pino';
import { makeUser, tempDir as identityDir, T0, type User } from '../identity/helpers.ts';
import { errorOf, hexOf, postPrekeys, relayIdOf, signedPublish, testRelay, type TestRelay } from './helpers.ts';

/** `who` publishes `bundle` at the relay `url` (signed for it, now). */
const publish = async (url: string, who: User, bundle: PrekeyBundle): Promise<Response> =>
  postPrekeys(url, signedPublish(bundle, await relayIdOf(url), who.self.keyPair.privateKey));
const take = (url: string, mailbox: Uint8Array) => fetch(`${url}/v1/prekeys/${hexOf(mailbox)}`);
const bundleOf = async (res: Response): Promise<PrekeyBundle> => PrekeyBundleCodec.decode(new Uint8Array(await res.arrayBuffer()));

describe('relay prekey bundles', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  let ids: { dir: string; cleanup: () => void };
  let carol: User;
  let dave: User;
  before(async () => {
    relay = await testRelay();
    ids = identityDir();
    carol = makeUser(ids.dir, 'carol', { poolSize: 3, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 });
    dave = makeUser(ids.dir, 'dave', { poolSize: 2, kyberPoolSize: 1, threshold: 1, kyberThreshold: 1 });
  });
  after(async () => {
    carol.db.close();
    dave.db.close();
    ids.cleanup();
    await relay.close();
  });

  it('answers NO_BUNDLE for a mailbox nobody published, and BAD_REQUEST for a malformed id', async () => {
    const res = await take(relay.url, mailboxIdOf(dave.self.publicKey));
    assert.equal(res.status, 404);
    assert.equal((await errorOf(res)).code, 'NO_BUNDLE');
    const bad = await fetch(`${relay.url}/v1/prekeys/xyz`);
    assert.equal(bad.status, 400);
    assert.equal((await errorOf(bad)).code, 'BAD_REQUEST');
  });

  it('stores a published bundle under H(identity key) and reports the pool sizes', async () => {
    const res = await publish(relay.url, carol, carol.prekeys.buildBundle(T0));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { mailbox: hexOf(mailboxIdOf(carol.self.publicKey)), oneTimePreKeys: 3, kyberPreKeys: 2, usedIgnored: { oneTime: 0, kyber: 0 } });
  });

  it('hands each one-time key to one sender only, then serves the signed and last-resort keys', async () => {
    const mailbox = mailboxIdOf(carol.self.publicKey);
    const seen = new Set<number>();
    const kyberSeen = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const res = await take(relay.url, mailbox);
      assert.equal(res.status, 200);
      const b = await bundleOf(res);
      verifyBundle(b, mailbox);
      assert.equal(b.oneTimePreKeys.length, 1);
      assert.ok(!seen.has(b.oneTimePreKeys[0]!.id), 'a one-time prekey is never handed out twice');
      seen.add(b.oneTimePreKeys[0]!.id);
      for (const k of b.kyberPreKeys) {
        assert.ok(!kyberSeen.has(k.id));
        kyberSeen.add(k.id);
      }
    }
    assert.equal(kyberSeen.size, 2);
    const empty = await bundleOf(await take(relay.url, mailbox));
    assert.equal(empty.oneTimePreKeys.length, 0);
    assert.equal(empty.kyberPreKeys.length, 0);
    verifyBundle(empty, mailbox);
  });

  it('merges a replenished bundle into the pool instead of replacing it', async () => {
    assert.deepEqual(carol.prekeys.replenish(T0 + 1, { oneTime: 0, kyber: 0 }), { oneTime: 3, kyber: 2 });
    const res = await publish(relay.url, carol, carol.prekeys.buildBundle(T0 + 1));
    assert.equal(((await res.json()) as { oneTimePreKeys: number }).oneTimePreKeys, 3);
    // Republishing the same keys adds none (ids already held).
    const again = carol.prekeys.buildBundle(T0 + 2);
    assert.equal(again.oneTimePreKeys.length, 0, 'published keys are never published twice');
    const res2 = await publish(relay.url, carol, again);
    assert.deepEqual(await res2.json(), { mailbox: hexOf(mailboxIdOf(carol.self.publicKey)), oneTimePreKeys: 3, kyberPreKeys: 2, usedIgnored: { oneTime: 0, kyber: 0 } });
  });

  it('refuses a bundle with a forged signature (BAD_BUNDLE) and garbage bytes (BAD_ENCODING)', async () => {
    const b = dave.prekeys.buildBundle(T0);
    const forged: PrekeyBundle = { ...b, oneTimePreKeys: b.oneTimePreKeys.map((k, i) => (i === 0 ? { ...k, publicKey: carol.self.publicKey } : k)) };
    const res = await publish(relay.url, dave, forged);
    assert.equal(res.status, 422);
    const e = await errorOf(res);
    assert.equal(e.code, 'BAD_BUNDLE');
    assert.equal(e.body.reason, 'BUNDLE_BAD_SIGNATURE');
    assert.equal((await take(relay.url, mailboxIdOf(dave.self.publicKey))).status, 404, 'nothing was stored');
    const garbage = await postPrekeys(relay.url, new Uint8Array([0x0d, 1, 2, 3]));
    assert.equal(garbage.status, 400);
    assert.equal((await errorOf(garbage)).code, 'BAD_ENCODING');
    const json = await fetch(`${relay.url}/v1/prekeys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal((await errorOf(json)).code, 'BAD_CONTENT_TYPE');
  });

  it('keeps the pool across a restart of the relay', async () => {
    const dir = identityDir();
    try {
      const config = finish({ ...DEFAULTS, port: 0, dataDir: dir.dir, rateLimitBurst: 0, logLevel: 'silent' });
      const erin = makeUser(ids.dir, 'erin', { poolSize: 2, kyberPoolSize: 1, threshold: 1, kyberThreshold: 1 });
      const mailbox = mailboxIdOf(erin.self.publicKey);
      const first = await startRelay(config, { log: pino({ level: 'silent' }) });
      assert.equal((await publish(first.url, erin, erin.prekeys.buildBundle(T0))).status, 200);
      erin.db.close();
      const got = await bundleOf(await take(first.url, mailbox));
      await first.stop();
      const second = await startRelay(config, { log: pino({ level: 'silent' }) });
      try {
        const next = await bundleOf(await take(second.url, mailbox));
        assert.equal(next.oneTimePreKeys.length, 1);
        assert.notEqual(next.oneTimePreKeys[0]!.id, got.oneTimePreKeys[0]!.id, 'the key handed out before the restart stays gone');
      } finally {
        await second.stop();
      }
    } finally {
      dir.cleanup();
    }
  });
});

// Issue 14: the introduction is the one public thing. Each test is an attack on a relay's pool.
describe('relay prekey publishes are authenticated, used keys stay used, fetches are limited', { timeout: 60_000 }, () => {
  let ids: { dir: string; cleanup: () => void };
  let relay: TestRelay;
  let relayId: Uint8Array;
  const users: User[] = [];
  const user = (name: string, policy = { poolSize: 3, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 }): User => {
    const u = makeUser(ids.dir, name, policy);
    users.push(u);
    return u;
  };
  /** Every one-time key id the relay still hands out for `mailbox` (drains the pool). */
  const drain = async (url: string, mailbox: Uint8Array): Promise<{ ec: number[]; kyber: number[] }> => {
    const out = { ec: [] as number[], kyber: [] as number[] };
    for (let i = 0; i < 500; i++) {
      const b = await bundleOf(await take(url, mailbox));
      if (b.oneTimePreKeys.length === 0 && b.kyberPreKeys.length === 0) return out;
      out.ec.push(...b.oneTimePreKeys.map((k) => k.id));
      out.kyber.push(...b.kyberPreKeys.map((k) => k.id));
    }
    throw new Error('the pool never ran dry');
  };
  before(async () => {
    ids = identityDir();
    relay = await testRelay();
    relayId = await relayIdOf(relay.url);
  });
  after(async () => {
    for (const u of users) u.db.close();
    ids.cleanup();
    await relay.close();
  });

  it('a fetched bundle posted back is refused and its one-time keys stay used', async () => {
    const carol = user('carol-postback');
    const mailbox = mailboxIdOf(carol.self.publicKey);
    const signed = signedPublish(carol.prekeys.buildBundle(T0), relayId, carol.self.keyPair.privateKey);
    assert.equal((await postPrekeys(relay.url, signed)).status, 200);
    const fetched = await bundleOf(await take(relay.url, mailbox));
    assert.equal(fetched.oneTimePreKeys.length, 1);
    assert.equal(fetched.kyberPreKeys.length, 1);
    // The attacker posts the fetched bundle back as it came (what every relay took before)...
    const bare = await postPrekeys(relay.url, PrekeyBundleCodec.encode(fetched));
    assert.equal(bare.status, 401);
    assert.equal((await errorOf(bare)).code, 'PUBLISH_AUTH_REQUIRED');
    // ...and inside Carol's own signed publish, swapping the bundle under her signature.
    const swapped = await postPrekeys(relay.url, { ...signed, nonce: new Uint8Array(16).fill(7), bundle: fetched });
    assert.equal(swapped.status, 403);
    assert.equal((await errorOf(swapped)).code, 'PUBLISH_BAD_SIGNATURE');
    const rest = await drain(relay.url, mailbox);
    assert.deepEqual(rest.ec.sort(), signed.bundle.oneTimePreKeys.slice(1).map((k) => k.id).sort(), 'the posted-back EC key is not handed out again');
    assert.ok(!rest.kyber.includes(fetched.kyberPreKeys[0]!.id), 'the posted-back Kyber key is not handed out again');
  });

  it('a back-dated bundle (older publishedAt or signed prekey) is refused', async () => {
    const carol = user('carol-backdate');
    const mailbox = mailboxIdOf(carol.self.publicKey);
    const key = carol.self.keyPair.privateKey;
    const old = carol.prekeys.buildBundle(T0);
    const oldPublish = signedPublish(old, relayId, key);
    assert.equal((await postPrekeys(relay.url, oldPublish)).status, 200);
    carol.prekeys.rotateSignedPrekey(T0 + 1000, { force: true });
    const current = carol.prekeys.buildBundle(T0 + 1000);
    assert.ok(current.signedPreKey.id > old.signedPreKey.id);
    assert.equal((await publish(relay.url, carol, current)).status, 200);

    // The old publish replayed as it was sent.
    const replay = await postPrekeys(relay.url, oldPublish);
    assert.equal(replay.status, 403);
    assert.equal((await errorOf(replay)).code, 'PUBLISH_REPLAYED');
    // The old bundle as a bare bundle, and with a larger publishedAt (which its keys' signatures do not cover).
    const pinned: PrekeyBundle = { ...old, oneTimePreKeys: [], kyberPreKeys: [], publishedAt: T0 + 5000 };
    const bare = await postPrekeys(relay.url, PrekeyBundleCodec.encode(pinned));
    assert.equal(bare.status, 401, 'a bare back-dated bundle is not taken');
    assert.equal((await errorOf(bare)).code, 'PUBLISH_AUTH_REQUIRED');
    // Even Carol's own signature (a client restored from an old backup) does not take the pool back.
    for (const [bundle, field] of [[old, 'publishedAt'], [pinned, 'signedPreKey.id']] as const) {
      const res = await publish(relay.url, carol, bundle);
      assert.equal(res.status, 409, field);
      const e = await errorOf(res);
      assert.equal(e.code, 'PUBLISH_BACKDATED');
      assert.equal(e.body.field, field);
    }
    const served = await bundleOf(await take(relay.url, mailbox));
    assert.equal(served.signedPreKey.id, current.signedPreKey.id, 'the relay serves the newest signed prekey');
    assert.equal(served.lastResortKyber.id, current.lastResortKyber.id);
    assert.equal(served.publishedAt, current.publishedAt);
  });

  it('a relabelled Kyber one-time key id is refused', async () => {
    const carol = user('carol-relabel');
    const mailbox = mailboxIdOf(carol.self.publicKey);
    const signed = signedPublish(carol.prekeys.buildBundle(T0), relayId, carol.self.keyPair.privateKey);
    const [first, second] = signed.bundle.kyberPreKeys;
    // Kyber signatures cover the public key only: swapping two ids keeps every key signature valid.
    const relabelled: PrekeyBundle = { ...signed.bundle, kyberPreKeys: [{ ...first!, id: second!.id }, { ...second!, id: first!.id }] };
    verifyBundle(relabelled, mailbox);
    const bare = await postPrekeys(relay.url, PrekeyBundleCodec.encode(relabelled));
    assert.equal(bare.status, 401, 'a bare relabelled bundle is not taken');
    assert.equal((await errorOf(bare)).code, 'PUBLISH_AUTH_REQUIRED');
    const wrapped = await postPrekeys(relay.url, { ...signed, bundle: relabelled });
    assert.equal(wrapped.status, 403);
    assert.equal((await errorOf(wrapped)).code, 'PUBLISH_BAD_SIGNATURE');
    assert.equal((await take(relay.url, mailbox)).status, 404, 'nothing was stored');
    assert.equal((await postPrekeys(relay.url, signed)).status, 200, 'the untouched publish is taken');
    const served = await bundleOf(await take(relay.url, mailbox));
    assert.deepEqual(served.kyberPreKeys[0], first, 'the Kyber key comes with the id Carol gave it');
  });

  it('a publish made for another relay is refused', async () => {
    const other = await testRelay();
    try {
      const carol = user('carol-other');
      const mailbox = mailboxIdOf(carol.self.publicKey);
      const forOther = signedPublish(carol.prekeys.buildBundle(T0), await relayIdOf(other.url), carol.self.keyPair.privateKey);
      const res = await postPrekeys(relay.url, forOther);
      assert.equal(res.status, 403);
      assert.equal((await errorOf(res)).code, 'PUBLISH_WRONG_RELAY');
      assert.equal((await take(relay.url, mailbox)).status, 404, 'nothing was stored here');
      // Stale and future timestamps are refused too; the same publish is taken where it was meant to go.
      for (const timestamp of [relay.clock.t - 10 * 60_000, relay.clock.t + 10 * 60_000]) {
        const late = signedPublish(forOther.bundle, relayId, carol.self.keyPair.privateKey, { timestamp });
        assert.equal((await errorOf(await postPrekeys(relay.url, late))).code, 'PUBLISH_STALE');
      }
      assert.equal((await postPrekeys(other.url, forOther)).status, 200);
    } finally {
      await other.close();
    }
  });

  it('fetching faster than the limit returns bundles without one-time keys, and a session still starts from them', async () => {
    const limited = await testRelay({ prekeyFetchPerMailboxPerHour: 2, prekeyFetchPerIpPerHour: 3 });
    try {
      const limitedId = await relayIdOf(limited.url);
      const carol = user('carol-limit', { poolSize: 5, kyberPoolSize: 3, threshold: 1, kyberThreshold: 1 });
      const dave = user('dave-limit');
      const alice = user('alice-limit');
      const mailbox = mailboxIdOf(carol.self.publicKey);
      const published = carol.prekeys.buildBundle(T0);
      for (const [who, b] of [[carol, published], [dave, dave.prekeys.buildBundle(T0)]] as const) {
        const res = await postPrekeys(limited.url, signedPublish(b, limitedId, who.self.keyPair.privateKey, { timestamp: limited.clock.t }));
        assert.equal(res.status, 200);
      }
      const got = [await bundleOf(await take(limited.url, mailbox)), await bundleOf(await take(limited.url, mailbox))];
      assert.deepEqual(got.map((b) => b.oneTimePreKeys[0]?.id), published.oneTimePreKeys.slice(0, 2).map((k) => k.id));
      // Past the mailbox's limit: the bundle, without one-time keys.
      const bare = await bundleOf(await take(limited.url, mailbox));
      assert.equal(bare.oneTimePreKeys.length, 0);
      assert.equal(bare.kyberPreKeys.length, 0);
      verifyBundle(bare, mailbox);
      // Past this address's limit (3 fetches), another mailbox gets none either.
      const daveBare = await bundleOf(await take(limited.url, mailboxIdOf(dave.self.publicKey)));
      assert.equal(daveBare.oneTimePreKeys.length + daveBare.kyberPreKeys.length, 0);

      const c = await alice.sessions.encryptTo('carol', new TextEncoder().encode('no one-time key needed'), { bundle: bare, mailbox });
      assert.equal(c[0], 3, 'a PreKeySignalMessage on the signed and last-resort keys');
      assert.equal(new TextDecoder().decode(await carol.sessions.decryptFrom(hexOf(mailboxIdOf(alice.self.publicKey)), c)), 'no one-time key needed');

      // The limited fetches took nothing: an hour later the pool continues where it stopped.
      limited.clock.t += 3600_000;
      const next = await bundleOf(await take(limited.url, mailbox));
      assert.equal(next.oneTimePreKeys[0]?.id, published.oneTimePreKeys[2]!.id);
      assert.equal(next.kyberPreKeys[0]?.id, published.kyberPreKeys[2]!.id);
    } finally {
      await limited.close();
    }
  });

  it('a used one-time key id is never accepted again', async () => {
    // One id remembered exactly per kind: the rest must hold through the floor.
    const small = await testRelay({ prekeyUsedIdsMax: 1 });
    try {
      const smallId = await relayIdOf(small.url);
      const carol = user('carol-used');
      const mailbox = mailboxIdOf(carol.self.publicKey);
      const key = carol.self.keyPair.privateKey;
      const first = carol.prekeys.buildBundle(T0);
      assert.equal((await postPrekeys(small.url, signedPublish(first, smallId, key))).status, 200);
      const used = await drain(small.url, mailbox);
      assert.equal(used.ec.length, 3);
      assert.equal(used.kyber.length, 2);
      // Carol herself publishes the used keys again (say, from a restored backup), properly signed.
      carol.prekeys.replenish(T0 + 1, { oneTime: 0, kyber: 0 });
      const fresh = carol.prekeys.buildBundle(T0 + 1);
      const again: PrekeyBundle = {
        ...fresh,
        oneTimePreKeys: [...first.oneTimePreKeys, ...fresh.oneTimePreKeys],
        kyberPreKeys: [...first.kyberPreKeys, ...fresh.kyberPreKeys],
      };
      const res = await postPrekeys(small.url, signedPublish(again, smallId, key));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        mailbox: hexOf(mailbox), oneTimePreKeys: fresh.oneTimePreKeys.length, kyberPreKeys: fresh.kyberPreKeys.length, usedIgnored: { oneTime: 3, kyber: 2 },
      });
      const handed = await drain(small.url, mailbox);
      assert.deepEqual(handed.ec, fresh.oneTimePreKeys.map((k) => k.id), 'only the new EC keys are handed out');
      assert.deepEqual(handed.kyber, fresh.kyberPreKeys.map((k) => k.id), 'only the new Kyber keys are handed out');
    } finally {
      await small.close();
    }
  });
});
