import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { EncodingError, type Codec, type EncodingErrorCode } from '../../src/core/codec.ts';
import * as O from '../../src/core/objects/index.ts';
import { MAX_MESSAGE_PLAINTEXT, MAX_SEALED_HEADER } from '../../src/core/limits.ts';
import * as S from './samples.ts';

const code = (c: EncodingErrorCode) => (e: unknown) => EncodingError.is(e, c);
const relayPub = S.det('relay pub', 32);

function roundTrip<T>(c: Codec<T>, v: T, tag: number, version = 1): Uint8Array {
  const enc = c.encode(v);
  assert.equal(enc[0], tag);
  assert.equal(enc[1], version);
  assert.deepEqual(c.decode(enc), v);
  assert.deepEqual(c.encode(c.decode(enc)), enc);
  return enc;
}

test('every object round-trips with its tag and version', () => {
  roundTrip(O.OfferCodec, S.sampleOffer(), 0x01);
  roundTrip(O.QuoteCodec, S.sampleQuote(relayPub), 0x02);
  roundTrip(O.SealedHeaderPlainCodec, S.sampleHeader(), 0x03, 2);
  roundTrip(O.SealedHeaderPlainCodec, { ...S.sampleHeader(), mode: 'recipient-pays', r: undefined }, 0x03, 2);
  roundTrip(O.SealedBodyPlainCodec, { signal: S.det('signal', 40), padding: new Uint8Array(7) }, 0x0f);
  roundTrip(O.DepositCodec, S.sampleDeposit(), 0x04);
  roundTrip(O.DepositCodec, { ...S.sampleDeposit(), hr: undefined, payerPubkey: undefined, funding: undefined }, 0x04);
  roundTrip(O.DepositCodec, { ...S.sampleDeposit(), funding: undefined }, 0x04);
  roundTrip(O.PaymentNoticeCodec, S.samplePaymentNotice(), 0x0c);
  roundTrip(O.ReceiptCodec, { ...S.sampleUnsignedReceipt(relayPub), signature: S.det('sig', 64) }, 0x05);
  roundTrip(O.MessagePlainCodec, { sentAt: 5, content: { kind: 'text', text: 'hi' }, padding: new Uint8Array(3) }, 0x06);
  roundTrip(O.MessagePlainCodec, { sentAt: 5, content: { kind: 'file', name: 'a.png', mediaType: 'image/png', data: S.det('png', 70) }, padding: new Uint8Array(0) }, 0x06);
  roundTrip(O.FraudProofCodec, { receipt: { ...S.sampleUnsignedReceipt(relayPub), signature: S.det('sig', 64) }, k: S.k, blob: S.det('blob', 40) }, 0x07);
  roundTrip(O.MailboxAuthCodec, S.sampleMailboxAuth(), 0x0e);
  roundTrip(O.MailboxQueryCodec, S.sampleMailboxQuery(), 0x09);
});

test('an object of one type does not decode as another (BAD_TAG)', () => {
  const offer = O.OfferCodec.encode(S.sampleOffer());
  assert.throws(() => O.QuoteCodec.decode(offer), code('BAD_TAG'));
  assert.throws(() => O.ReceiptCodec.decode(O.MailboxAuthCodec.encode(S.sampleMailboxAuth())), code('BAD_TAG'));
});

