/**
 * Fraud proofs. A relay signs a receipt (hblob, hk, hc) when it stores a message. If,
 * once k is known, the stored blob does not open under k, or opens to something whose
 * hash is not hc, then receipt + k + blob prove the relay cheated; anyone can check it
 * without trusting the accuser.
 *
 * A proof is valid iff: the receipt signature verifies under receipt.relayId,
 * H(k) == receipt.hk, H(blob) == receipt.hblob, and (blob fails to decrypt under k, or
 * H(plaintext) != receipt.hc).
 */
import { nobleAead, type Aead } from './aead.ts';
import { openBlob, BlobError } from './blob.ts';
import { nobleEd25519, type Ed25519 } from './ed25519.ts';
import { SatpostError } from './errors.ts';
import { H, bytesEqual } from './hash.ts';
import type { FraudProof } from './objects/fraud-proof.ts';
import { verifyReceiptSignature, type Receipt } from './objects/receipt.ts';

/** Why a proof holds. */
export type FraudReason = 'BLOB_UNDECRYPTABLE' | 'CONTENT_MISMATCH';

/** Why a proof is refused (it proves nothing against the relay). */
export type FraudErrorCode =
  | 'NOT_FRAUD' | 'BAD_RECEIPT_SIGNATURE' | 'KEY_MISMATCH' | 'BLOB_MISMATCH'
  /** A proof file (./fraud-file.ts) that does not parse. */
  | 'MALFORMED_PROOF'
  /** A proof file whose quote is not the accused relay's signed quote for the same message. */
  | 'QUOTE_MISMATCH';
export class FraudError extends SatpostError<FraudErrorCode> {}

export interface FraudDeps {
  ed25519?: Ed25519;
  aead?: Aead;
}

/**
 * Judges (receipt, k, blob). Returns the reason when the relay is proven to have cheated;
 * throws FraudError with the refusal otherwise.
 */
export function judgeFraud(receipt: Receipt, k: Uint8Array, blob: Uint8Array, deps: FraudDeps = {}): FraudReason {
  const ed = deps.ed25519 ?? nobleEd25519;
  if (!verifyReceiptSignature(receipt, ed)) {
    throw new FraudError('BAD_RECEIPT_SIGNATURE', 'the receipt is not signed by its relayId');
  }
  if (k.length !== 32 || !bytesEqual(H(k), receipt.hk)) {
    throw new FraudError('KEY_MISMATCH', 'H(k) differs from the receipt\'s hk');
  }
  if (!bytesEqual(H(blob), receipt.hblob)) {
    throw new FraudError('BLOB_MISMATCH', 'H(blob) differs from the receipt\'s hblob');
  }
  let c: Uint8Array;
  try {
    c = openBlob(k, blob, deps.aead ?? nobleAead);
  } catch (e) {
    if (BlobError.is(e)) return 'BLOB_UNDECRYPTABLE';
    throw e;
  }
  if (!bytesEqual(H(c), receipt.hc)) return 'CONTENT_MISMATCH';
  throw new FraudError('NOT_FRAUD', 'the blob opens under k to content matching the receipt\'s hc');
}

/** A proof iff the relay lied; otherwise throws FraudError naming why there is no proof. */
export function makeFraudProof(receipt: Receipt, blob: Uint8Array, k: Uint8Array, deps: FraudDeps = {}): FraudProof {
  judgeFraud(receipt, k, blob, deps);
  return { receipt, k, blob };
}

export function verifyFraudProof(proof: FraudProof, ed25519: Ed25519 = nobleEd25519, aead: Aead = nobleAead): FraudReason {
  return judgeFraud(proof.receipt, proof.k, proof.blob, { ed25519, aead });
}
