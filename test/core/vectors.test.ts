import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EncodingError } from '../../src/core/codec.ts';
import { nobleEd25519 } from '../../src/core/ed25519.ts';
import { nobleAead } from '../../src/core/aead.ts';
import { BlobError, keyMatches, openBlob, sealBlob } from '../../src/core/blob.ts';
import { FraudError, judgeFraud } from '../../src/core/fraud.ts';
import * as O from '../../src/core/objects/index.ts';
import * as P from '../../src/core/wire/p2p.ts';
import { lookupAnswerSigningBytes, openLookupAnswer } from '../../src/core/wire/lookup-answer.ts';
import * as C from '../../src/channels/index.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { nodeAead } from '../../src/crypto/aead-node.ts';
import { CODECS, VECTOR_FILES, fromJson } from './vector-builder.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
const load = (f: string): any => JSON.parse(readFileSync(new URL(`../vectors/${f}`, import.meta.url), 'utf8'));
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const eds = [nobleEd25519, nodeEd25519()];

test('committed vectors equal what the builder computes now', () => {
  for (const [file, build] of Object.entries(VECTOR_FILES)) assert.deepEqual(load(file), JSON.parse(JSON.stringify(build())), file);
});

test('encoding vectors: valid cases decode to their value and re-encode; invalid cases raise their code', () => {
  const v = load('encoding.json');
  assert.ok(v.valid.length >= 9 && v.invalid.length >= 10);
  // Every wire object has at least one valid vector.
  assert.deepEqual(new Set(v.valid.map((c: any) => c.type)), new Set(Object.keys(CODECS)));
  const messages = v.valid.filter((c: any) => c.type === 'MessagePlain');
  assert.ok(messages.some((c: any) => c.value.tags === null) && messages.some((c: any) => c.value.tags !== null));
  assert.ok(messages.every((c: any) => c.hex.startsWith('0602')));
  for (const c of v.valid) {
    const codec = CODECS[c.type]!;
    assert.deepEqual(codec.decode(bytes(c.hex)), fromJson(c.value), c.name);
    assert.equal(Buffer.from(codec.encode(fromJson(c.value))).toString('hex'), c.hex, c.name);
  }
  for (const c of v.invalid) {
    assert.throws(() => CODECS[c.type]!.decode(bytes(c.hex)), (e) => EncodingError.is(e, c.code), c.name);
  }
});

test('every wire object tag has a valid encoding vector that starts with it', () => {
  const v = load('encoding.json');
  const tags = Object.entries({ ...O, ...P, ...C }).filter(([name]) => name.endsWith('_TAG'));
  // 14 protocol objects (0x01..0x11), 7 relay-network objects (0x20..0x26), 8 channel objects (0x30..0x37).
  assert.ok(tags.length >= 29, tags.map(([n]) => n).join(' '));
  for (const [name, tag] of tags) {
    assert.equal(typeof tag, 'number', name);
    const prefix = (tag as number).toString(16).padStart(2, '0');
    assert.ok(v.valid.some((c: any) => c.hex.startsWith(prefix)), `${name} (0x${prefix}) has no vector in test/vectors/encoding.json`);
  }
  // And every vector of a tagged object decodes to that object only: its first byte is its tag.
  const byTag = new Map(tags.map(([name, tag]) => [tag as number, name]));
  for (const c of v.valid) if (c.type !== 'QuoteAck') assert.ok(byTag.has(parseInt(c.hex.slice(0, 2), 16)), c.name);
});

test('channel auth vectors verify under the relay id; another relay id fails', () => {
  const v = load('encoding.json');
  const relayId = bytes(load('signatures.json').relayPublicKey);
  const auths = v.valid.filter((c: any) => c.type === 'ChannelAuth');
  assert.ok(auths.length >= 1);
  for (const c of auths) {
    const a = C.ChannelAuthCodec.decode(bytes(c.hex));
    assert.equal(C.verifyChannelAuth(a, relayId), true, c.name);
    assert.equal(C.verifyChannelAuth(a, new Uint8Array(32)), false, c.name);
  }
});

