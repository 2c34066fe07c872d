/**
 * Deposit (0x04): what Alice hands the relay: the sealed header (opaque to the relay),
 * the body c, and for sender-pays H(r) and the payer's contract key (both needed for the
 * contract script: she is its refund key) and, once she funded it, the funding outpoint
 * (optional: a sender-pays deposit may come before the funding). The txid is carried in
 * display (RPC) byte order, as everywhere at satpost's boundaries; in memory it is
 * lowercase hex.
 */
import { hex } from '@scure/base';
import { bytes, codec, optional, struct, tagged, u32, varbytes, type Codec } from '../codec.ts';
import { EncodingError, type Reader, type Writer } from '../codec.ts';
import { expected } from '../errors.ts';
import { MAX_BODY, MAX_SEALED_HEADER } from '../limits.ts';
import { hash32, id16, secpPubkey } from './fields.ts';

export const DEPOSIT_TAG = 0x04;

export interface Outpoint {
  /** 64 lowercase hex characters, display order. */
  txid: string;
  vout: number;
}

export interface Deposit {
  quoteId: Uint8Array;
  /** The message's tag (docs/protocol.md \"Tags\"). */
  tag: Uint8Array;
  sealedHeader: Uint8Array;
  body: Uint8Array;
  /** H(r), sender-pays only. */
  hr: Uint8Array | undefined;
  /** The payer's 33-byte contract key (the refund key), sender-pays only. */
  payerPubkey?: Uint8Array | undefined;
  funding: Outpoint | undefined;
}

const TXID_HEX = /^[0-9a-f]{64}$/;
const raw32 = bytes(32, 'txid');

/** A txid as 32 bytes in display order on the wire, lowercase hex in memory. */
export const txid = (): Codec<string> =>
  codec(
    'txid',
    (w: Writer, v: string) => {
      if (typeof v !== 'string' || !TXID_HEX.test(v)) throw new EncodingError('BAD_VALUE', expected('txid', '64 lowercase hex characters', v));
      raw32.write(w, hex.decode(v));
    },
    (r: Reader) => hex.encode(raw32.read(r)),
  );

export const OutpointCodec: Codec<Outpoint> = struct({ txid: txid(), vout: u32('vout') }, 'Outpoint');

export const DepositCodec: Codec<Deposit> = tagged(
  DEPOSIT_TAG,
  struct(
    {
      quoteId: id16('quoteId'),
      tag: hash32('tag'),
      sealedHeader: varbytes(MAX_SEALED_HEADER, 'sealedHeader'),
      body: varbytes(MAX_BODY, 'body'),
      hr: optional(hash32('hr')),
      payerPubkey: optional(secpPubkey('payerPubkey')),
      funding: optional(OutpointCodec, 'funding'),
    },
    'Deposit',
  ),
);
