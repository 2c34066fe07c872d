// Deterministic sample values shared by the core tests and the vector builder.
import { sha256 } from '@noble/hashes/sha2.js';
import type { Offer, Quote, UnsignedQuote, UnsignedStandingTerms, SealedHeaderPlain, Deposit, UnsignedReceipt, TagQuery, TagAnswer, ConversationTags, PaymentNotice } from '../../src/core/objects/index.ts';
import { mailboxIdOf, messageIdOf, tagOfSecret, tagSecret } from '../../src/core/objects/index.ts';

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
  return { offerId: det('offer', 16), mailbox, mode: 'sender-pays', size: 1100, maxFee: 2500, retentionSecs: 7 * 86400, createdAt: 1_750_000_000_000 };
}

export function sampleUnsignedQuote(relayId: Uint8Array): UnsignedQuote {
  return {
    quoteId: det('quote', 16),
    offerId: det('offer', 16),
    relayId,
    relayUrl: 'http://127.0.0.1:8080',
    network: 'regtest',
    mailbox,
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
    mailbox,
    timestamp: 1_750_000_001_000,
    mode: 'sender-pays',
    r: det('receipt secret r', 32),
    senderAuth: det('sender auth', 32),
  };
}

export function sampleDeposit(): Deposit {
  return {
    quoteId: det('quote', 16),
    mailbox,
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
  return { messageId: messageIdOf(hk), relayId, mailbox, hblob: det('hblob', 32), hk, hc: det('hc', 32), expiresAt: 1_750_604_800_000 };
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
