/**
 * Errors of the client SDK. Lower layers' errors that a user can act on are translated
 * here (a wrong passphrase, a mistyped address); the original stays in `cause`.
 */
import { SatpostError } from '../core/errors.ts';
import type { IdentityChangeInfo } from '../identity/errors.ts';

export type ClientErrorCode =
  /** The data directory holds no satpost client (run init). */
  | 'NOT_INITIALIZED'
  /** init on a directory that already holds a client. */
  | 'ALREADY_INITIALIZED'
  /** An init was interrupted before it finished; running init again completes it. */
  | 'INIT_INCOMPLETE'
  /** The directory holds satpost files but not a usable set (e.g. config.json missing). */
  | 'BAD_DATA_DIR'
  | 'BAD_CONFIG'
  | 'WRONG_PASSPHRASE'
  | 'EMPTY_PASSPHRASE'
  | 'NETWORK_MISMATCH'
  | 'BAD_RELAY_URL'
  | 'BAD_CHAIN_URL'
  /** A satpost address did not decode; `reason` carries the AddressError code. */
  | 'INVALID_ADDRESS'
  | 'INVALID_NAME'
  | 'CONTACT_EXISTS'
  | 'UNKNOWN_CONTACT'
  /** A contact's identity key changed and has not been accepted with trustContact. */
  | 'CONTACT_KEY_CHANGED'
  /** trustContact on a contact whose key did not change. */
  | 'NO_KEY_CHANGE'
  | 'CLIENT_CLOSED';

export class ClientError extends SatpostError<ClientErrorCode> {
  /** INVALID_ADDRESS: the AddressError code (e.g. BAD_CHECKSUM), or OWN_ADDRESS. */
  reason?: string;
  /** CONTACT_KEY_CHANGED: the fingerprints to compare with the contact. */
  change?: IdentityChangeInfo;

  override toJSON(): { name: string; code: ClientErrorCode; message: string; reason?: string; change?: IdentityChangeInfo } {
    return {
      ...super.toJSON(),
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      ...(this.change !== undefined ? { change: this.change } : {}),
    };
  }
}
