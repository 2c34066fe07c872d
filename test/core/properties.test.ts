// Property tests (fast-check): round trips of every object, canonical-or-EncodingError
// decoding of arbitrary and mutated bytes, tamper detection, padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodingError, type Codec } from '../../src/core/codec.ts';
import * as O from '../../src/core/objects/index.ts';
import { nodeEd25519 } from '../../src/crypto/ed25519-node.ts';
import { MAX_MONEY_SATS } from '../../src/core/limits.ts';

// fast-check builds null-prototype records by default; decoded objects are plain.
const rec = <T,>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
const b = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const vb = (max: number) => fc.uint8Array({ maxLength: max });
const u32 = fc.nat({ max: 0xffffffff });
const u64 = fc.maxSafeNat();
const satsArb = fc.nat({ max: MAX_MONEY_SATS });
const modeArb = fc.constantFrom<O.PaymentMode>('sender-pays', 'recipient-pays');
const prefixed = (p: number) => b(32).map((k) => Uint8Array.of(p, ...k));
const secpArb = fc.constantFrom(2, 3).chain(prefixed);
const identityArb = prefixed(5);
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const hexTxid = b(32).map((x) => Buffer.from(x).toString('hex'));

const offerArb: fc.Arbitrary<O.Offer> = rec({ offerId: b(16), tag: b(32), mode: modeArb, size: u32, maxFee: satsArb, retentionSecs: u32, createdAt: u64 });
const quoteArb: fc.Arbitrary<O.Quote> = rec({
  quoteId: b(16), offerId: b(16), relayId: b(32), relayUrl: text(60), network: fc.constantFrom('regtest', 'signet', 'testnet', 'mainnet'),
  tag: b(32), mode: modeArb, size: u32, hk: b(32), contractPubkey: secpArb, amount: satsArb, locktime: u32, expiresAt: u64, validUntil: u64, signature: b(64),
});
const headerArb: fc.Arbitrary<O.SealedHeaderPlain> = fc
  .record({ senderIdentityKey: identityArb, hc: b(32), hk: b(32), relayId: b(32), tag: b(32), timestamp: u64, mode: modeArb, r: b(32), senderAuth: b(32) })
  .map((h) => ({ ...h, r: h.mode === 'sender-pays' ? h.r : undefined }));
const depositArb: fc.Arbitrary<O.Deposit> = rec({
  quoteId: b(16), tag: b(32), sealedHeader: vb(300), body: vb(600),
  hr: fc.option(b(32), { nil: undefined }), payerPubkey: fc.option(secpArb, { nil: undefined }), funding: fc.option(rec({ txid: hexTxid, vout: u32 }), { nil: undefined }),
});
const receiptArb: fc.Arbitrary<O.Receipt> = rec({ messageId: b(32), relayId: b(32), tag: b(32), hblob: b(32), hk: b(32), hc: b(32), expiresAt: u64, signature: b(64) });
const contentArb: fc.Arbitrary<O.MessageContent> = fc.oneof(
  rec({ kind: fc.constant('text' as const), text: text(300) }),
  rec({ kind: fc.constant('file' as const), name: text(40), mediaType: text(20), data: vb(400) }),
);
const convTagsArb: fc.Arbitrary<O.ConversationTags> = rec({ replySeed: b(32), seq: u32, ack: u32 });
const messageArb: fc.Arbitrary<O.MessagePlain> = rec({
  sentAt: u64, content: contentArb, tags: fc.option(convTagsArb, { nil: undefined }), padding: fc.nat({ max: 300 }).map((n) => new Uint8Array(n)),
});
const fraudArb: fc.Arbitrary<O.FraudProof> = rec({ receipt: receiptArb, k: b(32), blob: vb(400) });
const tagQueryArb: fc.Arbitrary<O.TagQuery> = fc
  .record({
    queryId: b(16), answerKey: identityArb, tags: fc.array(b(32), { maxLength: 20 }),
    timestamp: fc.nat({ max: Math.floor(Number.MAX_SAFE_INTEGER / O.QUERY_TIME_STEP_MS) }).map((m) => m * O.QUERY_TIME_STEP_MS),
    hopLimit: fc.nat({ max: 255 }), hopsLeft: fc.nat({ max: 255 }),
  })
  .map((q) => ({ ...q, hopsLeft: Math.min(q.hopsLeft, q.hopLimit) }));
const tagAnswerArb: fc.Arbitrary<O.TagAnswer> = rec({ queryId: b(16), relayId: b(32), url: text(60), tags: fc.array(b(32), { maxLength: 20 }), signature: b(64) });

const noticeArb: fc.Arbitrary<O.PaymentNotice> = rec({ messageId: b(32), payerPubkey: secpArb, funding: rec({ txid: hexTxid, vout: u32 }) });

const cases: [string, number, Codec<unknown>, fc.Arbitrary<unknown>, number?][] = [
  ['Offer', 0x01, O.OfferCodec as Codec<unknown>, offerArb],
  ['Quote', 0x02, O.QuoteCodec as Codec<unknown>, quoteArb],
  ['SealedHeaderPlain', 0x03, O.SealedHeaderPlainCodec as Codec<unknown>, headerArb],
  ['Deposit', 0x04, O.DepositCodec as Codec<unknown>, depositArb],
  ['Receipt', 0x05, O.ReceiptCodec as Codec<unknown>, receiptArb],
  ['MessagePlain', 0x06, O.MessagePlainCodec as Codec<unknown>, messageArb, 2],
  ['FraudProof', 0x07, O.FraudProofCodec as Codec<unknown>, fraudArb],
  ['TagQuery', 0x10, O.TagQueryCodec as Codec<unknown>, tagQueryArb],
  ['TagAnswer', 0x11, O.TagAnswerCodec as Codec<unknown>, tagAnswerArb],
  ['PaymentNotice', 0x0c, O.PaymentNoticeCodec as Codec<unknown>, noticeArb],
];

