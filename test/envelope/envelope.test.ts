import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PublicKey } from '@signalapp/libsignal-client';
import { makeUser, tempDir, T0, type User } from '../identity/helpers.ts';
import { takeForFetch } from '../../src/identity/bundle.ts';
import { sealEnvelope, openEnvelope, openHeader, HEADER_INFO } from '../../src/envelope/envelope.ts';
import { EnvelopeError } from '../../src/envelope/errors.ts';
import { H, concatBytes } from '../../src/core/hash.ts';
import { SealedHeaderPlainCodec, senderSigningBytes } from '../../src/core/objects/sealed-header.ts';
import { IdentityError } from '../../src/identity/errors.ts';

const tmp = tempDir();
after(() => tmp.cleanup());

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const ab = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

function terms(carol: User) {
  return { hk: H(rnd(32)), relayId: rnd(32), mailbox: carol.self.mailbox, mode: 'recipient-pays' as const };
}

async function firstContact(alice: User, carol: User) {
  const { fetched } = takeForFetch(carol.prekeys.buildBundle(T0));
  return { peer: 'carol', identityKey: carol.self.publicKey, bundle: fetched };
}

test('Alice -> Carol: sealed text and file envelopes open with the sender verified', async () => {
  const alice = makeUser(tmp.dir, 'env-alice');
  const carol = makeUser(tmp.dir, 'env-carol');
  const recipient = await firstContact(alice, carol);
  const t = terms(carol);
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
  assert.equal(env.body[0], 3, 'first envelope carries a PreKeySignalMessage');
  const view = openHeader(carol.self, env.sealedHeader, t.mailbox, t.hk);
  assert.deepEqual(view.header.r, r);
  assert.equal(view.header.mode, 'sender-pays');
  const opened = await openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env, mailbox: t.mailbox, hk: t.hk });
  assert.deepEqual(opened.senderIdentityKey, alice.self.publicKey);
  assert.deepEqual(opened.message, { kind: 'text', text: 'meet at noon' });
  assert.equal(opened.sentAt, T0 + 5);
  assert.deepEqual(opened.header.relayId, t.relayId);

  // A file, on the established session (no bundle), padded to a bucket.
  const data = rnd(3000);
  const t2 = terms(carol);
  const env2 = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions },
    recipient: { peer: 'carol', identityKey: carol.self.publicKey },
    message: { kind: 'file', name: 'photo.jpg', mediaType: 'image/jpeg', data },
    ...t2,
    now: T0 + 6,
  });
  const opened2 = await openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env2, mailbox: t2.mailbox, hk: t2.hk });
  assert.deepEqual(opened2.message, { kind: 'file', name: 'photo.jpg', mediaType: 'image/jpeg', data });
  assert.equal(opened2.header.r, undefined);

  // Carol answers through the session the envelope opened.
  const back = terms(alice);
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
    mailbox: back.mailbox,
    hk: back.hk,
    peerFor: () => 'carol',
  });
  assert.deepEqual(got.message, { kind: 'text', text: 'ok' });

  // Replaying a stored envelope is refused.
  await assert.rejects(
    openEnvelope({ recipient: { identity: carol.self, sessions: carol.sessions }, ...env2, mailbox: t2.mailbox, hk: t2.hk }),
    (e) => EnvelopeError.is(e, 'DUPLICATE_MESSAGE'),
  );
  alice.db.close();
  carol.db.close();
});

test('tampered header, body, signature and undecryptable body are each refused with their own code', async () => {
  const alice = makeUser(tmp.dir, 'tam-alice');
  const carol = makeUser(tmp.dir, 'tam-carol');
  const recipient = await firstContact(alice, carol);
  const t = terms(carol);
  const env = await sealEnvelope({
    sender: { identity: alice.self, sessions: alice.sessions },
    recipient,
    message: { kind: 'text', text: 'x' },
    ...t,
    now: T0,
  });
  const carolParty = { identity: carol.self, sessions: carol.sessions };
  const open = (over: Partial<{ sealedHeader: Uint8Array; body: Uint8Array; mailbox: Uint8Array; hk: Uint8Array }>) =>
    openEnvelope({ recipient: carolParty, ...env, mailbox: t.mailbox, hk: t.hk, ...over });

  const badHeader = env.sealedHeader.slice();
  badHeader[badHeader.length - 5]! ^= 1;
  await assert.rejects(open({ sealedHeader: badHeader }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  await assert.rejects(open({ hk: H(rnd(32)) }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'), 'header bound to hk via aad');
  await assert.rejects(open({ sealedHeader: new Uint8Array(3000) }), (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'));
  // Sealed to Alice instead of Carol: unreadable for Carol.
  await assert.rejects(
    openEnvelope({ recipient: { identity: alice.self, sessions: alice.sessions }, ...env, mailbox: t.mailbox, hk: t.hk }),
    (e) => EnvelopeError.is(e, 'HEADER_UNREADABLE'),
  );

  const badBody = env.body.slice();
  badBody[badBody.length - 1]! ^= 1;
  await assert.rejects(open({ body: badBody }), (e) => EnvelopeError.is(e, 'BODY_HASH_MISMATCH'));

  // A header Carol can open but whose signature is wrong.
  const header = SealedHeaderPlainCodec.decode(carol.self.keyPair.privateKey.open(ab(env.sealedHeader), HEADER_INFO, ab(concatBytes(t.mailbox, t.hk))));
  const carolKey = PublicKey.deserialize(ab(carol.self.publicKey));
  const reseal = (h: typeof header) => carolKey.seal(ab(SealedHeaderPlainCodec.encode(h)), HEADER_INFO, ab(concatBytes(t.mailbox, t.hk)));
  const sig = header.senderSignature.slice();
  sig[0]! ^= 1;
  await assert.rejects(open({ sealedHeader: reseal({ ...header, senderSignature: sig }) }), (e) => EnvelopeError.is(e, 'BAD_SENDER_SIGNATURE'));
  // Same signature, a changed signed field (timestamp).
  await assert.rejects(open({ sealedHeader: reseal({ ...header, timestamp: header.timestamp + 1 }) }), (e) =>
    EnvelopeError.is(e, 'BAD_SENDER_SIGNATURE'),
  );
  // A genuine signature by Alice over the hash of a body that is not a Signal message.
  const junk = rnd(200);
  const signed = { ...header, hc: H(junk) };
  const forged = { ...signed, senderSignature: alice.self.keyPair.privateKey.sign(ab(senderSigningBytes(signed))) };
  await assert.rejects(open({ sealedHeader: reseal(forged), body: junk }), (e) => EnvelopeError.is(e, 'BODY_UNDECRYPTABLE'));

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
  const base = { sender: { identity: alice.self, sessions: alice.sessions }, recipient, message: { kind: 'text' as const, text: 'x' }, ...terms(carol), now: T0 };
  await assert.rejects(sealEnvelope({ ...base, mailbox: alice.self.mailbox }), (e) => EnvelopeError.is(e, 'BAD_INPUT'));
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
