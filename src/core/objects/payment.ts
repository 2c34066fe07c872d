/**
 * PaymentNotice (0x0c): recipient-pays. Carol funded HTLC(H(k)) with the quote's terms
 * (relay key = the quote's contract key, her key as the refund key, T and amount from the
 * quote) and tells the relay where. The relay re-derives the script from its own quote and
 * this payerPubkey and checks the output on chain; nothing else in the notice is trusted.
 */
import { struct, tagged, type Codec } from '../codec.ts';
import { OutpointCodec, type Outpoint } from './deposit.ts';
import { hash32, secpPubkey } from './fields.ts';

export const PAYMENT_NOTICE_TAG = 0x0c;

export interface PaymentNotice {
  /** The message paid for: H("satpost/v1/msgid" || hk). */
  messageId: Uint8Array;
  /** Carol's 33-byte contract key (the contract's refund key). */
  payerPubkey: Uint8Array;
  funding: Outpoint;
}

export const PaymentNoticeCodec: Codec<PaymentNotice> = tagged(
  PAYMENT_NOTICE_TAG,
  struct({ messageId: hash32('messageId'), payerPubkey: secpPubkey('payerPubkey'), funding: OutpointCodec }, 'PaymentNotice'),
);
