/** StoredMessage (0x0b): what a fetch returns (docs/protocol.md, "Relay"). */
import { struct, tagged, varbytes, type Codec } from '../codec.ts';
import { MAX_BLOB, MAX_SEALED_HEADER } from '../limits.ts';
import { QuoteCodec, type Quote } from './quote.ts';
import { ReceiptCodec, type Receipt } from './receipt.ts';

export const STORED_MESSAGE_TAG = 0x0b;

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
      sealedHeader: varbytes(MAX_SEALED_HEADER, 'sealedHeader'),
      blob: varbytes(MAX_BLOB, 'blob'),
    },
    'StoredMessage',
  ),
);
