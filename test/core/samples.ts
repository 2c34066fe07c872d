// Deterministic sample values shared by the core tests and the vector builder.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Offer, Quote, UnsignedQuote, UnsignedStandingTerms, SealedHeaderPlain, Deposit, UnsignedReceipt, TagQuery, TagAnswer, ConversationTags, PaymentNotice, PrekeyBundle } from '../../src/core/objects/index.ts';
import { KYBER_PUBLIC_KEY_LENGTH, mailboxIdOf, messageIdOf, tagOfSecret, tagSecret } from '../../src/core/objects/index.ts';
import type { LookupRequest, OfferAnnouncement, QueryRequest, TopologyAnnouncement } from '../../src/core/wire/p2p.ts';
import type { RelayTerms } from '../../src/core/wire/lookup-answer.ts';
import { channelIdOf, commitment, cooperativeCloseTx, signDigest, type AddHtlc, type ChannelOpen, type CloseRequest, type CloseSigned, type FailHtlc, type SettleAck, type SettleHtlc } from '../../src/channels/index.ts';
import { VECTOR_HTLCS, VECTOR_PARAMS, VECTOR_RELAY_BALANCE } from '../channels/vectors.ts';
import * as ch from '../contracts/helpers.ts';

/** n bytes derived from a label (repeatable, no randomness). */
export function det(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = sha256(new TextEncoder().encode(`${label}/${block}`));
    out.set(h.subarray(0, Math.min(32, n - i)), i);
    i += 32;
  }
  return out;
}

export const relaySecret = det('relay node key', 32);
export const identityKey33 = Uint8Array.of(5, ...det('carol identity', 32));
export const senderKey33 = Uint8Array.of(5, ...det('alice identity', 32));
export const contractPubkey33 = Uint8Array.of(2, ...det('relay contract key', 32));
export const payerPubkey33 = Uint8Array.of(3, ...det('alice contract key', 32));
export const mailbox = mailboxIdOf(identityKey33);
export const k = det('message key', 32);
export const hk = sha256(k);

export function sampleOffer(): Offer {
  return { offerId: det('offer', 16), tag: mailbox, mode: 'sender-pays', size: 1100, maxFee: 2500, retentionSecs: 7 * 86400, createdAt: 1_750_000_000_000 };
}

export function sampleUnsignedQuote(relayId: Uint8Array): UnsignedQuote {
  return {
    quoteId: det('quote', 16),
    offerId: det('offer', 16),
    relayId,
    relayUrl: 'http://127.0.0.1:8080',
    network: 'regtest',
    tag: mailbox,
    mode: 'sender-pays',
    size: 1100,
    hk,
    contractPubkey: contractPubkey33,
    amount: 1500,
    locktime: 250,
    expiresAt: 1_750_604_800_000,
    validUntil: 1_750_000_060_000,
  };
}

export function sampleUnsignedStandingTerms(relayId: Uint8Array): UnsignedStandingTerms {
  return {
    relayId, relayUrl: 'http://127.0.0.1:8080', network: 'regtest', channelId: det('channel id', 32), payerPubkey: payerPubkey33,
    baseSats: 500, perBlockSats: 32, perDaySats: 10, maxRetentionSecs: 86_400, issuedAt: 1_750_000_000_000, validUntil: 1_750_003_600_000, validUntilHeight: 1_100,
  };
}

export function sampleQuote(relayId: Uint8Array): Quote {
  return { ...sampleUnsignedQuote(relayId), signature: det('not a signature', 64) };
}

export function sampleHeader(): SealedHeaderPlain {
  return {
    senderIdentityKey: senderKey33,
    hc: det('hc', 32),
    hk,
    relayId: det('relay id', 32),
    tag: mailbox,
    timestamp: 1_750_000_001_000,
    mode: 'sender-pays',
    r: det('receipt secret r', 32),
    senderAuth: det('sender auth', 32),
  };
}

export function sampleDeposit(): Deposit {
  return {
    quoteId: det('quote', 16),
    tag: mailbox,
    sealedHeader: det('sealed header', 300),
    body: det('body', 1100),
    hr: sha256(det('receipt secret r', 32)),
    payerPubkey: payerPubkey33,
    funding: { txid: 'ab'.repeat(32), vout: 1 },
  };
}

export function samplePaymentNotice(): PaymentNotice {
  return { messageId: messageIdOf(hk), payerPubkey: Uint8Array.of(2, ...det('carol contract key', 32)), funding: { txid: 'cd'.repeat(32), vout: 0 } };
}

export function sampleUnsignedReceipt(relayId: Uint8Array): UnsignedReceipt {
  return { messageId: messageIdOf(hk), relayId, tag: mailbox, hblob: det('hblob', 32), hk, hc: det('hc', 32), expiresAt: 1_750_604_800_000 };
}

/** A conversation seed (the recipient's choice) and the tags of its first indices. */
export const tagSeed = det('tag seed', 32);
export const tag0 = tagOfSecret(tagSecret(tagSeed, 0));
export const tag1 = tagOfSecret(tagSecret(tagSeed, 1));

export function sampleTagQuery(): TagQuery {
  return { queryId: det('query', 16), answerKey: Uint8Array.of(5, ...det('answer key', 32)), tags: [tag0, tag1], timestamp: 1_750_000_020_000, hopLimit: 4, hopsLeft: 3 };
}

export function sampleUnsignedTagAnswer(relayId: Uint8Array): Omit<TagAnswer, 'signature'> {
  return { queryId: det('query', 16), relayId, url: 'http://127.0.0.1:8080', tags: [tag1] };
}

export function sampleConversationTags(): ConversationTags {
  return { replySeed: det('reply seed', 32), seq: 3, ack: 2 };
}

