/**
 * StandingTerms (0x12): a relay's signed terms for one payment channel (docs/protocol.md
 * "Standing terms"). A relay that holds an open channel with a payer signs, for that channel
 * and payer key, the prices it charges per message (base + per 16 KiB of size class + per day
 * of retention, rounded up: the same formula as its information document) and the longest
 * retention it offers, valid until a time (validUntil, ms) and a block height (validUntilHeight:
 * the terms do not hold from that height on). A send over the channel asks that relay alone for
 * its quote and takes it only if its amount is at most standingPrice(terms, size, retention):
 * no offer to the network. The relay's node key signs "satpost/v1/standing-terms" || the
 * encoding without the signature (last, 64 bytes). Pure: no clock, no I/O.
 */
import { string, struct, tagged, u32, type Codec } from '../codec.ts';
import type { Ed25519 } from '../ed25519.ts';
import { domainBytes } from '../hash.ts';
import { MAX_RELAY_URL } from '../limits.ts';
import type { NetworkName } from '../network.ts';
import { hash32, millis, network, relayId, sats, secpPubkey, sig64 } from './fields.ts';
import { SignatureError } from './signature-error.ts';
import { TEXT_SIZE_CLASS, sizeClassFor } from './sealed-body.ts';

export const STANDING_TERMS_TAG = 0x12;

export interface UnsignedStandingTerms {
  /** Ed25519 public key of the relay's node key (its quotes' relayId). */
  relayId: Uint8Array;
  relayUrl: string;
  network: NetworkName;
  /** The channel these terms are for (its id, 32 bytes). */
  channelId: Uint8Array;
  /** The channel's payer key: only its holder asked for them. */
  payerPubkey: Uint8Array;
  baseSats: number;
  /** Per 16 KiB of the message's size class (16 KiB: 1, 32 KiB: 2, ...). */
  perBlockSats: number;
  /** Per day of retention, rounded up. */
  perDaySats: number;
  maxRetentionSecs: number;
  issuedAt: number;
  /** ms since the epoch: the terms hold before this. */
  validUntil: number;
  /** Block height: the terms hold while the tip is below it. */
  validUntilHeight: number;
}

export interface StandingTerms extends UnsignedStandingTerms {
  signature: Uint8Array;
}

const fields = {
  relayId: relayId(),
  relayUrl: string(MAX_RELAY_URL, 'relayUrl'),
  network: network(),
  channelId: hash32('channelId'),
  payerPubkey: secpPubkey('payerPubkey'),
  baseSats: sats('baseSats'),
  perBlockSats: sats('perBlockSats'),
  perDaySats: sats('perDaySats'),
  maxRetentionSecs: u32('maxRetentionSecs'),
  issuedAt: millis('issuedAt'),
  validUntil: millis('validUntil'),
  validUntilHeight: u32('validUntilHeight'),
};

export const UnsignedStandingTermsCodec: Codec<UnsignedStandingTerms> = tagged(STANDING_TERMS_TAG, struct(fields, 'StandingTerms'));
export const StandingTermsCodec: Codec<StandingTerms> = tagged(STANDING_TERMS_TAG, struct({ ...fields, signature: sig64() }, 'StandingTerms'));

export function standingTermsSigningBytes(t: UnsignedStandingTerms): Uint8Array {
  return domainBytes('standing-terms', UnsignedStandingTermsCodec.encode(t));
}

export function signStandingTerms(t: UnsignedStandingTerms, relaySecret32: Uint8Array, ed: Ed25519): StandingTerms {
  return { ...t, signature: ed.sign(relaySecret32, standingTermsSigningBytes(t)) };
}

export function verifyStandingTerms(t: StandingTerms, ed: Ed25519): boolean {
  return ed.verify(t.relayId, standingTermsSigningBytes(t), t.signature);
}

/** Throws SignatureError BAD_TERMS_SIGNATURE unless verifyStandingTerms holds. */
export function assertStandingTermsSigned(t: StandingTerms, ed: Ed25519): void {
  if (!verifyStandingTerms(t, ed)) throw new SignatureError('BAD_TERMS_SIGNATURE', 'standing terms signature does not verify under their relayId');
}

/**
 * The most a message of `size` bytes kept `retentionSecs` may cost under the terms: base +
 * perBlock x (its size class / 16 KiB) + perDay x ceil(retention / 86400). A size that is not a
 * class is priced as the class it falls in.
 */
export function standingPrice(t: Pick<UnsignedStandingTerms, 'baseSats' | 'perBlockSats' | 'perDaySats'>, size: number, retentionSecs: number): number {
  const blocks = Math.ceil((sizeClassFor(size) ?? size) / TEXT_SIZE_CLASS);
  return t.baseSats + t.perBlockSats * blocks + t.perDaySats * Math.ceil(retentionSecs / 86_400);
}

/** True while the terms hold at `now` (ms) and chain tip `tip`. */
export function standingTermsCurrent(t: UnsignedStandingTerms, now: number, tip: number): boolean {
  return now < t.validUntil && tip < t.validUntilHeight;
}
