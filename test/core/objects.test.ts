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
  roundTrip(O.MessagePlainCodec, { sentAt: 5, content: { kind: 'text', text: 'hi' }, tags: undefined, padding: new Uint8Array(3) }, 0x06, 2);
  roundTrip(O.MessagePlainCodec, { sentAt: 5, content: { kind: 'text', text: 'hi' }, tags: S.sampleConversationTags(), padding: new Uint8Array(0) }, 0x06, 2);
  roundTrip(O.MessagePlainCodec, { sentAt: 5, content: { kind: 'file', name: 'a.png', mediaType: 'image/png', data: S.det('png', 70) }, tags: undefined, padding: new Uint8Array(0) }, 0x06, 2);
  roundTrip(O.FraudProofCodec, { receipt: { ...S.sampleUnsignedReceipt(relayPub), signature: S.det('sig', 64) }, k: S.k, blob: S.det('blob', 40) }, 0x07);
  roundTrip(O.TagQueryCodec, S.sampleTagQuery(), 0x10);
  roundTrip(O.TagQueryCodec, { ...S.sampleTagQuery(), tags: [] }, 0x10);
  roundTrip(O.TagAnswerCodec, { ...S.sampleUnsignedTagAnswer(relayPub), signature: S.det('sig', 64) }, 0x11);
});

test('a StoredMessage encoded from its parts\' encodings is the codec\'s encoding, byte for byte', () => {
  const quote = S.sampleQuote(relayPub);
  const receipt = { ...S.sampleUnsignedReceipt(relayPub), signature: S.det('sig', 64) };
  for (const [header, blob] of [[300, 116], [0, 0], [127, 128], [MAX_SEALED_HEADER, 20_000]] as const) {
    const m = { quote, receipt, sealedHeader: S.det('sealed header', header), blob: S.det('blob', blob) };
    const fast = O.encodeStoredMessage({ quote: O.QuoteCodec.encode(quote), receipt: O.ReceiptCodec.encode(receipt), sealedHeader: m.sealedHeader, blob: m.blob });
    assert.deepEqual(fast, O.StoredMessageCodec.encode(m));
  }
});

