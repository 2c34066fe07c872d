/**
 * Every decoder of untrusted input, as a fuzz target: what it decodes, which typed errors it
 * may refuse with, how its result is written back (a decoder that accepts an input must give
 * the same bytes back: one encoding per value), and the valid encodings mutations start from
 * (test/vectors and test/core/samples.ts, plus a few built here for the wire forms the vectors
 * do not cover).
 */
import { readFileSync } from 'node:fs';
import { parse as parseQuery } from 'node:querystring';
import { bech32m } from '@scure/base';
import * as C from '../src/core/codec.ts';
import { EncodingError, type Codec } from '../src/core/codec.ts';
import { SatpostError } from '../src/core/errors.ts';
import { nobleEd25519 as ed } from '../src/core/ed25519.ts';
import * as O from '../src/core/objects/index.ts';
import { AddressError, decodeAddress, encodeAddress } from '../src/identity/address.ts';
import { ContractError } from '../src/contracts/errors.ts';
import { buildContractScript, parseContractScript } from '../src/contracts/script.ts';
import { ChannelError } from '../src/channels/errors.ts';
import { buildFundingScript, parseFundingScript } from '../src/channels/script.ts';
import * as CM from '../src/channels/messages.ts';
import { ChannelAuthCodec, NO_CHANNEL } from '../src/channels/auth.ts';
import { KYBER_PUBLIC_KEY_LENGTH, PrekeyBundleCodec, type PrekeyBundle } from '../src/core/objects/prekey-bundle.ts';
import { PrekeyPublishCodec } from '../src/core/objects/prekey-publish.ts';
import { encodeChannelMessage } from '../src/channels/index.ts';
import * as P2P from '../src/core/wire/p2p.ts';
import { LookupAnswerCodec, UnsignedLookupAnswerCodec, signLookupAnswer } from '../src/core/wire/lookup-answer.ts';
import { RelayError } from '../src/relay/errors.ts';
import { StoredMessageCodec } from '../src/core/objects/stored-message.ts';
import { OP, frame, parseFrame } from '../src/core/wire/stream.ts';
import { formatListCursor, parseListCursor, parseListLimit } from '../src/core/wire/list-cursor.ts';
import { listPage, unlockJson } from '../src/relay/http.ts';
import { openRequest } from '../src/relay/channels.ts';
import * as S from '../test/core/samples.ts';
import { generate, mutateJson, type Rng } from './mutate.ts';

type ErrorClass = abstract new (...args: never[]) => SatpostError;

export interface Target {
  name: string;
  /** The typed errors a refusal may be. */
  errors: ErrorClass[];
  /**
   * A typed error must not wrap a foreign one: codec.decode turns "anything else" into a
   * BAD_VALUE EncodingError with the original as its cause, and such a cause is a crash the
   * codec hid. Off for the script parsers, whose refusals wrap the Bitcoin library's errors by design.
   */
  typedCauses: boolean;
  /** Valid inputs (text targets: latin1 bytes of the text). */
  seeds: Uint8Array[];
  /** Decodes the input; throws on refusal. */
  decode(input: Uint8Array): unknown;
  /** The bytes `value` encodes to, compared with the input; absent where no encoding exists (JSON, queries). */
  reencode?(value: unknown, input: Uint8Array): Uint8Array;
  /** Makes input number `index` instead of byte mutations of the seeds (structure-aware targets). */
  input?(rng: Rng): Uint8Array;
  /** Inputs that are not the decoder's to refuse (e.g. text that is not JSON, refused by the HTTP layer before it). */
  notApplicable?(input: Uint8Array): boolean;
}

const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const fromLatin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
/** JSON bodies are UTF-8, as Fastify reads them. */
const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

