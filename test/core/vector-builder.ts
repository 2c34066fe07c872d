// Builds the deterministic test vectors (fixed keys, no randomness). scripts/gen-vectors.ts
// writes them to test/vectors/*.json once; test/core/vectors.test.ts checks the committed
// files both against this builder and independently (decode, encode, verify, open).
import { sha256 } from '@noble/hashes/sha2.js';
import type { Codec } from '../../src/core/codec.ts';
import { nobleEd25519 as ed } from '../../src/core/ed25519.ts';
import { sealBlob } from '../../src/core/blob.ts';
import * as O from '../../src/core/objects/index.ts';
import * as P from '../../src/core/wire/p2p.ts';
import * as LA from '../../src/core/wire/lookup-answer.ts';
import * as C from '../../src/channels/index.ts';
import * as S from './samples.ts';

/** JSON form: bytes are "0x"-prefixed lowercase hex; absent optionals are null. */
export function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return '0x' + Buffer.from(v).toString('hex');
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

export function fromJson(v: unknown): unknown {
  if (typeof v === 'string' && /^0x([0-9a-f]{2})*$/.test(v)) return Uint8Array.from(Buffer.from(v.slice(2), 'hex'));
  if (v === null) return undefined;
  if (Array.isArray(v)) return v.map(fromJson);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, fromJson(x)]));
  return v;
}

export const CODECS: Record<string, Codec<unknown>> = {
  Offer: O.OfferCodec, Quote: O.QuoteCodec, SealedHeaderPlain: O.SealedHeaderPlainCodec, SealedBodyPlain: O.SealedBodyPlainCodec, Deposit: O.DepositCodec,
  Receipt: O.ReceiptCodec, MessagePlain: O.MessagePlainCodec, FraudProof: O.FraudProofCodec,
  TagQuery: O.TagQueryCodec, TagAnswer: O.TagAnswerCodec, PaymentNotice: O.PaymentNoticeCodec, StoredMessage: O.StoredMessageCodec, StandingTerms: O.StandingTermsCodec,
  PrekeyBundle: O.PrekeyBundleCodec, PrekeyPublish: O.PrekeyPublishCodec,
  // Relay to relay (src/core/wire): QuoteAck is the one-byte answer to a delivered quote, untagged.
  OfferAnnouncement: P.OfferAnnouncementCodec, QueryRequest: P.QueryRequestCodec, QueryResponse: P.QueryResponseCodec,
  TopologyAnnouncement: P.TopologyAnnouncementCodec, LookupRequest: P.LookupRequestCodec, LookupAnswer: LA.LookupAnswerCodec,
  OfferDecline: P.OfferDeclineCodec, QuoteAck: P.QuoteAckCodec,
  // Payer and relay on a payment channel (src/channels).
  ChannelOpen: C.ChannelOpenCodec, AddHtlc: C.AddHtlcCodec, SettleHtlc: C.SettleHtlcCodec, SettleAck: C.SettleAckCodec,
  FailHtlc: C.FailHtlcCodec, CloseRequest: C.CloseRequestCodec, CloseSigned: C.CloseSignedCodec, ChannelAuth: C.ChannelAuthCodec,
} as Record<string, Codec<unknown>>;

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');
const relayPub = ed.publicKey(S.relaySecret);