test('an object of one type does not decode as another (BAD_TAG)', () => {
  const offer = O.OfferCodec.encode(S.sampleOffer());
  assert.throws(() => O.QuoteCodec.decode(offer), code('BAD_TAG'));
  assert.throws(() => O.ReceiptCodec.decode(O.TagQueryCodec.encode(S.sampleTagQuery())), code('BAD_TAG'));
  assert.throws(() => O.TagAnswerCodec.decode(O.TagQueryCodec.encode(S.sampleTagQuery())), code('BAD_TAG'));
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
  assert.throws(() => O.TagQueryCodec.encode({ ...S.sampleTagQuery(), answerKey: Uint8Array.of(6, ...S.det('x', 32)) }), code('BAD_VALUE'));
  assert.throws(() => O.TagQueryCodec.encode({ ...S.sampleTagQuery(), tags: Array.from({ length: O.MAX_QUERY_TAGS + 1 }, () => S.tag0) }), code('TOO_LARGE'));
  assert.throws(() => O.TagAnswerCodec.encode({ ...S.sampleUnsignedTagAnswer(relayPub), url: 'x'.repeat(O.MAX_ANSWER_URL + 1), signature: S.det('sig', 64) }), code('TOO_LARGE'));
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

test('a tag query may not claim more hops left than its hop limit, and its time is a whole minute (BAD_VALUE both ways)', () => {
  assert.throws(() => O.TagQueryCodec.encode({ ...S.sampleTagQuery(), hopsLeft: 5 }), code('BAD_VALUE'));
  assert.throws(() => O.TagQueryCodec.encode({ ...S.sampleTagQuery(), timestamp: 1_750_000_020_001 }), code('BAD_VALUE'));
  const enc = O.TagQueryCodec.encode(S.sampleTagQuery());
  const tooMany = enc.slice();
  tooMany[tooMany.length - 1] = 5; // hopsLeft 5 > hopLimit 4
  assert.throws(() => O.TagQueryCodec.decode(tooMany), code('BAD_VALUE'));
  const offMinute = enc.slice();
  offMinute[offMinute.length - 3]! ^= 1; // last byte of the u64 timestamp
  assert.throws(() => O.TagQueryCodec.decode(offMinute), code('BAD_VALUE'));
  assert.equal(O.coarseQueryTime(1_750_000_079_999), 1_750_000_020_000);
  assert.doesNotThrow(() => O.TagQueryCodec.encode({ ...S.sampleTagQuery(), timestamp: O.coarseQueryTime(1_750_000_079_999), hopsLeft: 4 }));
  const q = S.sampleTagQuery();
  const f1 = O.forwardedQuery(q)!;
  assert.equal(f1.hopsLeft, 2);
  assert.equal(f1.hopLimit, q.hopLimit);
  assert.deepEqual({ ...f1, hopsLeft: q.hopsLeft }, q); // forwarding changes only hopsLeft
  assert.equal(O.forwardedQuery({ ...q, hopsLeft: 0 }), undefined);
});

test('the retired mailbox objects (MailboxAuth 0x08 and 0x0e, MailboxQuery 0x09) are refused (BAD_TAG)', () => {
  const q = O.TagQueryCodec.encode(S.sampleTagQuery());
  const a = O.TagAnswerCodec.encode({ ...S.sampleUnsignedTagAnswer(relayPub), signature: S.det('sig', 64) });
  for (const retired of [0x08, 0x09, 0x0e]) {
    for (const [c, enc] of [[O.TagQueryCodec, q], [O.TagAnswerCodec, a]] as [Codec<unknown>, Uint8Array][]) {
      const old = enc.slice();
      old[0] = retired;
      assert.throws(() => c.decode(old), code('BAD_TAG'), `0x${retired.toString(16)}`);
    }
    // A body as 0.1 encoded it (tag, version 1, then fields) is refused by every current codec.
    const legacy = Uint8Array.of(retired, 1, ...S.det('legacy body', 150));
    for (const c of [O.TagQueryCodec, O.TagAnswerCodec, O.OfferCodec, O.QuoteCodec, O.DepositCodec, O.ReceiptCodec, O.MessagePlainCodec, O.PaymentNoticeCodec] as Codec<unknown>[]) {
      assert.throws(() => c.decode(legacy), code('BAD_TAG'), `0x${retired.toString(16)}`);
    }
  }
  assert.equal(O.TAG_QUERY_TAG, 0x10);
  assert.equal(O.TAG_ANSWER_TAG, 0x11);
  assert.equal((O as Record<string, unknown>).MailboxQueryCodec, undefined);
  assert.equal((O as Record<string, unknown>).MailboxAuthCodec, undefined);
});

test('ids and signed payloads follow the object model exactly', () => {
  const tag = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(O.mailboxIdOf(S.identityKey33), sha256(Uint8Array.of(...tag('satpost/v1/mailbox'), ...S.identityKey33)));
  assert.deepEqual(O.messageIdOf(S.hk), sha256(Uint8Array.of(...tag('satpost/v1/msgid'), ...S.hk)));
  const h = S.sampleHeader();
  const ts = Uint8Array.from(Buffer.from(h.timestamp.toString(16).padStart(16, '0'), 'hex'));
  assert.deepEqual(O.senderAuthBytes(h), Uint8Array.of(...tag('satpost/v1/sender'), ...h.hc, ...h.hk, ...h.relayId, ...h.tag, ...ts, 1));
  const ua = S.sampleUnsignedTagAnswer(relayPub);
  const fullAnswer = O.TagAnswerCodec.encode({ ...ua, signature: new Uint8Array(64) });
  assert.deepEqual(O.tagAnswerSigningBytes(ua), Uint8Array.of(...tag('satpost/v1/tag-answer'), ...fullAnswer.subarray(0, fullAnswer.length - 64)));
  // The signed bytes cover every field: another query id, relay, url or tag set signs other bytes.
  for (const other of [{ queryId: S.det('q2', 16) }, { url: 'http://127.0.0.1:8081' }, { tags: [S.tag0] }, { relayId: S.det('other relay', 32) }]) {
    assert.notDeepEqual(O.tagAnswerSigningBytes({ ...ua, ...other }), O.tagAnswerSigningBytes(ua));
  }
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
  const m = { sentAt: 1, content: { kind: 'text', text: 'x' }, tags: undefined } as const;
  assert.deepEqual(O.decodeMessage(O.encodeMessage(m)), m);
  assert.deepEqual(O.decodeMessage(O.MessagePlainCodec.encode({ ...m, padding: new Uint8Array(200) })), m);
  const withTags = { ...m, tags: S.sampleConversationTags() };
  assert.deepEqual(O.decodeMessage(O.encodeMessage(withTags)), withTags);
  assert.ok(MAX_MESSAGE_PLAINTEXT > 0);
});

test('message padding must be zero bytes and the kind known', () => {
  assert.throws(() => O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: '' }, tags: undefined, padding: Uint8Array.of(0, 1) }), code('BAD_VALUE'));
  const enc = O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: '' }, tags: undefined, padding: new Uint8Array(2) });
  const flipped = enc.slice();
  flipped[flipped.length - 1] = 1;
  assert.throws(() => O.MessagePlainCodec.decode(flipped), code('BAD_VALUE'));
  const badKind = enc.slice();
  badKind[10] = 3;
  assert.throws(() => O.MessagePlainCodec.decode(badKind), code('BAD_VALUE'));
  assert.throws(() => O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'video' } as never, tags: undefined, padding: new Uint8Array(0) }), code('BAD_VALUE'));
  // Version 1 (the layout without the tags field) is refused.
  const v1 = enc.slice();
  v1[1] = 1;
  assert.throws(() => O.MessagePlainCodec.decode(v1), code('BAD_VERSION'));
  // The tags' presence byte is canonical (0 or 1); a reply seed is 32 bytes.
  const presenceAt = enc.length - 1 - 2 - 1; // before padding (varint 2 + 2 zeros)
  assert.equal(enc[presenceAt], 0);
  const badPresence = enc.slice();
  badPresence[presenceAt] = 2;
  assert.throws(() => O.MessagePlainCodec.decode(badPresence), code('NON_CANONICAL'));
  assert.throws(() => O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: '' }, tags: { ...S.sampleConversationTags(), replySeed: new Uint8Array(31) }, padding: new Uint8Array(0) }), code('BAD_VALUE'));
});

test('every strict prefix of every object is TRUNCATED', () => {
  const encs = [
    O.OfferCodec.encode(S.sampleOffer()),
    O.QuoteCodec.encode(S.sampleQuote(relayPub)),
    O.DepositCodec.encode(S.sampleDeposit()),
    O.TagQueryCodec.encode(S.sampleTagQuery()),
    O.TagAnswerCodec.encode({ ...S.sampleUnsignedTagAnswer(relayPub), signature: S.det('sig', 64) }),
    O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: 'x' }, tags: S.sampleConversationTags(), padding: new Uint8Array(0) }),
    O.PaymentNoticeCodec.encode(S.samplePaymentNotice()),
  ];
  const codecs: Codec<unknown>[] = [O.OfferCodec, O.QuoteCodec, O.DepositCodec, O.TagQueryCodec, O.TagAnswerCodec, O.MessagePlainCodec, O.PaymentNoticeCodec] as Codec<unknown>[];
  encs.forEach((enc, i) => {
    for (let n = 0; n < enc.length; n++) assert.throws(() => codecs[i]!.decode(enc.subarray(0, n)), code('TRUNCATED'), `prefix ${n}`);
  });
});
