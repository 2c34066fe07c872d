/**
 * Quote (0x02): a relay's signed answer to an offer. The relay's node key signs
 * "satpost/v1/quote" || the quote's encoding without the signature field (which is last,
 * so that encoding is exactly the full encoding minus its final 64 bytes).
 */
import { string, struct, tagged, u32, type Codec } from '../codec.ts';
import type { Ed25519 } from '../ed25519.ts';
import { SignatureError } from './signature-error.ts';
import { domainBytes } from '../hash.ts';
import { MAX_RELAY_URL } from '../limits.ts';
import type { NetworkName } from '../network.ts';
import { hash32, id16, millis, mode, network, relayId, sats, secpPubkey, sig64, type PaymentMode } from './fields.ts';

export const QUOTE_TAG = 0x02;

export interface UnsignedQuote {
  quoteId: Uint8Array;
  offerId: Uint8Array;
  /** Ed25519 public key of the relay's node key. */
  relayId: Uint8Array;
  relayUrl: string;
  network: NetworkName;
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  mode: PaymentMode;
  size: number;
  /** H(k): SHA-256 of the one-time message key. */
  hk: Uint8Array;
  /** The relay's secp256k1 contract key (claim branch). */
  contractPubkey: Uint8Array;
  amount: number;
  /** Contract locktime T, a block height. */
  locktime: number;
  /** End of retention, ms since the epoch. */
  expiresAt: number;
  /** The quote must be accepted (deposited) before this, ms since the epoch. */
  validUntil: number;
}

export interface Quote extends UnsignedQuote {
  signature: Uint8Array;
}

const fields = {
  quoteId: id16('quoteId'),
  offerId: id16('offerId'),
  relayId: relayId(),
  relayUrl: string(MAX_RELAY_URL, 'relayUrl'),
  network: network(),
  tag: hash32('tag'),
  mode: mode(),
  size: u32('size'),
  hk: hash32('hk'),
  contractPubkey: secpPubkey('contractPubkey'),
  amount: sats('amount'),
  locktime: u32('locktime'),
  expiresAt: millis('expiresAt'),
  validUntil: millis('validUntil'),
};

export const UnsignedQuoteCodec: Codec<UnsignedQuote> = tagged(QUOTE_TAG, struct(fields, 'Quote'));
export const QuoteCodec: Codec<Quote> = tagged(QUOTE_TAG, struct({ ...fields, signature: sig64() }, 'Quote'));

export function quoteSigningBytes(q: UnsignedQuote): Uint8Array {
  return domainBytes('quote', UnsignedQuoteCodec.encode(q));
}

export function signQuote(q: UnsignedQuote, relaySecret32: Uint8Array, ed: Ed25519): Quote {
  return { ...q, signature: ed.sign(relaySecret32, quoteSigningBytes(q)) };
}

/** True iff the signature is the relayId key's over this exact quote. */
export function verifyQuote(q: Quote, ed: Ed25519): boolean {
  return ed.verify(q.relayId, quoteSigningBytes(q), q.signature);
}


/** Throws SignatureError BAD_QUOTE_SIGNATURE unless verifyQuote holds. */
export function assertQuoteSigned(q: Quote, ed: Ed25519): void {
  if (!verifyQuote(q, ed)) throw new SignatureError('BAD_QUOTE_SIGNATURE', 'quote signature does not verify under its relayId');
}
