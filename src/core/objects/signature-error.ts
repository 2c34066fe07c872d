/** Refusals of signed objects, for callers that prefer a typed error to a boolean. */
import { SatpostError } from '../errors.ts';

export type SignatureErrorCode = 'BAD_QUOTE_SIGNATURE' | 'BAD_RECEIPT_SIGNATURE' | 'BAD_TERMS_SIGNATURE' | 'MESSAGE_ID_MISMATCH';
export class SignatureError extends SatpostError<SignatureErrorCode> {}