function vectors(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../test/vectors/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

const encoding = vectors('encoding.json') as { valid: { type: string; hex: string }[]; invalid: { type: string; hex: string }[] };
/** The vectors' encodings of one type, valid and invalid (an invalid one is a near-miss worth mutating). */
const vectorSeeds = (type: string): Uint8Array[] =>
  [...encoding.valid, ...encoding.invalid].filter((v) => v.type === type).map((v) => hexBytes(v.hex));

function codecTarget<T>(name: string, c: Codec<T>, seeds: Uint8Array[]): Target {
  return {
    name,
    errors: [EncodingError],
    typedCauses: true,
    seeds,
    decode: (b) => c.decode(b),
    reencode: (v) => c.encode(v as T),
  };
}

const relayPub = ed.publicKey(S.relaySecret);
const quote = O.signQuote(S.sampleUnsignedQuote(relayPub), S.relaySecret, ed);
const { messageId: _m, ...receiptFields } = S.sampleUnsignedReceipt(relayPub);
const receipt = O.signReceipt(receiptFields, S.relaySecret, ed);

/** The codec's building blocks alone, where a bug would hide in every object built from them. */
const primitive = C.struct(
  {
    n: C.varint(2 ** 32, 'n'),
    big: C.u64('big'),
    text: C.string(64, 'text'),
    maybe: C.optional(C.u16('maybe')),
    items: C.list(C.varbytes(40, 'item'), 4, 'items'),
    kind: C.enumU8({ a: 1, b: 7 }, 'kind'),
  },
  'primitives',
);

const coreTargets: Target[] = [
  codecTarget('codec primitives', primitive, [
    primitive.encode({ n: 300, big: 2 ** 53 - 1, text: 'héllo ✓', maybe: 513, items: [new Uint8Array(0), S.det('item', 40)], kind: 'b' }),
    primitive.encode({ n: 0, big: 0, text: '', maybe: undefined, items: [], kind: 'a' }),
  ]),
  codecTarget('Offer', O.OfferCodec, vectorSeeds('Offer')),
  codecTarget('Quote', O.QuoteCodec, [...vectorSeeds('Quote'), O.QuoteCodec.encode(quote)]),
  codecTarget('UnsignedQuote', O.UnsignedQuoteCodec, [O.UnsignedQuoteCodec.encode(S.sampleUnsignedQuote(relayPub))]),
  codecTarget('SealedHeaderPlain', O.SealedHeaderPlainCodec, vectorSeeds('SealedHeaderPlain')),
  codecTarget('Deposit', O.DepositCodec, vectorSeeds('Deposit')),
  codecTarget('PaymentNotice', O.PaymentNoticeCodec, vectorSeeds('PaymentNotice')),
  codecTarget('Receipt', O.ReceiptCodec, vectorSeeds('Receipt')),
  codecTarget('UnsignedReceipt', O.UnsignedReceiptCodec, [O.UnsignedReceiptCodec.encode(S.sampleUnsignedReceipt(relayPub))]),
  codecTarget('MessagePlain', O.MessagePlainCodec, vectorSeeds('MessagePlain')),
  codecTarget('FraudProof', O.FraudProofCodec, vectorSeeds('FraudProof')),
  codecTarget('TagQuery', O.TagQueryCodec, [...vectorSeeds('TagQuery'), O.TagQueryCodec.encode(S.sampleTagQuery())]),
  codecTarget('TagAnswer', O.TagAnswerCodec, [...vectorSeeds('TagAnswer'), O.TagAnswerCodec.encode({ ...S.sampleUnsignedTagAnswer(relayPub), signature: S.det('answer sig', 64) })]),
];

const addressVectors = vectors('address.json') as { valid: { address: string }[]; invalid: { address: string }[] };
const addressSeeds = [...addressVectors.valid, ...addressVectors.invalid].map((v) => fromLatin1(v.address));
/** The payloads of the valid addresses: mutated, then given a valid checksum, they reach the parser. */
const addressPayloads = addressVectors.valid.map((v) => bech32m.fromWords(bech32m.decode(v.address as `${string}1${string}`, false).words));

const addressTargets: Target[] = [
  {
    name: 'address text',
    errors: [AddressError],
    typedCauses: true,
    seeds: addressSeeds,
    decode: (b) => decodeAddress(latin1(b)),
    // Bech32m allows either case, and decodeAddress ignores surrounding white space (a pasted
    // address): the input must be the encoding in its case, with that space around it.
    reencode: (v, input) => {
      const s = latin1(input);
      const core = s.trim();
      const text = encodeAddress(v as Parameters<typeof encodeAddress>[0]);
      return fromLatin1(s.slice(0, s.length - s.trimStart().length) + (core === core.toUpperCase() ? text.toUpperCase() : text) + s.slice(s.trimEnd().length));
    },
  },
  {
    name: 'address payload',
    errors: [AddressError],
    typedCauses: true,
    seeds: addressPayloads,
    decode: (b) => decodeAddress(bech32m.encode('satpost', bech32m.toWords(b), false)),
    reencode: (v) => bech32m.fromWords(bech32m.decode(encodeAddress(v as Parameters<typeof encodeAddress>[0]) as `${string}1${string}`, false).words),
  },
];

const det = S.det;
const offerAnnouncement = P2P.OfferAnnouncementCodec.encode({ offer: S.sampleOffer(), originAddrs: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc', '/ip6/::1/tcp/4001'] });
const queryRequest = P2P.QueryRequestCodec.encode({ kind: 'tags', query: S.sampleTagQuery(), budgetMs: 5000, root: det('root', 32), covered: [det('c1', 32), det('c2', 32)] });
const lookupRequest = (kind: P2P.LookupKind) =>
  P2P.LookupRequestCodec.encode({
    kind, lookupId: det('lookup', 16), target: kind === 'prekeys' ? S.mailbox : new Uint8Array(32), timestamp: 1_750_000_000_000, hopsLeft: 3,
    budgetMs: 3000, root: det('root', 32), covered: [det('c1', 32)],
  });
const queryResponse = P2P.QueryResponseCodec.encode({ status: 'ok', answers: [det('a1', 100), det('a2', 3)] });
const topology = P2P.TopologyAnnouncementCodec.encode({ seq: 1_750_000_000_000, addrs: ['/ip4/10.0.0.1/tcp/4001'], neighbours: [det('n1', 32), det('n2', 32)] });
const sign = (msg: Uint8Array) => ed.sign(S.relaySecret, msg);
const head = { lookupId: det('lookup', 16), relayId: relayPub, url: 'http://127.0.0.1:8080/' };
const prekeysAnswer = signLookupAnswer({ kind: 'prekeys', ...head, target: S.mailbox, prekeys: { oneTimePreKeys: 90, kyberPreKeys: 10 } }, sign);
const terms = {
  name: 'relay ✓', network: 'regtest' as const, acceptedModes: ['sender-pays', 'recipient-pays'] as O.PaymentMode[],
  price: { baseSats: 100, perBlockSats: 2, perDaySats: 10 }, maxMessageBytes: 4_198_400, maxRetentionSecs: 86400,
  confirmations: 1, lockBlocks: 144, claimMarginBlocks: 12, multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
};
const infoAnswer = signLookupAnswer({ kind: 'relay-info', ...head, target: new Uint8Array(32), relay: terms }, sign);
const infoChannelsAnswer = signLookupAnswer(
  {
    kind: 'relay-info', ...head, target: new Uint8Array(32),
    relay: { ...terms, channels: { minCapacitySats: 10_000, maxCapacitySats: 1_000_000, minChannelBlocks: 144, maxChannelBlocks: 4032, minClaimMarginBlocks: 6, confirmations: 1, maxFeeRate: 50 } },
  },
  sign,
);

const p2pTargets: Target[] = [
  codecTarget('p2p OfferAnnouncement', P2P.OfferAnnouncementCodec, [offerAnnouncement]),
  codecTarget('p2p QuoteAck', P2P.QuoteAckCodec, [Uint8Array.of(0), Uint8Array.of(2)]),
  codecTarget('p2p QueryRequest', P2P.QueryRequestCodec, [queryRequest]),
  codecTarget('p2p LookupRequest', P2P.LookupRequestCodec, [lookupRequest('prekeys'), lookupRequest('relay-info')]),
  codecTarget('p2p QueryResponse', P2P.QueryResponseCodec, [queryResponse, P2P.QueryResponseCodec.encode({ status: 'refused', answers: [] })]),
  codecTarget('p2p TopologyAnnouncement', P2P.TopologyAnnouncementCodec, [topology]),
  codecTarget('p2p LookupAnswer', LookupAnswerCodec, [prekeysAnswer, infoAnswer, infoChannelsAnswer]),
  codecTarget('p2p UnsignedLookupAnswer', UnsignedLookupAnswerCodec, [prekeysAnswer, infoAnswer, infoChannelsAnswer].map((a) => a.subarray(0, a.length - 64))),
];

const channelId = 'cd'.repeat(32);
const updateFields = { channelId, n: 7, relayBalance: 25_000, payerBalance: 70_000, payerSig: det('payer sig', 64) };
const channelMessages: CM.ChannelMessage[] = [
  {
    type: 'open',
    message: { payerPubkey: S.payerPubkey33, relayPubkey: S.contractPubkey33, fundingTxid: 'ab'.repeat(32), fundingVout: 1, capacity: 100_000, channelLocktime: 850_144, claimMargin: 12, feeRate: 2 },
  },
  { type: 'add', message: { ...updateFields, htlc: { id: 3, mode: 'sender-pays', hk: S.hk, hr: det('hr', 32), amount: 1500, locktime: 850_000 } } },
  { type: 'add', message: { ...updateFields, htlc: { id: 4, mode: 'recipient-pays', hk: S.hk, amount: 1500, locktime: 850_000 } } },
  { type: 'settle', message: { channelId, htlcId: 3, k: S.k, r: det('r', 32) } },
  { type: 'settle', message: { channelId, htlcId: 4, k: S.k } },
  { type: 'settle-ack', message: { ...updateFields, htlcId: 3 } },
  { type: 'fail', message: { ...updateFields, htlcId: 4 } },
  { type: 'close-request', message: { channelId, n: 8, relayBalance: 26_500, relaySig: det('relay sig', 64) } },
  { type: 'close-signed', message: { channelId, n: 8, payerSig: det('payer close sig', 64) } },
];
const channelSeeds = channelMessages.map(encodeChannelMessage);

/** A bundle of the right shape (the decoder checks shapes, not signatures: verifyBundle does that). */
const prekey = (i: number) => ({ id: i, publicKey: Uint8Array.of(5, ...S.det(`prekey ${i}`, 32)), signature: S.det(`prekey sig ${i}`, 64) });
const kyber = (i: number) => ({ id: i, publicKey: Uint8Array.of(8, ...S.det(`kyber ${i}`, KYBER_PUBLIC_KEY_LENGTH - 1)), signature: S.det(`kyber sig ${i}`, 64) });
const bundle: PrekeyBundle = {
  identityKey: Uint8Array.of(5, ...S.det('identity', 32)), registrationId: 77, deviceId: 1, signedPreKey: prekey(1), lastResortKyber: kyber(1),
  oneTimePreKeys: [prekey(2), prekey(3)], kyberPreKeys: [kyber(2)], publishedAt: 1_764_000_000_000,
};
const introductionTargets: Target[] = [
  codecTarget('PrekeyBundle', PrekeyBundleCodec, [PrekeyBundleCodec.encode(bundle), PrekeyBundleCodec.encode({ ...bundle, oneTimePreKeys: [], kyberPreKeys: [] })]),
  codecTarget('PrekeyPublish', PrekeyPublishCodec, [
    PrekeyPublishCodec.encode({ relayId: relayPub, timestamp: 1_764_000_000_000, nonce: S.det('nonce', 16), bundle, signature: S.det('publish sig', 64) }),
  ]),
];

const channelTargets: Target[] = [
  codecTarget('ChannelAuth', ChannelAuthCodec, [
    ChannelAuthCodec.encode({ payerPubkey: Uint8Array.of(2, ...S.det('payer', 32)), op: 'view', channelId: 'ab'.repeat(32), timestamp: 1_764_000_000_000, nonce: S.det('n', 16), signature: S.det('s', 64) }),
    ChannelAuthCodec.encode({ payerPubkey: Uint8Array.of(3, ...S.det('payer', 32)), op: 'key', channelId: NO_CHANNEL, timestamp: 0, nonce: S.det('m', 16), signature: S.det('t', 64) }),
  ]),
  {
    name: 'channel message',
    errors: [EncodingError],
    typedCauses: true,
    seeds: channelSeeds,
    decode: (b) => CM.decodeChannelMessage(b),
    reencode: (v) => encodeChannelMessage(v as CM.ChannelMessage),
  },
];

const contractVectors = vectors('contracts.json') as { valid: { script: string }[]; invalidScripts: { script: string }[] };
const channelVectors = vectors('channels.json') as { funding: { script: string }; invalidScripts: { script: string }[] };
const scriptTargets: Target[] = [
  {
    name: 'contract script',
    errors: [ContractError],
    typedCauses: false,
    seeds: [...contractVectors.valid, ...contractVectors.invalidScripts].map((v) => hexBytes(v.script)),
    decode: (b) => parseContractScript(b),
    reencode: (v) => buildContractScript(v as Parameters<typeof buildContractScript>[0]),
  },
  {
    name: 'channel funding script',
    errors: [ChannelError],
    typedCauses: false,
    seeds: [channelVectors.funding, ...channelVectors.invalidScripts].map((v) => hexBytes(v.script)),
    decode: (b) => parseFundingScript(b),
    reencode: (v) => buildFundingScript(v as Parameters<typeof buildFundingScript>[0]),
  },
];

/** The payload decoder of each stream op (src/relay/ws.ts dispatch); undefined: the payload is taken as it is. */
function streamPayload(op: number, payload: Uint8Array): { decoded: unknown; encode: (v: unknown) => Uint8Array } | undefined {
  const via = <T>(c: Codec<T>) => ({ decoded: c.decode(payload), encode: (v: unknown) => c.encode(v as T) });
  switch (op) {
    case OP.quote: return via(O.OfferCodec);
    case OP.deposit: return via(O.DepositCodec);
    // Tags, 32 bytes each: taken as they are.
    case OP.subscribe: return undefined;
    case OP.unlock: return payload.length === 32 || payload.length === 64 ? undefined : via(O.PaymentNoticeCodec);
    case OP.channelUpdate: return { decoded: CM.decodeChannelMessage(payload), encode: (v) => encodeChannelMessage(v as CM.ChannelMessage) };
    default: return undefined;
  }
}

const openJson = { open: Buffer.from(channelSeeds[0]!).toString('hex'), funding: Buffer.from(det('funding tx', 120)).toString('hex'), keyIndex: 3 };

const storedMessage = StoredMessageCodec.encode({ quote, receipt, sealedHeader: det('sealed header', 300), blob: det('blob', 200) });
const relayTargets: Target[] = [
  codecTarget('relay StoredMessage', StoredMessageCodec, [storedMessage]),
  {
    name: 'relay stream frame',
    errors: [EncodingError],
    typedCauses: true,
    seeds: [
      frame(1, OP.quote, O.OfferCodec.encode(S.sampleOffer())),
      frame(2, OP.deposit, vectorSeeds('Deposit')[0]!),
      frame(3, OP.challenge, S.mailbox),
      frame(4, OP.subscribe, new Uint8Array([...S.tag0, ...S.tag1])),
      frame(5, OP.unlock, vectorSeeds('PaymentNotice')[0]!),
      frame(6, OP.unlock, det('id and r', 64)),
      frame(7, OP.channelUpdate, channelSeeds[1]!),
      frame(8, OP.channelWatch, det('channel id', 32)),
    ].map((b) => new Uint8Array(b)),
    decode: (b) => {
      const f = parseFrame(b);
      // Too short for a header: the stream closes with 1003, a refusal of its own kind.
      if (f === undefined) throw new EncodingError('TRUNCATED', 'frame shorter than its 5-byte header');
      return { f, payload: streamPayload(f.code, f.payload) };
    },
    reencode: (v) => {
      const { f, payload } = v as { f: { id: number; code: number; payload: Uint8Array }; payload: ReturnType<typeof streamPayload> };
      return new Uint8Array(frame(f.id, f.code, payload ? payload.encode(payload.decoded) : f.payload));
    },
  },
  {
    name: 'relay list cursor',
    errors: [RelayError],
    typedCauses: true,
    seeds: [fromLatin1(formatListCursor({ createdAt: 1_750_000_000_000, id: det('message id', 32) })), fromLatin1(`0.${'0'.repeat(64)}`)],
    decode: (b) => parseListCursor(latin1(b)),
    reencode: (v) => fromLatin1(formatListCursor(v as Parameters<typeof formatListCursor>[0])),
  },
  {
    name: 'relay list limit',
    errors: [RelayError],
    typedCauses: true,
    seeds: ['1', '50', '1000', '999'].map(fromLatin1),
    decode: (b) => parseListLimit(latin1(b)),
    reencode: (v) => fromLatin1(String(v)),
  },
  {
    name: 'relay list query',
    errors: [RelayError],
    typedCauses: true,
    seeds: [`after=${formatListCursor({ createdAt: 5, id: det('message id', 32) })}&limit=20`, 'limit=1', 'after=0.' + 'f'.repeat(64)].map(fromLatin1),
    // Fastify parses the query string first; what reaches listPage is its object.
    decode: (b) => listPage(parseQuery(latin1(b))),
  },
  {
    name: 'relay unlock JSON',
    errors: [RelayError],
    typedCauses: true,
    seeds: [JSON.stringify({ id: 'ab'.repeat(32) }), JSON.stringify({ id: 'ab'.repeat(32), r: 'cd'.repeat(32) })].map(fromLatin1),
    input: (rng) => jsonInput(rng, [{ id: 'ab'.repeat(32) }, { id: 'ab'.repeat(32), r: 'cd'.repeat(32) }]),
    notApplicable: (b) => !isJson(utf8(b)),
    decode: (b) => unlockJson(JSON.parse(utf8(b))),
  },
  {
    name: 'relay channel open JSON',
    errors: [RelayError],
    typedCauses: true,
    seeds: [JSON.stringify(openJson)].map(fromLatin1),
    input: (rng) => jsonInput(rng, [openJson, { ...openJson, open: Buffer.from(generate(rng, channelSeeds)).toString('hex') }]),
    notApplicable: (b) => !isJson(utf8(b)),
    decode: (b) => openRequest(JSON.parse(utf8(b))),
  },
];

/** Mostly structural mutations (they reach the field checks); some byte mutations of the text. */
function jsonInput(rng: Rng, seeds: unknown[]): Uint8Array {
  if (rng.chance(0.25)) return generate(rng, seeds.map((v) => fromLatin1(JSON.stringify(v))));
  return Uint8Array.from(Buffer.from(mutateJson(rng, rng.pick(seeds)), 'utf8'));
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

export const TARGETS: readonly Target[] = [...coreTargets, ...addressTargets, ...introductionTargets, ...p2pTargets, ...channelTargets, ...scriptTargets, ...relayTargets];

/** What each target's decode is given as a valid input, by name (the HTTP pass mutates these too). */
export const SEEDS = { offer: O.OfferCodec.encode(S.sampleOffer()), channelMessages: channelSeeds, storedMessage };
