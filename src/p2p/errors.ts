import { SatpostError } from '../core/errors.ts';

export type P2pErrorCode =
  /** A node was configured with bad parameters (secret length, multiaddr). */
  | 'BAD_CONFIG'
  /** A message from a peer did not decode or broke a protocol rule. */
  | 'BAD_MESSAGE'
  /** A message or stream exceeded its size limit. */
  | 'TOO_LARGE'
  /** A tag query's answerKey is not a Curve25519 public key. */
  | 'BAD_KEY'
  /** A query or offer timestamp outside the accepted window. */
  | 'STALE'
  /** A query id this relay has already handled. */
  | 'DUPLICATE'
  /** A peer did not answer in time, went away, or refused. */
  | 'PEER_FAILED'
  /** The component is not started (or already stopped). */
  | 'NOT_STARTED';

export class P2pError extends SatpostError<P2pErrorCode> {}