function signedQuote(): O.Quote {
  return O.signQuote(S.sampleUnsignedQuote(relayPub), S.relaySecret, ed);
}
function signedTerms(): O.StandingTerms {
  return O.signStandingTerms(S.sampleUnsignedStandingTerms(relayPub), S.relaySecret, ed);
}
function signedReceipt(): O.Receipt {
  const { messageId: _m, ...f } = S.sampleUnsignedReceipt(relayPub);
  return O.signReceipt(f, S.relaySecret, ed);
}
function signedTagAnswer(): O.TagAnswer {
  const unsigned = S.sampleUnsignedTagAnswer(relayPub);
  return { ...unsigned, signature: ed.sign(S.relaySecret, O.tagAnswerSigningBytes(unsigned)) };
}
function signedLookupAnswer(a: LA.UnsignedLookupAnswer): LA.LookupAnswer {
  return LA.LookupAnswerCodec.decode(LA.signLookupAnswer(a, (m) => ed.sign(S.relaySecret, m)));
}
function prekeysAnswer(): LA.LookupAnswer {
  return signedLookupAnswer({ kind: 'prekeys', lookupId: S.det('lookup', 16), target: S.mailbox, relayId: relayPub, url: 'http://127.0.0.1:8080', prekeys: { oneTimePreKeys: 99, kyberPreKeys: 98 } });
}
function relayInfoAnswer(): LA.LookupAnswer {
  return signedLookupAnswer({ kind: 'relay-info', lookupId: S.det('lookup', 16), target: new Uint8Array(32), relayId: relayPub, url: 'http://127.0.0.1:8080', relay: S.sampleRelayTerms() });
}
function samplePrekeyPublish(): O.PrekeyPublish {
  // The signature is a placeholder (XEdDSA is randomized); signatures.json has the bytes it covers.
  return { relayId: relayPub, timestamp: 1_750_000_050_000, nonce: S.det('publish nonce', 16), bundle: S.samplePrekeyBundle(), signature: S.det('publish signature', 64) };
}
function channelAuth(op: C.ChannelAuthOp, channelId: string): C.ChannelAuth {
  return C.signChannelAuth({ op, channelId, timestamp: 1_750_000_060_000, nonce: S.det(`channel auth ${op}`, 16) }, relayPub, S.channelPayer);
}
function mutate(b: Uint8Array, f: (x: Uint8Array) => Uint8Array | void): string {
  const c = b.slice();
  return hx(f(c) ?? c);
}

