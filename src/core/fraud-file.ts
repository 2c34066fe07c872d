/**
 * The fraud-proof file (docs/protocol.md "Fraud proofs", file format): what a client saves
 * when a relay is caught, for anyone to check without trusting the accuser. JSON, so that it
 * survives mail and chat:
 *
 *   { "type": "satpost-fraud-proof", "version": 1,
 *     "proof": hex of the FraudProof (0x07) encoding,
 *     "quote": hex of the relay's Quote (0x02) for the same message (optional) }
 *
 * Only `proof` proves the fraud. The quote, signed by the same relay and naming the same hk,
 * adds what the relay asked to be paid (amount, mode) and the URL it announced; when present
 * it must be that relay's quote for that message, or the file is refused.
 */
import { hex } from '@scure/base';
import { EncodingError } from './codec.ts';
import { nobleEd25519 } from './ed25519.ts';
import { FraudError, judgeFraud, type FraudDeps, type FraudReason } from './fraud.ts';
import { bytesEqual } from './hash.ts';
import { FraudProofCodec, QuoteCodec, verifyQuote, type FraudProof, type PaymentMode, type Quote } from './objects/index.ts';

export const FRAUD_PROOF_FILE_TYPE = 'satpost-fraud-proof';
export const FRAUD_PROOF_FILE_VERSION = 1;

export interface FraudProofFile {
  proof: FraudProof;
  quote?: Quote;
}

/** What a valid proof file proves. */
export interface FraudVerdict {
  reason: FraudReason;
  /** The relay's node key (hex): the key that signed the receipt. */
  relayId: string;
  /** The message id of the receipt (hex). */
  messageId: string;
  /** From the relay's quote, when the file has one. */
  amount?: number;
  mode?: PaymentMode;
  relayUrl?: string;
}

export function encodeFraudProofFile(f: FraudProofFile): string {
  const doc = {
    type: FRAUD_PROOF_FILE_TYPE,
    version: FRAUD_PROOF_FILE_VERSION,
    proof: hex.encode(FraudProofCodec.encode(f.proof)),
    ...(f.quote ? { quote: hex.encode(QuoteCodec.encode(f.quote)) } : {}),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Parses a proof file; throws FraudError MALFORMED_PROOF for anything that is not one. */
export function parseFraudProofFile(text: string): FraudProofFile {
  const malformed = (why: string, cause?: unknown) => new FraudError('MALFORMED_PROOF', `not a satpost fraud-proof file: ${why}`, cause === undefined ? undefined : { cause });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw malformed('it is not JSON', cause);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed('expected a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.type !== FRAUD_PROOF_FILE_TYPE) throw malformed(`"type" expected "${FRAUD_PROOF_FILE_TYPE}"`);
  if (d.version !== FRAUD_PROOF_FILE_VERSION) throw malformed(`"version" expected ${FRAUD_PROOF_FILE_VERSION}`);
  const decode = <T>(field: string, codec: { decode(b: Uint8Array): T }): T => {
    const v = d[field];
    if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/.test(v)) throw malformed(`"${field}" expected lowercase hex`);
    try {
      return codec.decode(hex.decode(v));
    } catch (cause) {
      if (cause instanceof EncodingError) throw malformed(`"${field}": ${cause.message}`, cause);
      throw cause;
    }
  };
  const proof = decode('proof', FraudProofCodec);
  return d.quote === undefined ? { proof } : { proof, quote: decode('quote', QuoteCodec) };
}

/**
 * Checks a parsed proof file: the proof (src/core/fraud.ts) and, when present, that the quote
 * is the same relay's signed quote for the same k. Throws FraudError naming the refusal.
 */
export function verifyFraudProofFile(f: FraudProofFile, deps: FraudDeps = {}): FraudVerdict {
  const r = f.proof.receipt;
  const reason = judgeFraud(r, f.proof.k, f.proof.blob, deps);
  const verdict: FraudVerdict = { reason, relayId: hex.encode(r.relayId), messageId: hex.encode(r.messageId) };
  const q = f.quote;
  if (!q) return verdict;
  if (!verifyQuote(q, deps.ed25519 ?? nobleEd25519) || !bytesEqual(q.relayId, r.relayId) || !bytesEqual(q.hk, r.hk) || !bytesEqual(q.tag, r.tag)) {
    throw new FraudError('QUOTE_MISMATCH', "the file's quote is not the relay's signed quote for this message");
  }
  return { ...verdict, amount: q.amount, mode: q.mode, relayUrl: q.relayUrl };
}
