/**
 * Messages between payer and relay on a channel, in the canonical encoding of
 * src/core/codec.ts (tag u8 | version u8 | fields). Decoding checks the shape only
 * (EncodingError); whether a message fits the channel's state is state.ts's job.
 *
 * Signatures are 64-byte compact ECDSA (r || s, low-S): one spelling per signature, so a
 * message has exactly one encoding; the witness gets their DER form.
 */
import { hex } from '@scure/base';
import { bytes, codec, optional, struct, tagged, u16, u32, u64, type Codec } from '../core/codec.ts';
import { EncodingError } from '../core/codec.ts';
import { expected } from '../core/errors.ts';
import { hash32, mode, sats, secpPubkey, sig64, type PaymentMode } from '../core/objects/fields.ts';

export const CHANNEL_OPEN_TAG = 0x30;
export const ADD_HTLC_TAG = 0x31;
export const SETTLE_HTLC_TAG = 0x32;
export const SETTLE_ACK_TAG = 0x33;
export const FAIL_HTLC_TAG = 0x34;
export const CLOSE_REQUEST_TAG = 0x35;
export const CLOSE_SIGNED_TAG = 0x36;

/** 32 bytes on the wire, lowercase hex in memory (txids in display order, channel ids). */
export const hex32 = (what: string): Codec<string> => {
  const inner = bytes(32, what);
  return codec(
    what,
    (w, v) => {
      if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new EncodingError('BAD_VALUE', expected(what, '64 lowercase hex characters', v));
      inner.write(w, hex.decode(v));
    },
    (r) => hex.encode(inner.read(r)),
  );
};

export interface ChannelOpen {
  payerPubkey: Uint8Array;
  relayPubkey: Uint8Array;
  fundingTxid: string;
  fundingVout: number;
  capacity: number;
  channelLocktime: number;
  claimMargin: number;
  /** sat/vB, an integer. */
  feeRate: number;
}

export interface HtlcTerms {
  id: number;
  mode: PaymentMode;
  hk: Uint8Array;
  hr?: Uint8Array;
  amount: number;
  locktime: number;
}

/** Fields every signed update carries: the state it creates and the balances it declares. */
interface Update {
  channelId: string;
  /** The new state number: exactly the current one plus one. */
  n: number;
  /** The relay's balance in commitment n. */
  relayBalance: number;
  /** capacity − relay − in flight: the payer's side before the commitment fee. */
  payerBalance: number;
  /** The payer's signature of commitment n. */
  payerSig: Uint8Array;
}

export interface AddHtlc extends Update { htlc: HtlcTerms }
export interface SettleHtlc { channelId: string; htlcId: number; k: Uint8Array; r?: Uint8Array }
export interface SettleAck extends Update { htlcId: number }
export interface FailHtlc extends Update { htlcId: number }
export interface CloseRequest { channelId: string; n: number; relayBalance: number; relaySig: Uint8Array }
export interface CloseSigned { channelId: string; n: number; payerSig: Uint8Array }

const htlcTerms = struct({
  id: u64('htlc.id'),
  mode: mode(),
  hk: hash32('htlc.hk'),
  hr: optional(hash32('htlc.hr')),
  amount: sats('htlc.amount'),
  locktime: u32('htlc.locktime'),
}, 'HtlcTerms') as Codec<HtlcTerms>;

const update = {
  channelId: hex32('channelId'),
  n: u64('n'),
  relayBalance: sats('relayBalance'),
  payerBalance: sats('payerBalance'),
};

export const ChannelOpenCodec: Codec<ChannelOpen> = tagged(CHANNEL_OPEN_TAG, struct({
  payerPubkey: secpPubkey('payerPubkey'),
  relayPubkey: secpPubkey('relayPubkey'),
  fundingTxid: hex32('fundingTxid'),
  fundingVout: u32('fundingVout'),
  capacity: sats('capacity'),
  channelLocktime: u32('channelLocktime'),
  claimMargin: u16('claimMargin'),
  feeRate: u32('feeRate'),
}, 'ChannelOpen'));

