/** Offer (0x01): Alice asks the relay network to store a message. */
import { struct, tagged, u32, type Codec } from '../codec.ts';
import { hash32, id16, millis, mode, sats, type PaymentMode } from './fields.ts';

export const OFFER_TAG = 0x01;

export interface Offer {
  offerId: Uint8Array;
  /** Mailbox id M (32 bytes). */
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  mode: PaymentMode;
  /** Size class of the sealed body c in bytes (src/core/objects/sealed-body.ts), not its content's length. */
  size: number;
  /** Highest fee the sender accepts, sats. */
  maxFee: number;
  retentionSecs: number;
  /** ms since the epoch, a whole minute (coarseOfferTime). */
  createdAt: number;
}

/**
 * Resolution of an offer's createdAt. Every relay sees every offer: a millisecond timestamp
 * would tie an offer to the sender's clock and to the deposit that follows it; a whole minute
 * is shared by every offer made in it, and still lets relays drop stale offers (the gossip
 * validator allows for the rounding).
 */
export const OFFER_TIME_STEP_MS = 60_000;

/** now rounded down to the minute. */
export function coarseOfferTime(now: number): number {
  return Math.floor(now / OFFER_TIME_STEP_MS) * OFFER_TIME_STEP_MS;
}

export const OfferCodec: Codec<Offer> = tagged(
  OFFER_TAG,
  struct(
    {
      offerId: id16('offerId'),
      tag: hash32('tag'),
      mode: mode(),
      size: u32('size'),
      maxFee: sats('maxFee'),
      retentionSecs: u32('retentionSecs'),
      createdAt: millis('createdAt'),
    },
    'Offer',
  ),
);
