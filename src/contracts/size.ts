/**
 * Exact transaction sizes before signing, so fees are computed once and never under-paid.
 * Every signature is budgeted at its maximum, 73 bytes (DER ≤ 72 + the sighash byte);
 * deterministic signatures usually come out at 71–72, so the real vsize is at most a few
 * quarter-bytes below the estimate and never above it.
 *
 * weight = 4 × (non-witness bytes) + witness bytes (marker, flag and stacks); vsize = ⌈weight/4⌉.
 */
import { varIntSize } from './validate.ts';
import type { ContractMode } from './script.ts';

export const MAX_SIG_BYTES = 73;
const PUBKEY_BYTES = 33;
const PREIMAGE_BYTES = 32;

/** Witness of a P2WPKH input: count, sig, pubkey. */
export const P2WPKH_WITNESS_BYTES = 1 + (1 + MAX_SIG_BYTES) + (1 + PUBKEY_BYTES);

const pushed = (n: number) => varIntSize(n) + n;

/** Witness of a contract's claim path: sig, [r], k, 01, script. */
export function claimWitnessBytes(mode: ContractMode, scriptLength: number): number {
  const items = mode === 'sender-pays' ? 5 : 4;
  const preimages = (mode === 'sender-pays' ? 2 : 1) * pushed(PREIMAGE_BYTES);
  return varIntSize(items) + pushed(MAX_SIG_BYTES) + preimages + pushed(1) + pushed(scriptLength);
}

/** Witness of a contract's refund path: sig, <empty>, script. */
export function refundWitnessBytes(scriptLength: number): number {
  return varIntSize(3) + pushed(MAX_SIG_BYTES) + pushed(0) + pushed(scriptLength);
}

/**
 * vsize of a segwit transaction whose inputs all have empty scriptSigs.
 * @param witnessBytes one entry per input: that input's serialized witness stack size
 * @param outputScriptLengths one entry per output: its scriptPubKey length
 */
export function segwitVsize(witnessBytes: readonly number[], outputScriptLengths: readonly number[]): number {
  const nIn = witnessBytes.length;
  const nOut = outputScriptLengths.length;
  // version, inputs (outpoint 36 + empty scriptSig 1 + sequence 4), outputs (value 8 + script), locktime
  let base = 4 + varIntSize(nIn) + 41 * nIn + varIntSize(nOut) + 4;
  for (const len of outputScriptLengths) base += 8 + pushed(len);
  const witness = 2 + witnessBytes.reduce((a, b) => a + b, 0);
  return Math.ceil((4 * base + witness) / 4);
}

/** Fee in whole satoshis for a vsize at a rate in sat/vB, rounded up. */
export function feeFor(vsize: number, feeRate: number): number {
  // The epsilon absorbs binary rounding (e.g. 0.1 × 1000) without ever rounding a real fraction down.
  return Math.ceil(vsize * feeRate - 1e-9);
}
