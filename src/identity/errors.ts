/**
 * Errors of the identity domain (keys, trust, prekeys) and of Signal sessions. Callers
 * branch on `code`; messages name the contact and never contain key material.
 */
import { SatpostError } from '../core/errors.ts';

export type IdentityErrorCode =
  | 'IDENTITY_EXISTS'
  | 'NO_IDENTITY'
  | 'WRONG_PASSPHRASE'
  | 'CORRUPT_IDENTITY'
  | 'IDENTITY_KEY_CHANGED'
  | 'NO_UNTRUSTED_KEY'
  | 'BUNDLE_BAD_SIGNATURE'
  | 'BUNDLE_MALFORMED'
  | 'BUNDLE_MAILBOX_MISMATCH'
  | 'BUNDLE_EXHAUSTED'
  | 'PREKEY_NOT_FOUND'
  | 'KYBER_PREKEY_REUSED'
  /** A group commit of the Signal stores did not reach the database (disk error, busy, worker died). */
  | 'COMMIT_FAILED';

/** What IDENTITY_KEY_CHANGED carries so a UI can show the safety-number change. */
export interface IdentityChangeInfo {
  contact: string;
  /** Fingerprint of the key trusted so far. */
  trustedFingerprint: string;
  /** Fingerprint of the new, untrusted key. */
  newFingerprint: string;
}

export class IdentityError extends SatpostError<IdentityErrorCode> {
  /** Set for IDENTITY_KEY_CHANGED. */
  change?: IdentityChangeInfo;
}

export type SessionErrorCode =
  | 'NO_SESSION'
  | 'DUPLICATE_MESSAGE'
  | 'BAD_MESSAGE'
  | 'UNDECRYPTABLE'
  | 'ENCRYPT_FAILED';

export class SessionError extends SatpostError<SessionErrorCode> {}
