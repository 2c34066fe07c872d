/**
 * The one error class of the contracts domain. Codes are stable strings: callers (relay
 * policy, client, watcher) branch on them, and the relay maps them to client-safe refusals.
 */
import { SatpostError } from '../core/errors.ts';

export type ContractErrorCode =
  /** Bytes are not exactly one of the two contract templates (re-derivation failed). */
  | 'NOT_A_CONTRACT'
  /** A hash (H(k), H(r)) or preimage (k, r) is not 32 bytes. */
  | 'BAD_HASH'
  /** A public key is not a valid compressed secp256k1 point. */
  | 'BAD_PUBKEY'
  /** A private key is not a valid secp256k1 scalar. */
  | 'BAD_PRIVKEY'
  /** The private key given does not match the key the contract names for this spend path. */
  | 'WRONG_KEY'
  /** Locktime is not a block height (integer in 0..499,999,999) or the margins are malformed. */
  | 'BAD_LOCKTIME'
  /** Locktime is in the past or leaves less room than the safety margins. */
  | 'LOCKTIME_TOO_CLOSE'
  /** Locktime is further ahead than the payer accepts (default two weeks = 2016 blocks). */
  | 'LOCKTIME_TOO_FAR'
  /** An output (contract, change or sweep) would be below its dust threshold. */
  | 'DUST'
  /** An amount or fee rate is not a positive safe integer / positive finite number. */
  | 'BAD_AMOUNT'
  /** A funding input or destination script is not of a supported form. */
  | 'BAD_SCRIPT'
  /** A preimage does not hash to the hash it must open, or is missing. */
  | 'PREIMAGE_MISMATCH'
  /** The coins offered do not cover the contracts plus the fee. */
  | 'INSUFFICIENT_FUNDS'
  /** A transaction could not be decoded or is not what the caller claims it is. */
  | 'BAD_TX'
  /** A state-machine event that is not allowed in the current state. */
  | 'BAD_TRANSITION';

export class ContractError extends SatpostError<ContractErrorCode> {}
