/**
 * Why the demo stopped. Each code names the protocol check that failed, so a non-zero exit
 * of `npm run demo` says which promise of the system was broken, not just that something threw.
 */
import { SatpostError } from '../core/errors.ts';

export type DemoErrorCode =
  /** A relay answer (quote, receipt, listing) failed the client's checks. */
  | 'BAD_RELAY_ANSWER'
  /** A deposit or payment names something the relay never quoted or stored. */
  | 'UNKNOWN_MESSAGE'
  /** The funding output is missing, pays another script, or another amount. */
  | 'FUNDING_MISMATCH'
  /** The funding has fewer confirmations than the relay's policy asks. */
  | 'FUNDING_UNCONFIRMED'
  /** The body is larger than the quote covers. */
  | 'TOO_LARGE'
  /** A mailbox proof (challenge signature) did not verify. */
  | 'NOT_MAILBOX_OWNER'
  /** The relay's claim deadline T - claim_margin has passed. */
  | 'TOO_LATE'
  /** No confirmed claim of the contract is on chain (yet). */
  | 'NO_CLAIM'
  /** The sats paid and earned do not add up. */
  | 'ACCOUNTING_MISMATCH';

export class DemoError extends SatpostError<DemoErrorCode> {}