/** Decoding either fails with EncodingError or is canonical: re-encoding gives the input back. */
function canonicalOrEncodingError(c: Codec<unknown>, input: Uint8Array): void {
  let v: unknown;
  try {
    v = c.decode(input);
  } catch (e) {
    assert.ok(e instanceof EncodingError, `unexpected ${String(e)}`);
    return;
  }
  assert.deepEqual(c.encode(v), input);
}

for (const [name, tag, c, arb, version = 1] of cases) {
  test(`${name}: encode/decode round trip for arbitrary valid values`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        const enc = c.encode(v);
        assert.deepEqual(c.decode(enc), v);
      }),
      { numRuns: 200 },
    );
  });

  test(`${name}: arbitrary bytes decode canonically or throw EncodingError`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (tail, withHeader) => {
        canonicalOrEncodingError(c, withHeader ? Uint8Array.of(tag, version, ...tail) : tail);
      }),
      { numRuns: 300 },
    );
  });

  test(`${name}: mutated valid encodings decode canonically or throw EncodingError`, () => {
    fc.assert(
      fc.property(arb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete', 'truncate'), (v, at, byte, op) => {
        const enc = c.encode(v);
        const i = at % (enc.length + 1);
        let m: Uint8Array;
        if (op === 'flip') m = Uint8Array.from(enc, (x, j) => (j === i ? x ^ (byte | 1) : x));
        else if (op === 'insert') m = Uint8Array.of(...enc.subarray(0, i), byte, ...enc.subarray(i));
        else if (op === 'delete') m = Uint8Array.of(...enc.subarray(0, i), ...enc.subarray(i + 1));
        else m = enc.subarray(0, Math.min(i, enc.length - 1));
        canonicalOrEncodingError(c, m);
      }),
      { numRuns: 300 },
    );
  });
}

test('signed quotes and receipts: any single-byte change of a decodable encoding fails verification', () => {
  const ed = nodeEd25519();
  fc.assert(
    fc.property(b(32), quoteArb, receiptArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (secret, q, r, at, x) => {
      const relayId = ed.publicKey(secret);
      const quote = O.signQuote({ ...q, relayId }, secret, ed);
      const receipt = O.signReceipt({ ...r, relayId }, secret, ed);
      assert.ok(O.verifyQuote(quote, ed) && O.verifyReceipt(receipt, ed));
      for (const [codec, verify, v] of [
        [O.QuoteCodec, O.verifyQuote, quote],
        [O.ReceiptCodec, O.verifyReceipt, receipt],
      ] as const) {
        const enc = (codec as Codec<unknown>).encode(v);
        const t = enc.slice();
        t[at % enc.length]! ^= x;
        let d: unknown;
        try {
          d = (codec as Codec<unknown>).decode(t);
        } catch (e) {
          assert.ok(e instanceof EncodingError);
          continue;
        }
        assert.equal((verify as (v: unknown, e: typeof ed) => boolean)(d, ed), false);
      }
    }),
    { numRuns: 200 },
  );
});

test('padSealedBody always lands on a size class and decodes to the same message', () => {
  fc.assert(
    fc.property(u64, contentArb, (sentAt, content) => {
      const signal = O.encodeMessage({ sentAt, content });
      const { plain, sizeClass } = O.padSealedBody(signal, 49);
      assert.ok(O.isSizeClass(sizeClass) && plain.length + 49 === sizeClass);
      // The direct padded encoding is byte for byte the codec's.
      const padding = O.SealedBodyPlainCodec.decode(plain).padding;
      assert.deepEqual(plain, O.SealedBodyPlainCodec.encode({ signal, padding }));
      assert.deepEqual(O.decodeMessage(O.SealedBodyPlainCodec.decode(plain).signal), { sentAt, content, tags: undefined });
    }),
    { numRuns: 300 },
  );
});

test('signed tag answers: any single-byte change of a decodable encoding fails verification under the relay id', () => {
  const ed = nodeEd25519();
  fc.assert(
    fc.property(b(32), tagAnswerArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (secret, a, at, x) => {
      const { signature: _s, ...unsigned } = { ...a, relayId: ed.publicKey(secret) };
      const signed = { ...unsigned, signature: ed.sign(secret, O.tagAnswerSigningBytes(unsigned)) };
      assert.ok(ed.verify(signed.relayId, O.tagAnswerSigningBytes(signed), signed.signature));
      const enc = O.TagAnswerCodec.encode(signed);
      const t = enc.slice();
      t[at % enc.length]! ^= x;
      let d: O.TagAnswer;
      try {
        d = O.TagAnswerCodec.decode(t);
      } catch (e) {
        assert.ok(e instanceof EncodingError);
        return;
      }
      assert.equal(ed.verify(d.relayId, O.tagAnswerSigningBytes(d), d.signature), false);
    }),
    { numRuns: 200 },
  );
});