test('field values outside their domain are refused both ways (BAD_VALUE)', () => {
  const offer = O.OfferCodec.encode(S.sampleOffer());
  const badMode = offer.slice();
  badMode[2 + 16 + 32] = 3;
  assert.throws(() => O.OfferCodec.decode(badMode), code('BAD_VALUE'));
  assert.throws(() => O.OfferCodec.encode({ ...S.sampleOffer(), maxFee: 21e14 + 1 }), code('BAD_VALUE'));
  assert.throws(() => O.QuoteCodec.encode({ ...S.sampleQuote(relayPub), contractPubkey: Uint8Array.of(4, ...S.det('x', 32)) }), code('BAD_VALUE'));
  assert.throws(() => O.QuoteCodec.encode({ ...S.sampleQuote(relayPub), network: 'litecoin' as 'regtest' }), code('BAD_VALUE'));
  assert.throws(() => O.QuoteCodec.encode({ ...S.sampleQuote(relayPub), relayUrl: 'x'.repeat(257) }), code('TOO_LARGE'));
  assert.throws(() => O.MailboxAuthCodec.encode({ ...S.sampleMailboxAuth(), identityKey: Uint8Array.of(6, ...S.det('x', 32)) }), code('BAD_VALUE'));
  assert.throws(() => O.DepositCodec.encode({ ...S.sampleDeposit(), funding: { txid: 'AB'.repeat(32), vout: 0 } }), code('BAD_VALUE'));
  assert.throws(() => O.DepositCodec.encode({ ...S.sampleDeposit(), payerPubkey: Uint8Array.of(5, ...S.det('x', 32)) }), code('BAD_VALUE'));
  assert.throws(() => O.DepositCodec.encode({ ...S.sampleDeposit(), payerPubkey: S.det('x', 32) }), code('BAD_VALUE'));
  assert.throws(() => O.PaymentNoticeCodec.encode({ ...S.samplePaymentNotice(), payerPubkey: Uint8Array.of(4, ...S.det('x', 32)) }), code('BAD_VALUE'));
  assert.throws(() => O.PaymentNoticeCodec.encode({ ...S.samplePaymentNotice(), funding: { txid: 'zz', vout: 0 } }), code('BAD_VALUE'));
  assert.throws(() => O.DepositCodec.encode({ ...S.sampleDeposit(), sealedHeader: new Uint8Array(MAX_SEALED_HEADER + 1) }), code('TOO_LARGE'));
});

test('r is present in a sealed header iff the mode is sender-pays', () => {
  assert.throws(() => O.SealedHeaderPlainCodec.encode({ ...S.sampleHeader(), r: undefined }), code('BAD_VALUE'));
  assert.throws(() => O.SealedHeaderPlainCodec.encode({ ...S.sampleHeader(), mode: 'recipient-pays' }), code('BAD_VALUE'));
  const enc = O.SealedHeaderPlainCodec.encode(S.sampleHeader());
  const modeAt = 2 + 33 + 32 * 4 + 8;
  assert.equal(enc[modeAt], 1);
  enc[modeAt] = 2; // recipient-pays with r present
  assert.throws(() => O.SealedHeaderPlainCodec.decode(enc), code('BAD_VALUE'));
});

test('a mailbox query may not claim more hops left than were signed', () => {
  assert.throws(() => O.MailboxQueryCodec.encode({ ...S.sampleMailboxQuery(), hopsLeft: 5 }), code('BAD_VALUE'));
  const q = S.sampleMailboxQuery();
  const f1 = O.forwardedQuery(q)!;
  assert.equal(f1.hopsLeft, 2);
  assert.deepEqual(O.mailboxQueryBytes(f1), O.mailboxQueryBytes(q)); // forwarding keeps the signed bytes
  assert.equal(O.forwardedQuery({ ...q, hopsLeft: 0 }), undefined);
});

test('ids and signed payloads follow the object model exactly', () => {
  const tag = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(O.mailboxIdOf(S.identityKey33), sha256(Uint8Array.of(...tag('satpost/v1/mailbox'), ...S.identityKey33)));
  assert.deepEqual(O.messageIdOf(S.hk), sha256(Uint8Array.of(...tag('satpost/v1/msgid'), ...S.hk)));
  const h = S.sampleHeader();
  const ts = Uint8Array.from(Buffer.from(h.timestamp.toString(16).padStart(16, '0'), 'hex'));
  assert.deepEqual(O.senderAuthBytes(h), Uint8Array.of(...tag('satpost/v1/sender'), ...h.hc, ...h.hk, ...h.relayId, ...h.mailbox, ...ts, 1));
  const a = S.sampleMailboxAuth();
  const ab = O.mailboxAuthBytes(a);
  assert.equal(ab.length, 'satpost/v1/mailbox-login'.length + 32 + 1 + 32 + 32 + 8);
  // The relay and the operation come first after the domain tag: a login for another relay or operation signs other bytes.
  assert.deepEqual(ab.subarray(0, 'satpost/v1/mailbox-login'.length + 33), Uint8Array.of(...tag('satpost/v1/mailbox-login'), ...a.relayId, 2));
  const q = S.sampleMailboxQuery();
  const qb = O.mailboxQueryBytes(q);
  assert.equal(qb.length, 'satpost/v1/mailbox-query'.length + 16 + 32 + 8 + 1);
  assert.equal(qb[qb.length - 1], 4);
  const uq = S.sampleUnsignedQuote(relayPub);
  const full = O.QuoteCodec.encode({ ...uq, signature: new Uint8Array(64) });
  assert.deepEqual(O.quoteSigningBytes(uq), Uint8Array.of(...tag('satpost/v1/quote'), ...full.subarray(0, full.length - 64)));
  assert.throws(() => O.mailboxIdOf(new Uint8Array(33)), code('BAD_VALUE'));
});

