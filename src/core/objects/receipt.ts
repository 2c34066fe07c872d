/**
 * Receipt (0x05): the relay's signed statement of what it stores. With k, the blob and
 * this receipt anyone can check the relay (src/core/fraud.ts). The node key signs
 * "satpost/v1/receipt" || the encoding without the (last) signature field.
 */
import { struct, tagged, type Codec } from '../codec.ts';
import type { Ed25519 } from '../ed25519.ts';
import { SignatureError } from './signature-error.ts';
import { bytesEqual, domainBytes, taggedHash } from '../hash.ts';
import { hash32, millis, relayId, sig64 } from './fields.ts';

export const RECEIPT_TAG = 0x05;

export interface UnsignedReceipt {
  /** H("satpost/v1/msgid" || hk). */
  messageId: Uint8Array;
  relayId: Uint8Array;
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  /** H(blob): the stored, relay-sealed bytes. */
  hblob: Uint8Array;
  /** H(k). */
  hk: Uint8Array;
  /** H(c): the body as deposited. */
  hc: Uint8Array;
  /** End of retention, ms since the epoch. */
  expiresAt: number;
}

export interface Receipt extends UnsignedReceipt {
  signature: Uint8Array;
}

const fields = {
  messageId: hash32('messageId'),
  relayId: relayId(),
  tag: hash32('tag'),
  hblob: hash32('hblob'),
  hk: hash32('hk'),
  hc: hash32('hc'),
  expiresAt: millis('expiresAt'),
};

export const UnsignedReceiptCodec: Codec<UnsignedReceipt> = tagged(RECEIPT_TAG, struct(fields, 'Receipt'));
export const ReceiptCodec: Codec<Receipt> = tagged(RECEIPT_TAG, struct({ ...fields, signature: sig64() }, 'Receipt'));

/** The message id the relay and the recipient use: H("satpost/v1/msgid" || hk). */
export function messageIdOf(hk: Uint8Array): Uint8Array {
  return taggedHash('msgid', hk);
}

export function receiptSigningBytes(r: UnsignedReceipt): Uint8Array {
  return domainBytes('receipt', UnsignedReceiptCodec.encode(r));
}

/** Signs a receipt; messageId is derived from hk, never taken from the caller. */
export function signReceipt(r: Omit<UnsignedReceipt, 'messageId'>, relaySecret32: Uint8Array, ed: Ed25519): Receipt {
  const unsigned: UnsignedReceipt = {
    messageId: messageIdOf(r.hk),
    relayId: r.relayId,
    tag: r.tag,
    hblob: r.hblob,
    hk: r.hk,
    hc: r.hc,
    expiresAt: r.expiresAt,
  };
  return { ...unsigned, signature: ed.sign(relaySecret32, receiptSigningBytes(unsigned)) };
}

/** True iff the signature is relayId's over this receipt AND messageId == H(msgid || hk). */
export function verifyReceipt(r: Receipt, ed: Ed25519): boolean {
  return bytesEqual(r.messageId, messageIdOf(r.hk)) && verifyReceiptSignature(r, ed);
}

export function verifyReceiptSignature(r: Receipt, ed: Ed25519): boolean {
  return ed.verify(r.relayId, receiptSigningBytes(r), r.signature);
}

/** Throws SignatureError (MESSAGE_ID_MISMATCH, BAD_RECEIPT_SIGNATURE) unless verifyReceipt holds. */
export function assertReceiptSigned(r: Receipt, ed: Ed25519): void {
  if (!bytesEqual(r.messageId, messageIdOf(r.hk))) throw new SignatureError('MESSAGE_ID_MISMATCH', 'receipt messageId is not H("satpost/v1/msgid" || hk)');
  if (!verifyReceiptSignature(r, ed)) throw new SignatureError('BAD_RECEIPT_SIGNATURE', 'receipt signature does not verify under its relayId');
}
