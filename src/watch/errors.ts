/**
 * The one error class of the contract watcher and the persisted contract book. Codes are
 * stable strings; the relay maps FUNDING_MISMATCH / PREIMAGE_MISMATCH to client refusals.
 */
import { SatpostError } from '../core/errors.ts';

export type WatchErrorCode =
  /** The funding output on chain is not the contract's script or amount. */
  | 'FUNDING_MISMATCH'
  /** The funding transaction is neither in the chain nor in the mempool. */
  | 'FUNDING_NOT_FOUND'
  /** A preimage (k or r) does not hash to the contract's H(k) / H(r). */
  | 'PREIMAGE_MISMATCH'
  /** The wallet's contract key at keyIndex is not the key the contract names. */
  | 'WRONG_KEY'
  /** Terms given next to a script differ from the terms the script encodes. */
  | 'TERMS_MISMATCH'
  /** The operation applies to sender-pays contracts only (a receipt r). */
  | 'NOT_SENDER_PAYS'
  | 'UNKNOWN_CONTRACT'
  | 'DUPLICATE_CONTRACT'
  /** No channel with this id in the party's channel book. */
  | 'UNKNOWN_CHANNEL'
  /** A channel with this id (or this funding script) is already in the book. */
  | 'DUPLICATE_CHANNEL'
  /** The contract is not in a state that allows the operation. */
  | 'BAD_STATE'
  | 'BAD_INPUT'
  /** The watcher or its book was stopped/closed. */
  | 'CLOSED';

export class WatchError extends SatpostError<WatchErrorCode> {}