export function buildEncoding() {
  const valid: { name: string; type: string; value: unknown; hex: string }[] = [];
  const add = (name: string, type: string, value: unknown) => valid.push({ name, type, value: toJson(value), hex: hx(CODECS[type]!.encode(value)) });
  add('offer sender-pays', 'Offer', S.sampleOffer());
  add('offer recipient-pays, zero fee', 'Offer', { ...S.sampleOffer(), mode: 'recipient-pays', maxFee: 0 });
  add('quote signed', 'Quote', signedQuote());
  add('standing terms signed', 'StandingTerms', signedTerms());
  add('sealed header sender-pays', 'SealedHeaderPlain', S.sampleHeader());
  add('sealed header recipient-pays', 'SealedHeaderPlain', { ...S.sampleHeader(), mode: 'recipient-pays', r: undefined });
  add('deposit with hr and funding', 'Deposit', { ...S.sampleDeposit(), body: S.det('body', 40) });
  add('deposit sender-pays before funding', 'Deposit', { ...S.sampleDeposit(), body: S.det('body', 40), funding: undefined });
  add('deposit without optionals', 'Deposit', { ...S.sampleDeposit(), body: S.det('body', 200), hr: undefined, payerPubkey: undefined, funding: undefined });
  add('receipt signed', 'Receipt', signedReceipt());
  add('message text unpadded, without tags', 'MessagePlain', O.MessagePlainCodec.decode(O.encodeMessage({ sentAt: 1_750_000_000_000, content: { kind: 'text', text: 'Hello Carol ✓' } })));
  add('message text with conversation tags', 'MessagePlain', O.MessagePlainCodec.decode(O.encodeMessage({ sentAt: 1_750_000_000_000, content: { kind: 'text', text: 'Hello Carol ✓' }, tags: S.sampleConversationTags() })));
  add('message text, tags of a first contact (no index yet)', 'MessagePlain', { sentAt: 1, content: { kind: 'text', text: 'hi' }, tags: { replySeed: S.det('reply seed', 32), seq: O.NO_SEQ, ack: 0 }, padding: new Uint8Array(0) });
  add('message text with zero padding', 'MessagePlain', { sentAt: 1, content: { kind: 'text', text: 'hi' }, tags: undefined, padding: new Uint8Array(20) });
  // Real sealed bodies are padded to a size class (16 KiB and up); a short one shows the layout.
  add('sealed body with padding', 'SealedBodyPlain', { signal: S.det('signal', 30), padding: new Uint8Array(4) });
  add('message file unpadded', 'MessagePlain', { sentAt: 1, content: { kind: 'file', name: 'a.txt', mediaType: 'text/plain', data: S.det('file', 5) }, tags: undefined, padding: new Uint8Array(0) });
  add('fraud proof', 'FraudProof', { receipt: signedReceipt(), k: S.k, blob: S.det('blob', 48) });
  add('tag query', 'TagQuery', S.sampleTagQuery());
  add('tag query without tags, no hops left', 'TagQuery', { ...S.sampleTagQuery(), tags: [], hopsLeft: 0 });
  add('tag answer signed', 'TagAnswer', signedTagAnswer());
  add('payment notice', 'PaymentNotice', S.samplePaymentNotice());
  add('stored message', 'StoredMessage', { quote: signedQuote(), receipt: signedReceipt(), sealedHeader: S.det('sealed header', 300), blob: S.det('blob', 116) });
  const bundle = S.samplePrekeyBundle();
  add('prekey bundle published (one one-time EC and Kyber prekey)', 'PrekeyBundle', bundle);
  add('prekey bundle fetched from an empty pool', 'PrekeyBundle', { ...bundle, oneTimePreKeys: [], kyberPreKeys: [] });
  add('prekey publish', 'PrekeyPublish', samplePrekeyPublish());
  add('offer announcement', 'OfferAnnouncement', S.sampleOfferAnnouncement());
  add('query request', 'QueryRequest', S.sampleQueryRequest());
  add('query response ok, two sealed answers', 'QueryResponse', { status: 'ok', answers: [S.det('sealed answer 1', 80), S.det('sealed answer 2', 80)] });
  add('query response rate-limited', 'QueryResponse', { status: 'rate-limited', answers: [] });
  add('topology announcement', 'TopologyAnnouncement', S.sampleTopologyAnnouncement());
  add('lookup request prekeys', 'LookupRequest', S.sampleLookupRequest());
  add('lookup request relay-info', 'LookupRequest', { ...S.sampleLookupRequest(), kind: 'relay-info', target: new Uint8Array(32), covered: [] });
  add('lookup answer prekeys', 'LookupAnswer', prekeysAnswer());
  add('lookup answer relay-info with channel terms', 'LookupAnswer', relayInfoAnswer());
  add('offer decline', 'OfferDecline', { offerId: S.det('offer', 16) });
  add('quote ack accepted', 'QuoteAck', 'accepted');
  add('quote ack unknown offer', 'QuoteAck', 'unknown-offer');
  const cm = S.sampleChannelMessages();
  add('channel open', 'ChannelOpen', cm.open);
  add('add htlc sender-pays', 'AddHtlc', cm.add);
  add('settle htlc sender-pays (k and r)', 'SettleHtlc', cm.settle);
  add('settle htlc recipient-pays (k only)', 'SettleHtlc', cm.settleRecipientPays);
  add('settle ack', 'SettleAck', cm.settleAck);
  add('fail htlc', 'FailHtlc', cm.fail);
  add('close request', 'CloseRequest', cm.closeRequest);
  add('close signed', 'CloseSigned', cm.closeSigned);
  add('channel auth view', 'ChannelAuth', channelAuth('view', S.channelId));
  add('channel auth key (before the channel exists)', 'ChannelAuth', channelAuth('key', C.NO_CHANNEL));

  const offer = O.OfferCodec.encode(S.sampleOffer());
  const header = O.SealedHeaderPlainCodec.encode(S.sampleHeader());
  const deposit = O.DepositCodec.encode({ ...S.sampleDeposit(), body: S.det('body', 40) });
  const text = O.MessagePlainCodec.encode({ sentAt: 1, content: { kind: 'text', text: 'ab' }, tags: undefined, padding: new Uint8Array(2) });
  const quote = O.QuoteCodec.encode(signedQuote());
  const query = O.TagQueryCodec.encode(S.sampleTagQuery());
  const answer = O.TagAnswerCodec.encode(signedTagAnswer());
  const notice = O.PaymentNoticeCodec.encode(S.samplePaymentNotice());
  const bundleBytes = O.PrekeyBundleCodec.encode(S.samplePrekeyBundle());
  const stored = O.StoredMessageCodec.encode({ quote: signedQuote(), receipt: signedReceipt(), sealedHeader: S.det('sealed header', 300), blob: S.det('blob', 116) });
  const relayInfoLookup = P.LookupRequestCodec.encode({ ...S.sampleLookupRequest(), kind: 'relay-info', target: new Uint8Array(32), covered: [] });
  const response = P.QueryResponseCodec.encode({ status: 'rate-limited', answers: [] });
  const auth = C.ChannelAuthCodec.encode(channelAuth('view', S.channelId));
  const decline = P.OfferDeclineCodec.encode({ offerId: S.det('offer', 16) });
  // hr and payerPubkey sit right after the 40-byte body: 2 + 16 + 32 + (2 + 300) + (1 + 40).
  const payerAt = 2 + 16 + 32 + 2 + 300 + 1 + 40 + 33;
  const invalid = [
    { name: 'empty input', type: 'Offer', hex: '', code: 'TRUNCATED' },
    { name: 'offer missing last byte', type: 'Offer', hex: hx(offer.subarray(0, -1)), code: 'TRUNCATED' },
    { name: 'offer with a trailing byte', type: 'Offer', hex: hx(offer) + '00', code: 'TRAILING_BYTES' },
    { name: 'offer decoded as quote', type: 'Quote', hex: hx(offer), code: 'BAD_TAG' },
    { name: 'offer version 2', type: 'Offer', hex: mutate(offer, (x) => void (x[1] = 2)), code: 'BAD_VERSION' },
    { name: 'offer mode 0', type: 'Offer', hex: mutate(offer, (x) => void (x[50] = 0)), code: 'BAD_VALUE' },
    { name: 'offer createdAt above 2^53-1', type: 'Offer', hex: mutate(offer, (x) => void (x[x.length - 8] = 0x00, x[x.length - 7] = 0x20)), code: 'BAD_VALUE' },
    { name: 'offer maxFee above 21e14 sats', type: 'Offer', hex: mutate(offer, (x) => x.set([0, 0x10, 0, 0, 0, 0, 0, 0], 55)), code: 'BAD_VALUE' },
    { name: 'header r present for recipient-pays', type: 'SealedHeaderPlain', hex: mutate(header, (x) => void (x[2 + 33 + 128 + 8] = 2)), code: 'BAD_VALUE' },
    { name: 'header optional presence byte 2', type: 'SealedHeaderPlain', hex: mutate(header, (x) => void (x[2 + 33 + 128 + 9] = 2)), code: 'NON_CANONICAL' },
    { name: 'header version 1 (signed sender)', type: 'SealedHeaderPlain', hex: mutate(header, (x) => void (x[1] = 1)), code: 'BAD_VERSION' },
    { name: 'sealed body padding not zero', type: 'SealedBodyPlain', hex: hx(Uint8Array.of(0x0f, 1, 1, 9, 2, 0, 1)), code: 'BAD_VALUE' },
    { name: 'header identity key without 0x05 prefix', type: 'SealedHeaderPlain', hex: mutate(header, (x) => void (x[2] = 4)), code: 'BAD_VALUE' },
    { name: 'deposit header length as non-minimal varint', type: 'Deposit', hex: hx(Uint8Array.of(...deposit.subarray(0, 50), 0x80 | 0x01, 0x00)) , code: 'NON_CANONICAL' },
    { name: 'deposit header length above 2048', type: 'Deposit', hex: hx(Uint8Array.of(...deposit.subarray(0, 50), 0x81, 0x10)), code: 'TOO_LARGE' },
    { name: 'deposit body length far beyond the input', type: 'Deposit', hex: hx(Uint8Array.of(...deposit.subarray(0, 50), 0x00, 0x80, 0x80, 0x01)), code: 'TRUNCATED' },
    { name: 'message kind 3', type: 'MessagePlain', hex: mutate(text, (x) => void (x[10] = 3)), code: 'BAD_VALUE' },
    { name: 'message text not UTF-8', type: 'MessagePlain', hex: mutate(text, (x) => void (x[12] = 0xc3, x[13] = 0x28)), code: 'BAD_VALUE' },
    { name: 'message padding not zero', type: 'MessagePlain', hex: mutate(text, (x) => void (x[x.length - 1] = 1)), code: 'BAD_VALUE' },
    { name: 'quote contract key with 0x04 prefix', type: 'Quote', hex: mutate(quote, (x) => void (x[quote.length - 64 - 8 - 8 - 4 - 8 - 33] = 4)), code: 'BAD_VALUE' },
    { name: 'quote network 9', type: 'Quote', hex: mutate(quote, (x) => void (x[2 + 16 + 16 + 32 + 1 + 21] = 9)), code: 'BAD_VALUE' },
    { name: 'deposit payerPubkey presence byte 2', type: 'Deposit', hex: mutate(deposit, (x) => void (x[payerAt] = 2)), code: 'NON_CANONICAL' },
    { name: 'deposit payerPubkey with 0x05 prefix', type: 'Deposit', hex: mutate(deposit, (x) => void (x[payerAt + 1] = 5)), code: 'BAD_VALUE' },
    { name: 'payment notice payerPubkey with 0x04 prefix', type: 'PaymentNotice', hex: mutate(notice, (x) => void (x[2 + 32] = 4)), code: 'BAD_VALUE' },
    { name: 'payment notice without its vout', type: 'PaymentNotice', hex: hx(notice.subarray(0, -4)), code: 'TRUNCATED' },
    { name: 'payment notice decoded as deposit', type: 'Deposit', hex: hx(notice), code: 'BAD_TAG' },
    { name: 'message version 1 (without tags)', type: 'MessagePlain', hex: mutate(text, (x) => void (x[1] = 1)), code: 'BAD_VERSION' },
    { name: 'message tags presence byte 2', type: 'MessagePlain', hex: mutate(text, (x) => void (x[x.length - 4] = 2)), code: 'NON_CANONICAL' },
    { name: 'tag query hopsLeft above hopLimit', type: 'TagQuery', hex: mutate(query, (x) => void (x[x.length - 1] = 5)), code: 'BAD_VALUE' },
    { name: 'tag query timestamp not a whole minute', type: 'TagQuery', hex: mutate(query, (x) => void (x[x.length - 3]! ^= 1)), code: 'BAD_VALUE' },
    { name: 'tag query answerKey without 0x05 prefix', type: 'TagQuery', hex: mutate(query, (x) => void (x[2 + 16] = 4)), code: 'BAD_VALUE' },
    { name: 'tag query with 1025 tags', type: 'TagQuery', hex: hx(Uint8Array.of(...query.subarray(0, 2 + 16 + 33), 0x81, 0x08)), code: 'TOO_LARGE' },
    { name: 'tag answer decoded as tag query', type: 'TagQuery', hex: hx(answer), code: 'BAD_TAG' },
    { name: 'retired mailbox query (0x09)', type: 'TagQuery', hex: mutate(query, (x) => void (x[0] = 0x09, x[1] = 1)), code: 'BAD_TAG' },
    { name: 'retired mailbox auth (0x0e)', type: 'TagAnswer', hex: mutate(answer, (x) => void (x[0] = 0x0e, x[1] = 1)), code: 'BAD_TAG' },
    { name: 'stored message missing last byte', type: 'StoredMessage', hex: hx(stored.subarray(0, -1)), code: 'TRUNCATED' },
    { name: 'prekey bundle identity key without 0x05 prefix', type: 'PrekeyBundle', hex: mutate(bundleBytes, (x) => void (x[2] = 4)), code: 'BAD_VALUE' },
    { name: 'prekey bundle deviceId 0', type: 'PrekeyBundle', hex: mutate(bundleBytes, (x) => void (x[2 + 33 + 4] = 0)), code: 'BAD_VALUE' },
    { name: 'bare prekey bundle decoded as prekey publish', type: 'PrekeyPublish', hex: hx(bundleBytes), code: 'BAD_TAG' },
    { name: 'lookup request relay-info with a non-zero target', type: 'LookupRequest', hex: mutate(relayInfoLookup, (x) => void (x[2 + 1 + 16] = 1)), code: 'BAD_VALUE' },
    { name: 'query response status 9', type: 'QueryResponse', hex: mutate(response, (x) => void (x[2] = 9)), code: 'BAD_VALUE' },
    { name: 'offer decline decoded as offer announcement', type: 'OfferAnnouncement', hex: hx(decline), code: 'BAD_TAG' },
    { name: 'quote ack 3', type: 'QuoteAck', hex: '03', code: 'BAD_VALUE' },
    { name: 'channel auth op 5 (1 key, 2 view, 3 close, 4 terms)', type: 'ChannelAuth', hex: mutate(auth, (x) => void (x[2 + 33] = 5)), code: 'BAD_VALUE' },
    { name: 'retired unbound mailbox auth (0x08)', type: 'TagAnswer', hex: mutate(answer, (x) => void (x[0] = 0x08, x[1] = 1)), code: 'BAD_TAG' },
  ];
  return { description: 'satpost v1 canonical encodings. Bytes are 0x-hex, absent optionals null. Invalid cases name the EncodingError code.', valid, invalid };
}