test('signature vectors verify with both Ed25519 implementations; tampered ones fail with their code', () => {
  const v = load('signatures.json');
  assert.equal(Buffer.from(nodeEd25519().publicKey(bytes(v.relaySecret))).toString('hex'), v.relayPublicKey);
  const byType: Record<string, (x: any) => Uint8Array> = {
    senderAuthBytes: O.senderAuthBytes, mailboxIdOf: O.mailboxIdOf, messageIdOf: O.messageIdOf,
    oneTimePreKeyPayload: (x) => O.oneTimePreKeyPayload(x.id, x.publicKey),
    prekeyPublishPayload: (b) => O.prekeyPublishPayload(O.PrekeyPublishCodec.decode(b)),
    tagSecret: (x) => O.tagSecret(x.seed, x.index), tagOfSecret: O.tagOfSecret, introSecret: (x) => O.introSecret(x.identityKey, x.epoch),
  };
  assert.ok(v.valid.some((c: any) => c.type === 'LookupAnswer'));
  for (const c of v.valid) {
    if (c.type === 'LookupAnswer') {
      const obj = CODECS.LookupAnswer!.decode(bytes(c.hex)) as any;
      assert.equal(Buffer.from(lookupAnswerSigningBytes(obj)).toString('hex'), c.signingBytes, c.name);
      for (const ed of eds) assert.ok(openLookupAnswer(bytes(c.hex), obj, ed), c.name);
      // Another lookup id: the same signed bytes do not answer it.
      for (const ed of eds) assert.equal(openLookupAnswer(bytes(c.hex), { ...obj, lookupId: new Uint8Array(16) }, ed), undefined, c.name);
    } else if (c.type === 'TagAnswer') {
      const obj = O.TagAnswerCodec.decode(bytes(c.hex));
      const signing = O.tagAnswerSigningBytes(obj);
      assert.equal(Buffer.from(signing).toString('hex'), c.signingBytes, c.name);
      assert.equal(Buffer.from(obj.relayId).toString('hex'), v.relayPublicKey, c.name);
      for (const ed of eds) assert.ok(ed.verify(obj.relayId, signing, obj.signature), c.name);
    } else if (c.type === 'Quote' || c.type === 'Receipt' || c.type === 'StandingTerms') {
      const obj = CODECS[c.type]!.decode(bytes(c.hex)) as any;
      const signing = c.type === 'Quote' ? O.quoteSigningBytes(obj) : c.type === 'StandingTerms' ? O.standingTermsSigningBytes(obj) : O.receiptSigningBytes(obj);
      assert.equal(Buffer.from(signing).toString('hex'), c.signingBytes, c.name);
      for (const ed of eds) {
        assert.ok(ed.verify(bytes(v.relayPublicKey), signing, obj.signature), c.name);
        if (c.type === 'Quote') O.assertQuoteSigned(obj, ed);
        else if (c.type === 'StandingTerms') O.assertStandingTermsSigned(obj, ed);
        else O.assertReceiptSigned(obj, ed);
      }
    } else {
      const input = typeof c.input === 'string' ? bytes(c.input) : fromJson(c.input);
      assert.equal(Buffer.from(byType[c.type]!(input)).toString('hex'), c.bytes, c.name);
    }
  }
  assert.ok(v.invalid.some((c: any) => c.type === 'TagAnswer'));
  for (const c of v.invalid) {
    const obj = CODECS[c.type]!.decode(bytes(c.hex)) as any;
    if (c.type === 'TagAnswer') {
      assert.equal(c.verifies, false);
      for (const ed of eds) assert.equal(ed.verify(obj.relayId, O.tagAnswerSigningBytes(obj), obj.signature), false, c.name);
      continue;
    }
    for (const ed of eds) {
      const check = () => (c.type === 'Quote' ? O.assertQuoteSigned(obj, ed) : c.type === 'StandingTerms' ? O.assertStandingTermsSigned(obj, ed) : O.assertReceiptSigned(obj, ed));
      assert.throws(check, (e) => O.SignatureError.is(e, c.code), c.name);
    }
  }
});

test('sealing vectors: both AEADs produce the blob; bad cases and fraud judgements match', () => {
  const v = load('sealing.json');
  for (const c of v.valid) {
    assert.ok(keyMatches(bytes(c.k), bytes(c.hk)));
    for (const aead of [nobleAead, nodeAead]) {
      assert.equal(Buffer.from(sealBlob(bytes(c.k), bytes(c.c), aead)).toString('hex'), c.blob, c.name);
      assert.deepEqual(openBlob(bytes(c.k), bytes(c.blob), aead), bytes(c.c));
    }
  }
  for (const c of v.invalid) {
    for (const aead of [nobleAead, nodeAead]) assert.throws(() => openBlob(bytes(c.k), bytes(c.blob), aead), (e) => BlobError.is(e, c.code), c.name);
  }
  for (const c of v.fraud) {
    const receipt = O.ReceiptCodec.decode(bytes(c.receipt));
    const judge = () => judgeFraud(receipt, bytes(c.k), bytes(c.blob), { ed25519: nodeEd25519(), aead: nodeAead });
    if (c.reason) assert.equal(judge(), c.reason, c.name);
    else assert.throws(judge, (e) => FraudError.is(e, c.code), c.name);
  }
});
