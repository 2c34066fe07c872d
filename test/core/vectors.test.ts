import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EncodingError } from '../../src/core/codec.ts';
import { nobleEd25519 } from '../../src/core/ed25519.ts';
import { nobleAead } from '../../src/core/aead.ts';
import { BlobError, keyMatches, openBlob, sealBlob } from '../../src/core/blob.ts';
import { FraudError, judgeFraud } from '../../src/core/fraud.ts';
import * as O from '../../src/core/objects/index.ts';
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

test('signature vectors verify with both Ed25519 implementations; tampered ones fail with their code', () => {
  const v = load('signatures.json');
  assert.equal(Buffer.from(nodeEd25519().publicKey(bytes(v.relaySecret))).toString('hex'), v.relayPublicKey);
  const byType: Record<string, (x: any) => Uint8Array> = {
    senderAuthBytes: O.senderAuthBytes, mailboxIdOf: O.mailboxIdOf, messageIdOf: O.messageIdOf,
    tagSecret: (x) => O.tagSecret(x.seed, x.index), tagOfSecret: O.tagOfSecret, introSecret: (x) => O.introSecret(x.identityKey, x.epoch),
  };
  for (const c of v.valid) {
    if (c.type === 'TagAnswer') {
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