/**
 * A prekey bundle with one one-time EC and one one-time Kyber prekey. The signatures are
 * placeholders (XEdDSA signing is randomized); the bytes they cover are in signatures.json.
 */
export function samplePrekeyBundle(): PrekeyBundle {
  const ec = (label: string, id: number) => ({ id, publicKey: Uint8Array.of(5, ...det(`${label} public`, 32)), signature: det(`${label} signature`, 64) });
  const kyber = (label: string, id: number) => ({ id, publicKey: Uint8Array.of(8, ...det(`${label} public`, KYBER_PUBLIC_KEY_LENGTH - 1)), signature: det(`${label} signature`, 64) });
  return {
    identityKey: identityKey33,
    registrationId: 4242,
    deviceId: 1,
    signedPreKey: ec('signed prekey', 7),
    lastResortKyber: kyber('last resort kyber', 8),
    oneTimePreKeys: [ec('one-time prekey 100', 100)],
    kyberPreKeys: [kyber('kyber prekey 200', 200)],
    publishedAt: 1_750_000_000_000,
  };
}

export const sampleMultiaddr = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSatpostSampleRelayPeerIdxxxxxxxxxxxxxxxxxxxx';

export function sampleOfferAnnouncement(): OfferAnnouncement {
  return { offer: sampleOffer(), originAddrs: [sampleMultiaddr, '/ip6/::1/tcp/4001'] };
}

export function sampleQueryRequest(): QueryRequest {
  return { kind: 'tags', query: sampleTagQuery(), budgetMs: 3000, root: det('root relay', 32), covered: [det('covered 1', 32), det('covered 2', 32)] };
}

export function sampleLookupRequest(): LookupRequest {
  return { kind: 'prekeys', lookupId: det('lookup', 16), target: mailbox, timestamp: 1_750_000_030_000, hopsLeft: 3, budgetMs: 2500, root: det('root relay', 32), covered: [det('covered 1', 32)] };
}

export function sampleTopologyAnnouncement(): TopologyAnnouncement {
  return { seq: 1_750_000_040_000, addrs: [sampleMultiaddr], neighbours: [det('neighbour a', 32), det('neighbour b', 32)].sort(Buffer.compare) };
}

export function sampleRelayTerms(): RelayTerms {
  return {
    name: 'sample relay',
    network: 'regtest',
    acceptedModes: ['sender-pays', 'recipient-pays'],
    price: { baseSats: 500, perBlockSats: 1, perDaySats: 10 },
    maxMessageBytes: 65_536,
    maxRetentionSecs: 30 * 86400,
    confirmations: 1,
    lockBlocks: 144,
    claimMarginBlocks: 12,
    channels: { minCapacitySats: 100_000, maxCapacitySats: 10_000_000, minChannelBlocks: 1008, maxChannelBlocks: 52_560, minClaimMarginBlocks: 6, confirmations: 3, maxFeeRate: 50 },
    multiaddrs: [sampleMultiaddr],
  };
}

/** Channel messages on the channel of test/vectors/channels.json (RFC 6979 signatures: deterministic). */
export const channelId = channelIdOf(VECTOR_PARAMS.fundingOutpoint);
const [htlc0] = VECTOR_HTLCS as [typeof VECTOR_HTLCS[0]];
const inFlight0 = htlc0.amount;

export function sampleChannelMessages() {
  const p = VECTOR_PARAMS;
  const open: ChannelOpen = {
    payerPubkey: p.payerPubkey, relayPubkey: p.relayPubkey, fundingTxid: p.fundingOutpoint.txid, fundingVout: p.fundingOutpoint.vout,
    capacity: p.capacity, channelLocktime: p.channelLocktime, claimMargin: p.claimMargin, feeRate: p.feeRate,
  };
  const add: AddHtlc = {
    channelId, n: 1, relayBalance: VECTOR_RELAY_BALANCE, payerBalance: p.capacity - VECTOR_RELAY_BALANCE - inFlight0,
    htlc: { id: htlc0.id, mode: htlc0.mode, hk: htlc0.hk, hr: htlc0.hr, amount: htlc0.amount, locktime: htlc0.locktime },
    payerSig: signDigest(ch.PAYER, commitment(p, VECTOR_RELAY_BALANCE, [htlc0]).digest),
  };
  const settle: SettleHtlc = { channelId, htlcId: 0, k: ch.secret('vector k0'), r: ch.secret('vector r0') };
  const settleRecipientPays: SettleHtlc = { channelId, htlcId: 1, k: ch.secret('vector k1'), r: undefined };
  const settled = VECTOR_RELAY_BALANCE + htlc0.amount;
  const settleAck: SettleAck = { channelId, n: 2, relayBalance: settled, payerBalance: p.capacity - settled, htlcId: 0, payerSig: signDigest(ch.PAYER, commitment(p, settled, []).digest) };
  const fail: FailHtlc = { channelId, n: 2, relayBalance: VECTOR_RELAY_BALANCE, payerBalance: p.capacity - VECTOR_RELAY_BALANCE, htlcId: 0, payerSig: signDigest(ch.PAYER, commitment(p, VECTOR_RELAY_BALANCE, []).digest) };
  const close = cooperativeCloseTx(p, settled).digest;
  const closeRequest: CloseRequest = { channelId, n: 3, relayBalance: settled, relaySig: signDigest(ch.RELAY, close) };
  const closeSigned: CloseSigned = { channelId, n: 3, payerSig: signDigest(ch.PAYER, close) };
  return { open, add, settle, settleRecipientPays, settleAck, fail, closeRequest, closeSigned };
}

export const channelPayer = { privkey: ch.PAYER, pubkey: ch.pub(ch.PAYER) };
