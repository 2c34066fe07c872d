import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nobleEd25519, type Ed25519 } from '../../src/core/ed25519.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import * as O from '../../src/core/objects/index.ts';
import * as S from './samples.ts';

const impls: [string, Ed25519][] = [['noble', nobleEd25519], ['node', nodeEd25519()]];
const pub = nobleEd25519.publicKey(S.relaySecret);

test('native and pure Ed25519 agree on keys and (deterministic) signatures', () => {
  const node = nodeEd25519();
  for (let i = 0; i < 20; i++) {
    const secret = S.det(`secret ${i}`, 32);
    const msg = S.det(`msg ${i}`, i * 7);
    assert.deepEqual(node.publicKey(secret), nobleEd25519.publicKey(secret));
    const sig = node.sign(secret, msg);
    assert.deepEqual(sig, nobleEd25519.sign(secret, msg));
    assert.ok(nobleEd25519.verify(nobleEd25519.publicKey(secret), msg, sig));
  }
});

test('RFC 8032 test 1 (empty message) holds for both implementations', () => {
  const secret = Uint8Array.from(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
  const expectSig = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
  for (const [name, ed] of impls) {
    assert.equal(Buffer.from(ed.publicKey(secret)).toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', name);
    assert.equal(Buffer.from(ed.sign(secret, new Uint8Array(0))).toString('hex'), expectSig, name);
  }
});

test('malformed keys and signatures verify false, never throw', () => {
  const sig = nobleEd25519.sign(S.relaySecret, Uint8Array.of(1));
  for (const [name, ed] of impls) {
    assert.equal(ed.verify(pub.subarray(0, 31), Uint8Array.of(1), sig), false, name);
    assert.equal(ed.verify(pub, Uint8Array.of(1), sig.subarray(0, 63)), false, name);
    assert.equal(ed.verify(new Uint8Array(32).fill(0xff), Uint8Array.of(1), sig), false, name);
    const highS = sig.slice();
    highS[63] = 0xff; // s >= group order is non-canonical under RFC 8032
    assert.equal(ed.verify(pub, Uint8Array.of(1), highS), false, name);
  }
});

for (const [name, ed] of impls) {
  test(`${name}: a signed quote verifies, and any flipped byte breaks it`, () => {
    const q = O.signQuote(S.sampleUnsignedQuote(pub), S.relaySecret, ed);
    assert.ok(O.verifyQuote(q, ed));
    O.assertQuoteSigned(q, ed);
    const enc = O.QuoteCodec.encode(q);
    let checked = 0;
    for (let i = 0; i < enc.length; i++) {
      const t = enc.slice();
      t[i]! ^= 0x01;
      let decoded: O.Quote;
      try {
        decoded = O.QuoteCodec.decode(t);
      } catch {
        continue; // the codec already refuses it
      }
      checked++;
      assert.equal(O.verifyQuote(decoded, ed), false, `byte ${i}`);
      assert.throws(() => O.assertQuoteSigned(decoded, ed), (e) => O.SignatureError.is(e, 'BAD_QUOTE_SIGNATURE'));
    }
    assert.ok(checked > enc.length - 10, `${checked} of ${enc.length} flips decoded`);
  });

  test(`${name}: a signed receipt verifies, and any flipped byte breaks it`, () => {
    const { messageId: _m, ...fields } = S.sampleUnsignedReceipt(pub);
    const r = O.signReceipt(fields, S.relaySecret, ed);
    assert.deepEqual(r.messageId, O.messageIdOf(r.hk));
    assert.ok(O.verifyReceipt(r, ed));
    const enc = O.ReceiptCodec.encode(r);
    let checked = 0;
    for (let i = 2; i < enc.length; i++) {
      const t = enc.slice();
      t[i]! ^= 0x01;
      let decoded: O.Receipt;
      try {
        decoded = O.ReceiptCodec.decode(t);
      } catch {
        continue; // u64 bytes above 2^53 are refused by the codec
      }
      checked++;
      assert.equal(O.verifyReceipt(decoded, ed), false, `byte ${i}`);
    }
    assert.ok(checked >= enc.length - 4, `${checked} of ${enc.length} flips decoded`);
  });
}

test('a receipt whose messageId is not derived from hk is refused even if signed', () => {
  const u = { ...S.sampleUnsignedReceipt(pub), messageId: S.det('other id', 32) };
  const r: O.Receipt = { ...u, signature: nobleEd25519.sign(S.relaySecret, O.receiptSigningBytes(u)) };
  assert.ok(O.verifyReceiptSignature(r, nobleEd25519));
  assert.equal(O.verifyReceipt(r, nobleEd25519), false);
  assert.throws(() => O.assertReceiptSigned(r, nobleEd25519), (e) => O.SignatureError.is(e, 'MESSAGE_ID_MISMATCH'));
  const other = nobleEd25519.publicKey(S.det('other relay', 32));
  const forged = O.signReceipt({ ...S.sampleUnsignedReceipt(other) }, S.relaySecret, nobleEd25519);
  assert.throws(() => O.assertReceiptSigned(forged, nobleEd25519), (e) => O.SignatureError.is(e, 'BAD_RECEIPT_SIGNATURE'));
});

test('a quote signature does not verify as a receipt signature (domain separation)', () => {
  const msg = O.quoteSigningBytes(S.sampleUnsignedQuote(pub));
  const sig = nobleEd25519.sign(S.relaySecret, msg);
  const u = S.sampleUnsignedReceipt(pub);
  assert.equal(O.verifyReceiptSignature({ ...u, signature: sig }, nobleEd25519), false);
});