export const AddHtlcCodec: Codec<AddHtlc> = tagged(ADD_HTLC_TAG, struct({ ...update, htlc: htlcTerms, payerSig: sig64('payerSig') }, 'AddHtlc'));

export const SettleHtlcCodec: Codec<SettleHtlc> = tagged(SETTLE_HTLC_TAG, struct({
  channelId: hex32('channelId'),
  htlcId: u64('htlcId'),
  k: hash32('k'),
  r: optional(hash32('r')),
}, 'SettleHtlc') as Codec<SettleHtlc>);

export const SettleAckCodec: Codec<SettleAck> = tagged(SETTLE_ACK_TAG, struct({ ...update, htlcId: u64('htlcId'), payerSig: sig64('payerSig') }, 'SettleAck'));

export const FailHtlcCodec: Codec<FailHtlc> = tagged(FAIL_HTLC_TAG, struct({ ...update, htlcId: u64('htlcId'), payerSig: sig64('payerSig') }, 'FailHtlc'));

export const CloseRequestCodec: Codec<CloseRequest> = tagged(CLOSE_REQUEST_TAG, struct({
  channelId: hex32('channelId'),
  n: u64('n'),
  relayBalance: sats('relayBalance'),
  relaySig: sig64('relaySig'),
}, 'CloseRequest'));

export const CloseSignedCodec: Codec<CloseSigned> = tagged(CLOSE_SIGNED_TAG, struct({
  channelId: hex32('channelId'),
  n: u64('n'),
  payerSig: sig64('payerSig'),
}, 'CloseSigned'));

export type ChannelMessage =
  | { type: 'open'; message: ChannelOpen }
  | { type: 'add'; message: AddHtlc }
  | { type: 'settle'; message: SettleHtlc }
  | { type: 'settle-ack'; message: SettleAck }
  | { type: 'fail'; message: FailHtlc }
  | { type: 'close-request'; message: CloseRequest }
  | { type: 'close-signed'; message: CloseSigned };

/** Decodes any channel message by its tag; an unknown tag is BAD_TAG. */
export function decodeChannelMessage(b: Uint8Array): ChannelMessage {
  switch (b[0]) {
    case CHANNEL_OPEN_TAG: return { type: 'open', message: ChannelOpenCodec.decode(b) };
    case ADD_HTLC_TAG: return { type: 'add', message: AddHtlcCodec.decode(b) };
    case SETTLE_HTLC_TAG: return { type: 'settle', message: SettleHtlcCodec.decode(b) };
    case SETTLE_ACK_TAG: return { type: 'settle-ack', message: SettleAckCodec.decode(b) };
    case FAIL_HTLC_TAG: return { type: 'fail', message: FailHtlcCodec.decode(b) };
    case CLOSE_REQUEST_TAG: return { type: 'close-request', message: CloseRequestCodec.decode(b) };
    case CLOSE_SIGNED_TAG: return { type: 'close-signed', message: CloseSignedCodec.decode(b) };
    default:
      if (b.length === 0) throw new EncodingError('TRUNCATED', expected('channel message tag', '1 more bytes', 0));
      throw new EncodingError('BAD_TAG', expected('channel message tag', '0x30..0x36', `0x${b[0]!.toString(16).padStart(2, '0')}`));
  }
}

/** Canonical bytes of any channel message (the form logged and sent on the wire). */
export function encodeChannelMessage(m: ChannelMessage): Uint8Array {
  switch (m.type) {
    case 'open': return ChannelOpenCodec.encode(m.message);
    case 'add': return AddHtlcCodec.encode(m.message);
    case 'settle': return SettleHtlcCodec.encode(m.message);
    case 'settle-ack': return SettleAckCodec.encode(m.message);
    case 'fail': return FailHtlcCodec.encode(m.message);
    case 'close-request': return CloseRequestCodec.encode(m.message);
    case 'close-signed': return CloseSignedCodec.encode(m.message);
  }
}
