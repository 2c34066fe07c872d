/**
 * Input checks shared by every contract builder. Each throws a ContractError whose
 * message says what was expected and what came.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { expected } from '../core/errors.ts';
import { ContractError } from './errors.ts';

/** nLockTime/CLTV values at or above this are unix times; contracts use block heights only. */
export const LOCKTIME_THRESHOLD = 500_000_000;

export function assertHash(name: string, h: unknown): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== 32) throw new ContractError('BAD_HASH', expected(name, '32 bytes', describe(h)));
}

export function assertPubkey(name: string, p: unknown): asserts p is Uint8Array {
  if (!(p instanceof Uint8Array) || p.length !== 33) {
    throw new ContractError('BAD_PUBKEY', expected(name, 'a 33-byte compressed secp256k1 public key', describe(p)));
  }
  if (!secp256k1.utils.isValidPublicKey(p, true)) {
    throw new ContractError('BAD_PUBKEY', expected(name, 'a point on secp256k1', 'bytes that decode to no point'));
  }
}

/** Returns the compressed public key of a valid private key. */
export function pubkeyOf(name: string, priv: unknown): Uint8Array {
  if (!(priv instanceof Uint8Array) || priv.length !== 32 || !secp256k1.utils.isValidSecretKey(priv)) {
    throw new ContractError('BAD_PRIVKEY', expected(name, 'a 32-byte secp256k1 private key in 1..n-1', describe(priv)));
  }
  return secp256k1.getPublicKey(priv, true);
}

export function assertLocktime(name: string, t: unknown): asserts t is number {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= LOCKTIME_THRESHOLD) {
    throw new ContractError('BAD_LOCKTIME', expected(name, `a block height in 0..${LOCKTIME_THRESHOLD - 1}`, t));
  }
}

/** Positive integer satoshis, exact as a JS number. */
export function assertSats(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ContractError('BAD_AMOUNT', expected(name, 'a positive integer number of satoshis', v));
  }
}

/** Fee rate in sat/vB; fractional rates are allowed (fees are rounded up). */
export function assertFeeRate(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) {
    throw new ContractError('BAD_AMOUNT', expected(name, 'a fee rate in sat/vB, > 0 and <= 100000', v));
  }
}

/**
 * Bitcoin Core's dust threshold (GetDustThreshold) at the default dust relay fee of
 * 3 sat/vB: 3 × (serialized output size + the size of the input that would spend it),
 * where that input counts 67 vB for a witness program (32+4+1+107/4+4) and 148 B otherwise.
 * P2WPKH: 3 × (31 + 67) = 294; P2WSH and P2TR: 3 × (43 + 67) = 330; P2PKH: 546.
 */
export function dustThreshold(scriptPubKey: Uint8Array): number {
  const outSize = 8 + varIntSize(scriptPubKey.length) + scriptPubKey.length;
  return 3 * (outSize + (isWitnessProgram(scriptPubKey) ? 67 : 148));
}

/** The P2WSH dust threshold: the smallest amount a contract output may carry. */
export const P2WSH_DUST = 330;

export function assertNotDust(name: string, amount: number, scriptPubKey: Uint8Array): void {
  const min = dustThreshold(scriptPubKey);
  if (amount < min) throw new ContractError('DUST', expected(name, `>= ${min} sats (dust threshold of its script)`, amount));
}

/** LND's Preimage.Matches: a preimage is used only after it is checked against its hash. */
export function preimageMatches(preimage: Uint8Array, hash: Uint8Array): boolean {
  if (preimage.length !== 32 || hash.length !== 32) return false;
  const h = sha256(preimage);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= h[i]! ^ hash[i]!;
  return diff === 0;
}

export function assertPreimage(name: string, preimage: unknown, hash: Uint8Array): asserts preimage is Uint8Array {
  if (!(preimage instanceof Uint8Array) || preimage.length !== 32) {
    throw new ContractError('PREIMAGE_MISMATCH', expected(name, 'a 32-byte preimage', describe(preimage)));
  }
  if (!preimageMatches(preimage, hash)) {
    throw new ContractError('PREIMAGE_MISMATCH', expected(name, 'a preimage whose SHA-256 is the contract hash', 'one that hashes elsewhere'));
  }
}

export interface LocktimeMargins {
  /** Blocks before T by which the relay must have claimed (mainnet default 12). */
  claimMargin: number;
  /** Blocks before T by which the recipient must have sent r or paid (mainnet default 24). */
  fetchMargin: number;
  /** Furthest T accepted, in blocks after the tip (default 2016, two weeks). */
  maxBlocksAhead?: number;
}

/**
 * The payer's (and relay's) check of a quoted T against the current tip. Accepted when
 *   tip + max(claimMargin, fetchMargin) < T <= tip + maxBlocksAhead,
 * i.e. at least one block remains for the recipient before her deadline T − fetchMargin
 * and for the relay before its deadline T − claimMargin, and the payer's coins are not
 * locked up for more than maxBlocksAhead blocks if the relay disappears.
 */
export function checkQuoteLocktime(locktime: number, tip: number, margins: LocktimeMargins): void {
  assertLocktime('locktime', locktime);
  assertLocktime('tip', tip);
  const maxAhead = margins.maxBlocksAhead ?? 2016;
  for (const [k, v] of [['claimMargin', margins.claimMargin], ['fetchMargin', margins.fetchMargin], ['maxBlocksAhead', maxAhead]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ContractError('BAD_LOCKTIME', expected(k, 'a non-negative integer number of blocks', v));
  }
  const earliest = tip + Math.max(margins.claimMargin, margins.fetchMargin) + 1;
  if (locktime < earliest) throw new ContractError('LOCKTIME_TOO_CLOSE', expected('locktime', `>= ${earliest} (tip ${tip} + margin + 1)`, locktime));
  const latest = tip + maxAhead;
  if (locktime > latest) throw new ContractError('LOCKTIME_TOO_FAR', expected('locktime', `<= ${latest} (tip ${tip} + ${maxAhead})`, locktime));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function varIntSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

function isWitnessProgram(s: Uint8Array): boolean {
  if (s.length < 4 || s.length > 42) return false;
  const v = s[0]!;
  if (v !== 0 && (v < 0x51 || v > 0x60)) return false;
  return s[1]! + 2 === s.length;
}

function describe(v: unknown): unknown {
  return v instanceof Uint8Array ? v : v === undefined ? 'nothing' : typeof v === 'object' ? 'a non-byte value' : v;
}