export function buildSignatures() {
  const q = signedQuote();
  const r = signedReceipt();
  const h = S.sampleHeader();
  const ta = signedTagAnswer();
  const st = signedTerms();
  const other = ed.publicKey(S.det('other', 32));
  const flip = (x: Uint8Array, i: number) => Uint8Array.from(x, (v, j) => (j === i ? v ^ 1 : v));
  return {
    description: 'Ed25519 (RFC 8032) signatures of quotes, standing terms, receipts, tag answers and lookup answers by the relay node key, and the exact bytes of authenticated payloads, hashed ids and tag derivations.',
    relaySecret: hx(S.relaySecret),
    relayPublicKey: hx(relayPub),
    valid: [
      { name: 'quote', type: 'Quote', signingBytes: hx(O.quoteSigningBytes(q)), hex: hx(O.QuoteCodec.encode(q)) },
      { name: 'standing terms', type: 'StandingTerms', signingBytes: hx(O.standingTermsSigningBytes(st)), hex: hx(O.StandingTermsCodec.encode(st)) },
      { name: 'receipt', type: 'Receipt', signingBytes: hx(O.receiptSigningBytes(r)), hex: hx(O.ReceiptCodec.encode(r)) },
      { name: 'sender authenticated bytes', type: 'senderAuthBytes', input: toJson({ hc: h.hc, hk: h.hk, relayId: h.relayId, tag: h.tag, timestamp: h.timestamp, mode: h.mode }), bytes: hx(O.senderAuthBytes(h)) },
      { name: 'tag answer', type: 'TagAnswer', signingBytes: hx(O.tagAnswerSigningBytes(ta)), hex: hx(O.TagAnswerCodec.encode(ta)) },
      { name: 'tag secret, index 0', type: 'tagSecret', input: toJson({ seed: S.tagSeed, index: 0 }), bytes: hx(O.tagSecret(S.tagSeed, 0)) },
      { name: 'tag secret, index 2^32-2', type: 'tagSecret', input: toJson({ seed: S.tagSeed, index: 0xffff_fffe }), bytes: hx(O.tagSecret(S.tagSeed, 0xffff_fffe)) },
      { name: 'tag of secret', type: 'tagOfSecret', input: hx(O.tagSecret(S.tagSeed, 0)), bytes: hx(S.tag0) },
      { name: 'introduction secret', type: 'introSecret', input: toJson({ identityKey: S.identityKey33, epoch: O.introEpochOf(1_750_000_000_000) }), bytes: hx(O.introSecret(S.identityKey33, O.introEpochOf(1_750_000_000_000))) },
      { name: 'mailbox id', type: 'mailboxIdOf', input: hx(S.identityKey33), bytes: hx(O.mailboxIdOf(S.identityKey33)) },
      { name: 'message id', type: 'messageIdOf', input: hx(S.hk), bytes: hx(O.messageIdOf(S.hk)) },
      { name: 'lookup answer prekeys', type: 'LookupAnswer', signingBytes: hx(LA.lookupAnswerSigningBytes(prekeysAnswer())), hex: hx(LA.LookupAnswerCodec.encode(prekeysAnswer())) },
      { name: 'lookup answer relay-info', type: 'LookupAnswer', signingBytes: hx(LA.lookupAnswerSigningBytes(relayInfoAnswer())), hex: hx(LA.LookupAnswerCodec.encode(relayInfoAnswer())) },
      // What the identity key signs (XEdDSA, src/identity): one-time EC prekeys and a prekey publish.
      { name: 'one-time prekey payload', type: 'oneTimePreKeyPayload', input: toJson({ id: 100, publicKey: S.samplePrekeyBundle().oneTimePreKeys[0]!.publicKey }), bytes: hx(O.oneTimePreKeyPayload(100, S.samplePrekeyBundle().oneTimePreKeys[0]!.publicKey)) },
      { name: 'prekey publish payload', type: 'prekeyPublishPayload', input: hx(O.PrekeyPublishCodec.encode(samplePrekeyPublish())), bytes: hx(O.prekeyPublishPayload(samplePrekeyPublish())) },
    ],
    invalid: [
      { name: 'quote amount changed', type: 'Quote', hex: hx(O.QuoteCodec.encode({ ...q, amount: q.amount + 1 })), code: 'BAD_QUOTE_SIGNATURE' },
      { name: 'quote signature bit flipped', type: 'Quote', hex: hx(O.QuoteCodec.encode({ ...q, signature: flip(q.signature, 0) })), code: 'BAD_QUOTE_SIGNATURE' },
      { name: 'quote from another relay id', type: 'Quote', hex: hx(O.QuoteCodec.encode({ ...q, relayId: other })), code: 'BAD_QUOTE_SIGNATURE' },
      { name: 'standing terms price lowered', type: 'StandingTerms', hex: hx(O.StandingTermsCodec.encode({ ...st, baseSats: st.baseSats - 1 })), code: 'BAD_TERMS_SIGNATURE' },
      { name: 'standing terms for another channel', type: 'StandingTerms', hex: hx(O.StandingTermsCodec.encode({ ...st, channelId: flip(st.channelId, 0) })), code: 'BAD_TERMS_SIGNATURE' },
      { name: 'receipt hc changed', type: 'Receipt', hex: hx(O.ReceiptCodec.encode({ ...r, hc: flip(r.hc, 5) })), code: 'BAD_RECEIPT_SIGNATURE' },
      { name: 'receipt messageId not derived from hk', type: 'Receipt', hex: hx(O.ReceiptCodec.encode({ ...r, messageId: flip(r.messageId, 31) })), code: 'MESSAGE_ID_MISMATCH' },
      // Tag answers have no SignatureError code: Ed25519 verification under their relayId is false.
      { name: 'tag answer tags changed', type: 'TagAnswer', hex: hx(O.TagAnswerCodec.encode({ ...ta, tags: [S.tag0] })), verifies: false },
      { name: 'tag answer for another query', type: 'TagAnswer', hex: hx(O.TagAnswerCodec.encode({ ...ta, queryId: flip(ta.queryId, 0) })), verifies: false },
      { name: 'tag answer claimed by another relay id', type: 'TagAnswer', hex: hx(O.TagAnswerCodec.encode({ ...ta, relayId: other })), verifies: false },
    ],
  };
}

