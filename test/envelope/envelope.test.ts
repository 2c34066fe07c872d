import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PublicKey } from '@signalapp/libsignal-client';
import { makeUser, tempDir, T0, type User } from '../identity/helpers.ts';
import { takeForFetch } from '../../src/core/objects/prekey-bundle.ts';
import { sealEnvelope, openEnvelope, openHeader, sealBody, HEADER_INFO } from '../../src/envelope/envelope.ts';
import { senderAuthenticator } from '../../src/envelope/authenticator.ts';
import { EnvelopeError } from '../../src/envelope/errors.ts';
import { H, concatBytes } from '../../src/core/hash.ts';
import { SealedHeaderPlainCodec } from '../../src/core/objects/sealed-header.ts';
import { TEXT_SIZE_CLASS } from '../../src/core/objects/sealed-body.ts';
import { IdentityError } from '../../src/identity/errors.ts';
import { tagOfSecret, tagSecret } from '../../src/core/objects/tags.ts';
import type { ConversationTags } from '../../src/core/objects/message.ts';

const tmp = tempDir();
after(() => tmp.cleanup());

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const ab = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/** A relay's terms for one message, under a fresh tag (of a random conversation seed). */
function terms() {
  return { hk: H(rnd(32)), relayId: rnd(32), tag: tagOfSecret(tagSecret(rnd(32), 0)), mode: 'recipient-pays' as const };
}

async function firstContact(alice: User, carol: User) {
  const { fetched } = takeForFetch(carol.prekeys.buildBundle(T0));
  return { peer: 'carol', identityKey: carol.self.publicKey, bundle: fetched };
}

test('Alice -> Carol: sealed text and file envelopes open with the sender verified', async () => {
  const alice = makeUser(tmp.dir, 'env-alice');
  const carol = makeUser(tmp.dir, 'env-carol');
  const recipient = await firstContact(alice, carol);
  const t = terms();
  const r = rnd(32);
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions },
    recipient,
    message: { kind: 'text', text: 'meet at noon' },
    ...t,
    mode: 'sender-pays',
    r,
    now: T0 + 5,
  });
  assert.deepEqual(env.hc, H(env.body));
  assert.equal(env.body.length, TEXT_SIZE_CLASS, 'the sealed body is exactly the text size class');
  const view = openHeader(carol.self, env.sealedHeader, t.tag, t.hk);
  assert.deepEqual(view.header.r, r);
  assert.equal(view.header.mode, 'sender-pays');
  const opened = await openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env, tag: t.tag, hk: t.hk });
  assert.deepEqual(opened.senderIdentityKey, alice.self.publicKey);
  assert.deepEqual(opened.message, { kind: 'text', text: 'meet at noon' });
  assert.equal(opened.sentAt, T0 + 5);
  assert.deepEqual(opened.header.relayId, t.relayId);

  // A file, on the established session (no bundle), padded to a bucket.
  const data = rnd(3000);
  const t2 = terms();
  const env2 = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions },
    recipient: { peer: 'carol', identityKey: carol.self.publicKey },
    message: { kind: 'file', name: 'photo.jpg', mediaType: 'image/jpeg', data },
    ...t2,
    now: T0 + 6,
  });
  const opened2 = await openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env2, tag: t2.tag, hk: t2.hk });
  assert.deepEqual(opened2.message, { kind: 'file', name: 'photo.jpg', mediaType: 'image/jpeg', data });
  assert.equal(opened2.header.r, undefined);

  // Carol answers through the session the envelope opened.
  const back = terms();
  const reply = await sealEnvelope({
    sender: { identity: carol.self, sessions: carol.sessions },
    recipient: { peer: opened.senderPeer, identityKey: alice.self.publicKey },
    message: { kind: 'text', text: 'ok' },
    ...back,
    now: T0 + 7,
  });
  const got = await openEnvelope({
    recipient: { identity: alice.self, sessions: alice.sessions },
    ...reply,
    tag: back.tag,
    hk: back.hk,
    peerFor: () => 'carol',
  });
  assert.deepEqual(got.message, { kind: 'text', text: 'ok' });

  // Replaying a stored envelope is refused.
  await assert.rejects(
    openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env2, tag: t2.tag, hk: t2.hk }),
    (e) => EnvelopeError.is(e, 'DUPLICATE_MESSAGE'),
  );
  alice.db.close();
  carol.db.close();
});

