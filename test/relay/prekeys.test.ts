// Prekey bundle storage at a real relay: publish, merge, hand out one-time keys once, persist.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrekeyBundleCodec, verifyBundle, type PrekeyBundle } from '../../src/identity/bundle.ts';
import { mailboxIdOf } from '../../src/identity/keys.ts';
import { finish, DEFAULTS } from '../../src/relay/config.ts';
import { startRelay } from '../../src/relay/daemon.ts';
import { pino } from 'pino';
import { makeUser, tempDir as identityDir, T0, type User } from '../identity/helpers.ts';
import { OCTET, errorOf, hexOf, testRelay, type TestRelay } from './helpers.ts';

const publish = (url: string, bytes: Uint8Array) => fetch(`${url}/v1/prekeys`, { method: 'POST', headers: OCTET, body: Buffer.from(bytes) });
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
    const res = await publish(relay.url, PrekeyBundleCodec.encode(carol.prekeys.buildBundle(T0)));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { mailbox: hexOf(mailboxIdOf(carol.self.publicKey)), oneTimePreKeys: 3, kyberPreKeys: 2 });
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
    const res = await publish(relay.url, PrekeyBundleCodec.encode(carol.prekeys.buildBundle(T0 + 1)));
    assert.equal(((await res.json()) as { oneTimePreKeys: number }).oneTimePreKeys, 3);
    // Republishing the same keys adds none (ids already held).
    const again = carol.prekeys.buildBundle(T0 + 2);
    assert.equal(again.oneTimePreKeys.length, 0, 'published keys are never published twice');
    const res2 = await publish(relay.url, PrekeyBundleCodec.encode(again));
    assert.deepEqual(await res2.json(), { mailbox: hexOf(mailboxIdOf(carol.self.publicKey)), oneTimePreKeys: 3, kyberPreKeys: 2 });
  });

  it('refuses a bundle with a forged signature (BAD_BUNDLE) and garbage bytes (BAD_ENCODING)', async () => {
    const b = dave.prekeys.buildBundle(T0);
    const forged: PrekeyBundle = { ...b, oneTimePreKeys: b.oneTimePreKeys.map((k, i) => (i === 0 ? { ...k, publicKey: carol.self.publicKey } : k)) };
    const res = await publish(relay.url, PrekeyBundleCodec.encode(forged));
    assert.equal(res.status, 422);
    const e = await errorOf(res);
    assert.equal(e.code, 'BAD_BUNDLE');
    assert.equal(e.body.reason, 'BUNDLE_BAD_SIGNATURE');
    assert.equal((await take(relay.url, mailboxIdOf(dave.self.publicKey))).status, 404, 'nothing was stored');
    const garbage = await publish(relay.url, new Uint8Array([0x0a, 1, 2, 3]));
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
      await publish(first.url, PrekeyBundleCodec.encode(erin.prekeys.buildBundle(T0)));
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
