/** StoredMessage (0x0b): what a fetch returns (docs/protocol.md, "Relay"). */
import { OBJECT_VERSION, Writer, struct, tagged, varbytes, type Codec } from '../codec.ts';
import { MAX_BLOB, MAX_SEALED_HEADER } from '../limits.ts';
import { QuoteCodec, type Quote } from './quote.ts';
import { ReceiptCodec, type Receipt } from './receipt.ts';

export const STORED_MESSAGE_TAG = 0x0b;

const sealedHeaderField = varbytes(MAX_SEALED_HEADER, 'sealedHeader');
const blobField = varbytes(MAX_BLOB, 'blob');

/** What a fetch returns: the signed quote (contract terms), the receipt, the sealed header and the blob. */
export interface StoredMessage {
  quote: Quote;
  receipt: Receipt;
  sealedHeader: Uint8Array;
  blob: Uint8Array;
}

export const StoredMessageCodec: Codec<StoredMessage> = tagged(
  STORED_MESSAGE_TAG,
  struct(
    {
      quote: QuoteCodec,
      receipt: ReceiptCodec,
      sealedHeader: sealedHeaderField,
      blob: blobField,
    },
    'StoredMessage',
  ),
);

/**
 * StoredMessageCodec.encode of a message whose quote and receipt are at hand as their
 * canonical encodings (as a relay stores them): the same bytes, without decoding both only to
 * encode them again (a relay answers every fetch with this).
 */
export function encodeStoredMessage(parts: { quote: Uint8Array; receipt: Uint8Array; sealedHeader: Uint8Array; blob: Uint8Array }): Uint8Array {
  const w = new Writer(parts.quote.length + parts.receipt.length + parts.sealedHeader.length + parts.blob.length + 16);
  w.byte(STORED_MESSAGE_TAG);
  w.byte(OBJECT_VERSION);
  w.bytes(parts.quote);
  w.bytes(parts.receipt);
  sealedHeaderField.write(w, parts.sealedHeader);
  blobField.write(w, parts.blob);
  return w.finish();
}