export function buildSealing() {
  const c = S.det('sealed body', 100);
  const blob = sealBlob(S.k, c);
  const receipt = (bl: Uint8Array, hc = sha256(c)) => {
    const r = O.signReceipt({ relayId: relayPub, tag: S.mailbox, hblob: sha256(bl), hk: S.hk, hc, expiresAt: 1_750_604_800_000 }, S.relaySecret, ed);
    return hx(O.ReceiptCodec.encode(r));
  };
  const garbage = S.det('garbage', 116);
  const swapped = sealBlob(S.k, S.det('other body', 100));
  return {
    description: 'Relay sealing: blob = ChaCha20-Poly1305(k, 12 zero bytes, aad "satpost/v1/blob", c); fraud-proof judgements.',
    valid: [
      { name: 'empty body', k: hx(S.k), hk: hx(S.hk), c: '', blob: hx(sealBlob(S.k, new Uint8Array(0))) },
      { name: '100-byte body', k: hx(S.k), hk: hx(S.hk), c: hx(c), blob: hx(blob) },
    ],
    invalid: [
      { name: 'wrong key', k: hx(S.det('wrong', 32)), blob: hx(blob), code: 'BLOB_AUTH_FAILED' },
      { name: 'tag flipped', k: hx(S.k), blob: hx(Uint8Array.from(blob, (v, j) => (j === blob.length - 1 ? v ^ 1 : v))), code: 'BLOB_AUTH_FAILED' },
      { name: 'shorter than a tag', k: hx(S.k), blob: hx(blob.subarray(0, 15)), code: 'BLOB_MALFORMED' },
      { name: '31-byte key', k: hx(S.k.subarray(1)), blob: hx(blob), code: 'BAD_KEY' },
    ],
    fraud: [
      { name: 'honest relay', receipt: receipt(blob), k: hx(S.k), blob: hx(blob), code: 'NOT_FRAUD' },
      { name: 'undecryptable blob', receipt: receipt(garbage), k: hx(S.k), blob: hx(garbage), reason: 'BLOB_UNDECRYPTABLE' },
      { name: 'other content', receipt: receipt(swapped), k: hx(S.k), blob: hx(swapped), reason: 'CONTENT_MISMATCH' },
      { name: 'k does not match hk', receipt: receipt(garbage), k: hx(S.det('x', 32)), blob: hx(garbage), code: 'KEY_MISMATCH' },
      { name: 'blob does not match hblob', receipt: receipt(blob), k: hx(S.k), blob: hx(garbage), code: 'BLOB_MISMATCH' },
    ],
  };
}

export const VECTOR_FILES = { 'encoding.json': buildEncoding, 'signatures.json': buildSignatures, 'sealing.json': buildSealing } as const;
