import { SatpostError } from '../core/errors.ts';

/**
 * Why a stored message was refused when Carol opened it. Identity-key changes surface as
 * IdentityError('IDENTITY_KEY_CHANGED') from src/identity, not here.
 */
export type EnvelopeErrorCode =
  | 'BAD_INPUT'
  | 'HEADER_UNREADABLE'
  | 'HEADER_MISMATCH'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_SENDER_AUTH'
  | 'BODY_HASH_MISMATCH'
  | 'BODY_UNDECRYPTABLE'
  | 'DUPLICATE_MESSAGE'
  | 'SENDER_MISMATCH'
  | 'MESSAGE_MALFORMED';

export class EnvelopeError extends SatpostError<EnvelopeErrorCode> {}