test('tampered header, body, signature and undecryptable body are each refused with their own code', async () => {
  const alice = makeUser(tmp.dir, 'tam-alice');
  const carol = makeUser(tmp.dir, 'tam-carol');
  const recipient = await firstContact(alice, carol);
  const t = terms();
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions },
    recipient,
    message: { kind: 'text', text: 'x' },
    ...t,
    now: T0,
  });
  const carolParty = { identity: carol.self, sessions: carol.sessions };
  const open = (over: Partial<{ sealedHeader: Uint8Array; body: Uint8Array; tag: Uint8Array; hk: Uint8Array }>) =>
    openEnvelope({ recipient: carolParty, ...env, tag: t.tag, hk: t.hk, ...over });

  const badHeader = env.sealedHeader.slice();
  badHeader[badHeader.length - 5]! ^= 1;
  await assert.rejects(open({ sealedHeader: badHeader }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  await assert.rejects(open({ hk: H(rnd(32)) }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'), 'header bound to hk via aad');
  await assert.rejects(open({ sealedHeader: new Uint8Array(3000) }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  // Sealed to Alice instead of Carol: unreadable for Carol.
  await assert.rejects(
    openEnvelope({ recipient: { identity: alice.self, sessions: alice.sessions }, ...env, tag: t.tag, hk: t.hk }),
    (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'),
  );

  const badBody = env.body.slice();
  badBody[badBody.length - 1]! ^= 1;
  await assert.rejects(open({ body: badBody }), (e) => EnvelopeError.is(e, 'BODY_HASH_MISMATCH'));

  // A header Carol can open but whose authenticator is wrong.
  const header = SealedHeaderPlainCodec.decode(carol.self.keyPair.privateKey.open(ab(env.sealedHeader), HEADER_INFO, ab(concatBytes(t.tag, t.hk))));
  const carolKey = PublicKey.deserialize(ab(carol.self.publicKey));
  const reseal = (h: typeof header) => carolKey.seal(ab(SealedHeaderPlainCodec.encode(h)), HEADER_INFO, ab(concatBytes(t.tag, t.hk)));
  const tag = header.senderAuth.slice();
  tag[0]! ^= 1;
  await assert.rejects(open({ sealedHeader: reseal({ ...header, senderAuth: tag }) }), (e) => EnvelopeError.is(e, 'BAD_SENDER_AUTH'));
  // Same authenticator, a changed authenticated field (timestamp).
  await assert.rejects(open({ sealedHeader: reseal({ ...header, timestamp: header.timestamp + 1 }) }), (e) => EnvelopeError.is(e, 'BAD_SENDER_AUTH'));
  // A genuine authenticator by Alice over the hash of a class-sized body that is not sealed to Carol.
  const junk = rnd(TEXT_SIZE_CLASS);
  const fields = { ...header, hc: H(junk) };
  const parties = { senderIdentityKey: alice.self.publicKey, recipientIdentityKey: carol.self.publicKey };
  const forged = { ...fields, senderAuth: senderAuthenticator(alice.self.keyPair.privateKey, parties, fields) };
  await assert.rejects(open({ sealedHeader: reseal(forged), body: junk }), (e) => EnvelopeError.is(e, 'BODY_UNDECRYPTABLE'));
  // ... and over a sealed body that holds no Signal message.
  const notSignal = sealBody({ signal: rnd(100), recipient: { identityKey: carol.self.publicKey }, tag: t.tag, hk: t.hk });
  const fields2 = { ...header, hc: H(notSignal) };
  const forged2 = { ...fields2, senderAuth: senderAuthenticator(alice.self.keyPair.privateKey, parties, fields2) };
  await assert.rejects(open({ sealedHeader: reseal(forged2), body: notSignal }), (e) => EnvelopeError.is(e, 'BODY_UNDECRYPTABLE'));

  // The untouched envelope still opens after all the refusals.
  const ok = await open({});
  assert.deepEqual(ok.message, { kind: 'text', text: 'x' });
  alice.db.close();
  carol.db.close();
});

test('seal refuses inconsistent input', async () => {
  const alice = makeUser(tmp.dir, 'in-alice');
  const carol = makeUser(tmp.dir, 'in-carol');
  const recipient = await firstContact(alice, carol);
  const base = { sender: { identity: alice.self, sessions: alice.sessions }, recipient, message: { kind: 'text' as const, text: 'x' }, ...terms(), now: T0 };
  for (const tag of [rnd(31), rnd(33), new Uint8Array(0)]) {
    await assert.rejects(sealEnvelope({ ...base, tag }), (e) => EnvelopeError.is(e, 'BAD_INPUT') && /"tag" expected 32 bytes/.test((e as Error).message));
    assert.throws(() => sealBody({ signal: rnd(10), recipient: { identityKey: carol.self.publicKey }, tag, hk: base.hk }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
  }
  await assert.rejects(sealEnvelope({ ...base, mode: 'sender-pays' }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
  await assert.rejects(sealEnvelope({ ...base, r: rnd(32) }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
  await assert.rejects(sealEnvelope({ ...base, message: { kind: 'text', text: 'x'.repeat(5 * 1024 * 1024) } }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
  // A bundle for another key than the recipient's identity key.
  const { fetched } = takeForFetch(alice.prekeys.buildBundle(T0));
  await assert.rejects(sealEnvelope({ ...base, recipient: { ...recipient, bundle: fetched } }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
  // Bundle served for Carol's mailbox that is not Carol's: refused before any session is made.
  await assert.rejects(
    sealEnvelope({ ...base, recipient: { peer: 'carol', identityKey: carol.self.publicKey, bundle: { ...fetched, identityKey: carol.self.publicKey } } }),
    (e) => IdentityError.is(e, 'BUNDLE_BAD_SIGNATURE'),
  );
  assert.equal(await alice.sessions.hasSession('carol'), false);
  alice.db.close();
  carol.db.close();
});

test('the recipient can produce an authenticator that verifies the same', async () => {
  const alice = makeUser(tmp.dir, 'den-alice');
  const carol = makeUser(tmp.dir, 'den-carol');
  const t = terms();
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions }, recipient: await firstContact(alice, carol), message: { kind: 'text', text: 'deniable' }, ...t, now: T0,
  });
  const { header } = openHeader(carol.self, env.sealedHeader, t.tag, t.hk);
  const parties = { senderIdentityKey: alice.self.publicKey, recipientIdentityKey: carol.self.publicKey };
  // Carol, with her own private key and Alice's public key, computes Alice's very tag...
  assert.deepEqual(senderAuthenticator(carol.self.keyPair.privateKey, parties, header), header.senderAuth);
  // ...and one for anything she likes, which passes the same check: the tag proves nothing to a third party.
  const invented = { ...header, timestamp: header.timestamp + 3_600_000 };
  const carolMade = { ...invented, senderAuth: senderAuthenticator(carol.self.keyPair.privateKey, parties, invented) };
  const carolKey = PublicKey.deserialize(ab(carol.self.publicKey));
  const sealed = carolKey.seal(ab(SealedHeaderPlainCodec.encode(carolMade)), HEADER_INFO, ab(concatBytes(t.tag, t.hk)));
  assert.equal(openHeader(carol.self, sealed, t.tag, t.hk).header.timestamp, invented.timestamp);
  // Nothing in the header is a signature: no 64-byte XEdDSA field, the authenticator is 32 bytes of HMAC.
  assert.equal(header.senderAuth.length, 32);
  alice.db.close();
  carol.db.close();
});

test('a forged authenticator is refused before paying: a third party cannot claim to be Alice', async () => {
  const alice = makeUser(tmp.dir, 'forge-alice');
  const carol = makeUser(tmp.dir, 'forge-carol');
  const mallory = makeUser(tmp.dir, 'forge-mallory');
  const t = terms();
  // Mallory has a session with Carol under her own key, and names Alice as the sender.
  const env = await sealEnvelope({
    sender: { identity: mallory.self, sessions: mallory.sessions }, recipient: await firstContact(mallory, carol), message: { kind: 'text', text: 'it is me, Alice' }, ...t, now: T0,
  });
  const honest = openHeader(carol.self, env.sealedHeader, t.tag, t.hk).header;
  const asAlice = { ...honest, senderIdentityKey: alice.self.publicKey };
  const carolKey = PublicKey.deserialize(ab(carol.self.publicKey));
  const reseal = (h: typeof honest) => carolKey.seal(ab(SealedHeaderPlainCodec.encode(h)), HEADER_INFO, ab(concatBytes(t.tag, t.hk)));
  // Her own tag under Alice's name, and a tag she computes with her key against Carol's for Alice's name: both refused by openHeader, the check run before any payment.
  const mallorysTag = senderAuthenticator(mallory.self.keyPair.privateKey, { senderIdentityKey: alice.self.publicKey, recipientIdentityKey: carol.self.publicKey }, asAlice);
  for (const forged of [asAlice, { ...asAlice, senderAuth: mallorysTag }, { ...asAlice, senderAuth: rnd(32) }]) {
    assert.throws(() => openHeader(carol.self, reseal(forged), t.tag, t.hk), (e) => EnvelopeError.is(e, 'BAD_SENDER_AUTH'));
  }
  alice.db.close();
  carol.db.close();
  mallory.db.close();
});

test('every stored message of a size class has the same length', async () => {
  const alice = makeUser(tmp.dir, 'size-alice');
  const carol = makeUser(tmp.dir, 'size-carol');
  const aliceParty = { identity: alice.self, sessions: alice.sessions };
  const carolParty = { identity: carol.self, sessions: carol.sessions };
  const lengths = new Set<string>();
  const seal = async (sender: typeof aliceParty, recipient: Parameters<typeof sealEnvelope>[0]['recipient'], message: Parameters<typeof sealEnvelope>[0]['message']) => {
    const t = terms();
    const env = await sealEnvelope({ sender, recipient, message, ...t, mode: 'sender-pays', r: rnd(32), now: T0 });
    lengths.add(`${env.body.length}/${env.sealedHeader.length}`);
    return { env, t };
  };
  // A PreKey message (first contact, carrying Alice's identity key and a Kyber ciphertext inside), then
  // ordinary messages of 1 byte to 10,000 characters, a small file, and Carol's reply.
  const first = await seal(aliceParty, await firstContact(alice, carol), { kind: 'text', text: 'a' });
  await openEnvelope({ recipient: carolParty, ...first.env, tag: first.t.tag, hk: first.t.hk, peerFor: () => 'alice' });
  for (const text of ['b', 'x'.repeat(100), 'y'.repeat(10_000)]) await seal(aliceParty, { peer: 'carol', identityKey: carol.self.publicKey }, { kind: 'text', text });
  await seal(aliceParty, { peer: 'carol', identityKey: carol.self.publicKey }, { kind: 'file', name: 'n.txt', mediaType: 'text/plain', data: rnd(5000) });
  await seal(carolParty, { peer: 'alice', identityKey: alice.self.publicKey }, { kind: 'text', text: 'reply' });
  assert.deepEqual([...lengths], [`${TEXT_SIZE_CLASS}/${[...lengths][0]!.split('/')[1]}`], 'one body length and one header length for the whole class');
  // The next class up: twice the length, never in between.
  const big = await seal(aliceParty, { peer: 'carol', identityKey: carol.self.publicKey }, { kind: 'text', text: 'z'.repeat(20_000) });
  assert.equal(big.env.body.length, 2 * TEXT_SIZE_CLASS);
  alice.db.close();
  carol.db.close();
});

test('a message sealed in envelope version 1 gives a typed error naming the version, never a crash', async () => {
  const alice = makeUser(tmp.dir, 'v1-alice');
  const carol = makeUser(tmp.dir, 'v1-carol');
  const t = terms();
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions }, recipient: await firstContact(alice, carol), message: { kind: 'text', text: 'old' }, ...t, now: T0,
  });
  const plain = carol.self.keyPair.privateKey.open(ab(env.sealedHeader), HEADER_INFO, ab(concatBytes(t.tag, t.hk)));
  // Version 1: tag 0x03, version 1, the same fields but a 64-byte XEdDSA signature last.
  const v1 = concatBytes(Uint8Array.of(0x03, 1), plain.subarray(2, plain.length - 32), rnd(64));
  const sealed = PublicKey.deserialize(ab(carol.self.publicKey)).seal(ab(v1), HEADER_INFO, ab(concatBytes(t.tag, t.hk)));
  assert.throws(
    () => openHeader(carol.self, sealed, t.tag, t.hk),
    (e) => EnvelopeError.is(e, 'UNSUPPORTED_VERSION') && /version 1/.test((e as Error).message),
  );
  alice.db.close();
  carol.db.close();
});

test('a message is bound to its tag: sealed under tag A it does not open under tag B; the header names its tag', async () => {
  const alice = makeUser(tmp.dir, 'tagb-alice');
  const carol = makeUser(tmp.dir, 'tagb-carol');
  const t = terms();
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions }, recipient: await firstContact(alice, carol), message: { kind: 'text', text: 'tag A' }, ...t, now: T0,
  });
  const tagB = tagOfSecret(tagSecret(rnd(32), 1));
  assert.notDeepEqual(tagB, t.tag);
  assert.throws(() => openHeader(carol.self, env.sealedHeader, tagB, t.hk), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  const carolParty = { identity: carol.self, sessions: carol.sessions };
  await assert.rejects(openEnvelope({ recipient: carolParty, ...env, tag: tagB, hk: t.hk }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  // The header authenticates its tag: one resealed under B that names A is a mismatch.
  const header = SealedHeaderPlainCodec.decode(carol.self.keyPair.privateKey.open(ab(env.sealedHeader), HEADER_INFO, ab(concatBytes(t.tag, t.hk))));
  assert.deepEqual(header.tag, t.tag, 'the authenticated header carries the tag');
  const underB = PublicKey.deserialize(ab(carol.self.publicKey)).seal(ab(SealedHeaderPlainCodec.encode(header)), HEADER_INFO, ab(concatBytes(tagB, t.hk)));
  assert.throws(() => openHeader(carol.self, underB, tagB, t.hk), (e) => EnvelopeError.is(e, 'HEADER_MISMATCH'));
  // Under its own tag it still opens, after the refusals.
  const opened = await openEnvelope({ recipient: carolParty, ...env, tag: t.tag, hk: t.hk });
  assert.deepEqual(opened.message, { kind: 'text', text: 'tag A' });
  alice.db.close();
  carol.db.close();
});

test('conversation tags round-trip through the envelope; a message without them opens without them', async () => {
  const alice = makeUser(tmp.dir, 'tags-alice');
  const carol = makeUser(tmp.dir, 'tags-carol');
  const aliceParty = { identity: alice.self, sessions: alice.sessions };
  const carolParty = { identity: carol.self, sessions: carol.sessions };
  const tags: ConversationTags = { replySeed: rnd(32), seq: 7, ack: 3 };
  const t1 = terms();
  const env1 = await sealEnvelope({ sender: aliceParty, recipient: await firstContact(alice, carol), message: { kind: 'text', text: 'with tags' }, ...t1, tags, now: T0 });
  const o1 = await openEnvelope({ recipient: carolParty, ...env1, tag: t1.tag, hk: t1.hk, peerFor: () => 'alice' });
  assert.deepEqual(o1.tags, tags);
  assert.deepEqual(o1.message, { kind: 'text', text: 'with tags' });
  const t2 = terms();
  const env2 = await sealEnvelope({ sender: aliceParty, recipient: { peer: 'carol', identityKey: carol.self.publicKey }, message: { kind: 'text', text: 'none' }, ...t2, now: T0 + 1 });
  const o2 = await openEnvelope({ recipient: carolParty, ...env2, tag: t2.tag, hk: t2.hk, peerFor: () => 'alice' });
  assert.equal(o2.tags, undefined);
  assert.equal('tags' in o2, false);
  // The tags travel inside the end-to-end encryption: neither sealed part carries the seed in clear.
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  assert.equal(hex(env1.body).includes(hex(tags.replySeed)), false);
  assert.equal(hex(env1.sealedHeader).includes(hex(tags.replySeed)), false);
  // Tags that cannot be encoded are a BAD_INPUT, not a crash.
  await assert.rejects(
    sealEnvelope({ sender: aliceParty, recipient: { peer: 'carol', identityKey: carol.self.publicKey }, message: { kind: 'text', text: 'x' }, ...terms(), tags: { ...tags, seq: -1 }, now: T0 + 2 }),
    (e) => EnvelopeError.is(e, 'BAD_INPUT'),
  );
  alice.db.close();
  carol.db.close();
});
