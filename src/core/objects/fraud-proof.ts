/** FraudProof (0x07): a signed receipt, the key k and the blob that betray a relay. Checked by src/core/fraud.ts. */
import { bytes, struct, tagged, varbytes, type Codec } from '../codec.ts';
import { MAX_BLOB } from '../limits.ts';
import { ReceiptCodec, type Receipt } from './receipt.ts';

export const FRAUD_PROOF_TAG = 0x07;

export interface FraudProof {
  /** The relay's receipt, embedded as its full encoding (tag and version included). */
  receipt: Receipt;
  k: Uint8Array;
  blob: Uint8Array;
}

export const FraudProofCodec: Codec<FraudProof> = tagged(
  FRAUD_PROOF_TAG,
  struct({ receipt: ReceiptCodec, k: bytes(32, 'k'), blob: varbytes(MAX_BLOB, 'blob') }, 'FraudProof'),
);
