/**
 * The one error class of the payment-channel domain. Every refused update raises one of
 * these and leaves the caller's state value untouched (the state functions never mutate).
 */
import { SatpostError } from '../core/errors.ts';

export type ChannelErrorCode =
  /** Bytes are not exactly the channel funding template. */
  | 'NOT_A_CHANNEL'
  /** Channel parameters (keys, capacity, locktime, margin, fee rate, outpoint) are malformed. */
  | 'BAD_PARAMS'
  /** A funding transaction does not pay the channel script the capacity at the outpoint. */
  | 'FUNDING_MISMATCH'
  /** An update arrived for a channel whose funding is not confirmed yet. */
  | 'FUNDING_UNCONFIRMED'
  /** An update names another channel. */
  | 'WRONG_CHANNEL'
  /** A private key does not belong to the side of the channel it is used for. */
  | 'WRONG_KEY'
  /** The update's state number is not exactly the current one plus one. */
  | 'STATE_NUMBER_MISMATCH'
  /** The proposed commitment pays the relay less than the current one. */
  | 'RELAY_BALANCE_DECREASED'
  /** Declared balances do not add up to the capacity, or differ from what the update implies. */
  | 'AMOUNTS_MISMATCH'
  /** A signature is malformed or does not verify over the commitment (or close) it covers. */
  | 'BAD_SIGNATURE'
  /** An HTLC's T_i is not below T_ch − claim_margin. */
  | 'HTLC_EXPIRY_TOO_LATE'
  /** An HTLC's T_i leaves the relay no block to claim it (T_i ≤ tip + claim_margin). */
  | 'HTLC_EXPIRY_TOO_SOON'
  /** An HTLC's terms are malformed (mode, hashes). */
  | 'BAD_HTLC'
  /** An HTLC amount is below the P2WSH dust threshold. */
  | 'DUST_HTLC'
  /** An HTLC id or H(k) is already in flight, or the id is not the next one. */
  | 'DUPLICATE_HTLC'
  /** No HTLC with this id is in flight. */
  | 'UNKNOWN_HTLC'
  /** A preimage does not hash to the HTLC's H(k) / H(r), or is missing. */
  | 'PREIMAGE_MISMATCH'
  /** The commitment would carry more in-flight outputs than MAX_IN_FLIGHT. */
  | 'TOO_MANY_IN_FLIGHT'
  /** The payer's side cannot cover the HTLC plus the commitment fee. */
  | 'INSUFFICIENT_CAPACITY'
  /** A fail before T_i − claim_margin (the relay may still claim). */
  | 'FAIL_TOO_EARLY'
  /** A fail of an output whose k the relay has revealed: it can only be settled (the relay force-closes). */
  | 'HTLC_REVEALED'
  /** A cooperative close while outputs are still in flight. */
  | 'IN_FLIGHT_NOT_EMPTY'
  /** A unilateral close at state 0: the payer has signed no commitment yet. */
  | 'NO_COMMITMENT'
  /** A transaction handed in could not be decoded or is not what it claims to be. */
  | 'BAD_TX';

export class ChannelError extends SatpostError<ChannelErrorCode> {}
