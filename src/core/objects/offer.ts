/** Offer (0x01): Alice asks the relay network to store a message. */
import { struct, tagged, u32, type Codec } from '../codec.ts';
import { hash32, id16, millis, mode, sats, type PaymentMode } from './fields.ts';

export const OFFER_TAG = 0x01;

export interface Offer {
  offerId: Uint8Array;
  /** Mailbox id M (32 bytes). */
  mailbox: Uint8Array;
  mode: PaymentMode;
  /** Size of the body c in bytes. */
  size: number;
  /** Highest fee the sender accepts, sats. */
  maxFee: number;
  retentionSecs: number;
  /** ms since the epoch. */
  createdAt: number;
}

export const OfferCodec: Codec<Offer> = tagged(
  OFFER_TAG,
  struct(
    {
      offerId: id16('offerId'),
      mailbox: hash32('mailbox'),
      mode: mode(),
      size: u32('size'),
      maxFee: sats('maxFee'),
      retentionSecs: u32('retentionSecs'),
      createdAt: millis('createdAt'),
    },
    'Offer',
  ),
);
