/**
 * Why the demo stopped. Each code names the promise of the system that was broken, so a
 * non-zero exit of `npm run demo` says what failed, not just that something threw. Errors of
 * the parts themselves (ClientError, RelayError, ChainError, ...) pass through unchanged.
 */
import { SatpostError } from '../core/errors.ts';

export type DemoErrorCode =
  /** The three relays did not connect, exchange topology and form the gossip mesh in time. */
  | 'NETWORK_NOT_FORMED'
  /** The system did something other than what the story states (another relay chosen, a message missing, ...). */
  | 'STORY_MISMATCH'
  /** No claim of a contract is on chain, or it does not publish this message's k. */
  | 'NO_CLAIM'
  /** The sats paid and earned do not add up. */
  | 'ACCOUNTING_MISMATCH'
  /** An option of runDemo (or its environment variable) is out of range. */
  | 'BAD_OPTION';

export class DemoError extends SatpostError<DemoErrorCode> {}