test('sealed bodies pad to a size class, including at varint boundaries, and decode to the same Signal message', () => {
  const overhead = 49;
  const classes = new Set<number>();
  // Signal message lengths whose padded encodings approach 16384 and 32768 byte by byte.
  for (const n of [...Array(200).keys()].map((i) => 16384 - overhead - 220 + i).concat([1, 100, 1600, 20000, 40000, 70000])) {
    const signal = new Uint8Array(n).fill(7);
    const { plain, sizeClass } = O.padSealedBody(signal, overhead);
    assert.equal(plain.length + overhead, sizeClass, `length ${plain.length} for ${n}`);
    assert.ok(O.isSizeClass(sizeClass));
    assert.deepEqual(O.SealedBodyPlainCodec.decode(plain).signal, signal);
    classes.add(sizeClass);
  }
  assert.deepEqual([...classes].sort((a, b) => a - b), [16384, 32768, 65536, 131072]);
  assert.equal(O.sizeClassFor(1), O.TEXT_SIZE_CLASS);
  assert.equal(O.sizeClassFor(O.MAX_SIZE_CLASS), O.MAX_SIZE_CLASS);
  assert.equal(O.sizeClassFor(O.MAX_SIZE_CLASS + 1), undefined);
  assert.throws(() => O.padSealedBody(new Uint8Array(O.MAX_SIZE_CLASS), overhead), code('TOO_LARGE'));
  const nonZero = O.SealedBodyPlainCodec.encode({ signal: Uint8Array.of(1), padding: new Uint8Array(3) });
  nonZero[nonZero.length - 1] = 1;
  assert.throws(() => O.SealedBodyPlainCodec.decode(nonZero), code('BAD_VALUE'));
  // A message is encoded unpadded; padding from older senders (zero bytes) still decodes.
  const m = { sentAt: 1, content: { kind: 'text', text: 'x' } } as const;
  assert.deepEqual(O.decodeMessage(O.encodeMessage(m)), m);
  assert.deepEqual(O.decodeMessage(O.MessagePlainCodec.encode({ ...m, padding: new Uint8Array(200) })), m);
  assert.ok(MAX_MESSAGE_PLAINTEXT > 0);
});

test('message padding must be zero bytes and the kind known', () => {
  assert.throws(() => O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: '' }, padding: Uint8Array.of(0, 1) }), code('BAD_VALUE'));
  const enc = O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: '' }, padding: new Uint8Array(2) });
  const flipped = enc.slice();
  flipped[flipped.length - 1] = 1;
  assert.throws(() => O.MessagePlainCodec.decode(flipped), code('BAD_VALUE'));
  const badKind = enc.slice();
  badKind[10] = 3;
  assert.throws(() => O.MessagePlainCodec.decode(badKind), code('BAD_VALUE'));
  assert.throws(() => O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'video' } as never, padding: new Uint8Array(0) }), code('BAD_VALUE'));
});

test('every strict prefix of every object is TRUNCATED', () => {
  const encs = [
    O.OfferCodec.encode(S.sampleOffer()),
    O.QuoteCodec.encode(S.sampleQuote(relayPub)),
    O.DepositCodec.encode(S.sampleDeposit()),
    O.MailboxQueryCodec.encode(S.sampleMailboxQuery()),
    O.PaymentNoticeCodec.encode(S.samplePaymentNotice()),
  ];
  const codecs: Codec<unknown>[] = [O.OfferCodec, O.QuoteCodec, O.DepositCodec, O.MailboxQueryCodec, O.PaymentNoticeCodec] as Codec<unknown>[];
  encs.forEach((enc, i) => {
    for (let n = 0; n < enc.length; n++) assert.throws(() => codecs[i]!.decode(enc.subarray(0, n)), code('TRUNCATED'), `prefix ${n}`);
  });
});
