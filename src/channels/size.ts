/**
 * Sizes of channel transactions before signing, and the in-flight cap.
 *
 * Budgets follow src/contracts/size.ts: every signature counts 73 bytes (72-byte DER + the
 * sighash byte), so an estimate never falls below the signed size and fees are never short.
 */
import { estimateClaimVsize } from '../contracts/claim.ts';
import { MAX_SIG_BYTES, segwitVsize } from '../contracts/size.ts';
import { varIntSize } from '../contracts/validate.ts';

const pushed = (n: number) => varIntSize(n) + n;

/** Witness of the 2-of-2 path: count, <>, sig_payer, sig_relay, 01, script. */
export function multisigWitnessBytes(scriptLength: number): number {
  return varIntSize(5) + pushed(0) + 2 * pushed(MAX_SIG_BYTES) + pushed(1) + pushed(scriptLength);
}

/** Witness of the payer's exit path: count, sig_payer, <>, script. */
export function exitWitnessBytes(scriptLength: number): number {
  return varIntSize(3) + pushed(MAX_SIG_BYTES) + pushed(0) + pushed(scriptLength);
}

/** vsize of a transaction spending the funding through the 2-of-2 path to these outputs. */
export function multisigSpendVsize(fundingScriptLength: number, outputScriptLengths: readonly number[]): number {
  return segwitVsize([multisigWitnessBytes(fundingScriptLength)], outputScriptLengths);
}

export function exitVsize(fundingScriptLength: number, destScriptLength: number): number {
  return segwitVsize([exitWitnessBytes(fundingScriptLength)], [destScriptLength]);
}

/** Bitcoin Core's MAX_STANDARD_TX_WEIGHT: heavier transactions are not relayed. */
export const STANDARD_TX_WEIGHT = 400_000;
/** Lightning's max_accepted_htlcs (BOLT 2), chosen for the same reason. */
export const LIGHTNING_MAX_HTLCS = 483;

/** Largest scripts a channel can contain (T pushed in 5 bytes, the most a height < 5e8 needs). */
const MAX_FUNDING_SCRIPT = 116;
const MAX_SENDER_PAYS_SCRIPT = 157;
const P2WPKH_SCRIPT = 22;
const P2WSH_SCRIPT = 34;

/** Upper bound on the weight of a commitment with n in-flight outputs (relay and payer outputs present). */
export function commitmentWeightBound(n: number): number {
  const outs = [P2WPKH_SCRIPT, P2WPKH_SCRIPT, ...new Array<number>(n).fill(P2WSH_SCRIPT)];
  return 4 * multisigSpendVsize(MAX_FUNDING_SCRIPT, outs);
}

/** Upper bound on the weight of the relay's one claim of n sender-pays outputs (the larger mode) to a P2WSH. */
export function claimAllWeightBound(n: number): number {
  const items = new Array(n).fill({ mode: 'sender-pays' as const, scriptLength: MAX_SENDER_PAYS_SCRIPT });
  return 4 * estimateClaimVsize(items, P2WSH_SCRIPT);
}

/**
 * The largest n for which both the commitment and one claim sweeping all n outputs stay
 * within STANDARD_TX_WEIGHT. The claim binds first (≈466 WU per sender-pays input against
 * 172 WU per commitment output), at 859.
 */
export function largestStandardInFlight(): number {
  let lo = 0;
  let hi = 10_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (commitmentWeightBound(mid) <= STANDARD_TX_WEIGHT && claimAllWeightBound(mid) <= STANDARD_TX_WEIGHT) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * In-flight outputs per commitment: Lightning's 483, which is below largestStandardInFlight()
 * (tested), so a unilateral close and its one sweeping claim are always standard, with room
 * left for the relay's CPFP child.
 */
export const MAX_IN_FLIGHT = LIGHTNING_MAX_HTLCS;
