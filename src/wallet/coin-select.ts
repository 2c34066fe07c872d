/**
 * Coin selection and transaction size arithmetic. Pure: no I/O, deterministic.
 *
 * Strategy (as Bitcoin Core): first branch-and-bound for an input set whose effective
 * value lands in [target, target + costOfChange], which needs no change output; failing
 * that, largest-first with a change output. Change below the dust threshold, or too
 * small to pay for its own output, is not created: it is folded into the fee.
 *
 * Sizes are in weight units (WU, vsize = ceil(weight / 4)). Inputs are P2WPKH and are
 * costed with a 72-byte signature, the largest a DER signature can be, so the fee
 * computed here never falls short of the fee rate once the transaction is signed.
 */
import { expected } from '../core/errors.ts';
import { WalletError } from './errors.ts';

export interface Coin {
  txid: string;
  vout: number;
  value: number;
}

export interface Payment {
  script: Uint8Array;
  amount: number;
}

export interface SelectionRequest {
  coins: readonly Coin[];
  /** Outpoints ("txid:vout") that must not be spent (reserved or locked in contracts). */
  locked?: ReadonlySet<string>;
  outputs: readonly Payment[];
  /** sat/vB, may be fractional. */
  feeRate: number;
  /** Length of the change scriptPubKey (22 for P2WPKH). */
  changeScriptLength?: number;
  /** Upper bound on branch-and-bound steps. */
  maxTries?: number;
}

export interface Selection {
  inputs: Coin[];
  /** 0 when no change output is created. */
  change: number;
  fee: number;
  /** Estimated vsize, with change output if any; an upper bound of the signed size. */
  vsize: number;
  algorithm: 'bnb' | 'largest-first';
}

/** Weight of one P2WPKH input: 41 non-witness bytes and a witness of 1+1+72+1+33 bytes. */
export const P2WPKH_INPUT_WEIGHT = 41 * 4 + 108;
export const P2WPKH_SCRIPT_LENGTH = 22;
/** Bitcoin Core's -dustrelayfee, sat/vB. */
export const DUST_RELAY_FEE_RATE = 3;

export const outpointKey = (c: { txid: string; vout: number }): string => `${c.txid}:${c.vout}`;

export function varintSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

export function outputWeight(scriptLength: number): number {
  return 4 * (8 + varintSize(scriptLength) + scriptLength);
}

/** Weight of a transaction spending `nInputs` P2WPKH inputs to outputs with these script lengths. */
export function txWeight(nInputs: number, outputScriptLengths: readonly number[]): number {
  const base = 4 * (4 + 4 + varintSize(nInputs) + varintSize(outputScriptLengths.length));
  const segwitMarker = nInputs > 0 ? 2 : 0;
  return base + segwitMarker + nInputs * P2WPKH_INPUT_WEIGHT + outputScriptLengths.reduce((s, l) => s + outputWeight(l), 0);
}

export const vsizeOf = (weight: number): number => Math.ceil(weight / 4);
export const feeFor = (weight: number, feeRate: number): number => Math.ceil(vsizeOf(weight) * feeRate);

/**
 * Bitcoin Core's dust threshold at 3 sat/vB: the cost of the output plus the input that
 * would spend it. OP_RETURN outputs are unspendable and never dust.
 */
export function dustThreshold(script: Uint8Array): number {
  if (script[0] === 0x6a) return 0;
  const outSize = 8 + varintSize(script.length) + script.length;
  const spendSize = isWitnessProgram(script) ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  return (outSize + spendSize) * DUST_RELAY_FEE_RATE;
}

function isWitnessProgram(script: Uint8Array): boolean {
  const v = script[0];
  if (script.length < 4 || script.length > 42) return false;
  if (v !== 0x00 && (v === undefined || v < 0x51 || v > 0x60)) return false;
  return script[1] === script.length - 2;
}

export function checkPayments(outputs: readonly Payment[]): void {
  if (outputs.length === 0) throw new WalletError('BAD_AMOUNT', expected('outputs', 'at least one output', 0));
  outputs.forEach((o, i) => {
    if (!Number.isSafeInteger(o.amount) || o.amount < 0) {
      throw new WalletError('BAD_AMOUNT', expected(`outputs[${i}].amount`, 'a non-negative integer of sats', o.amount));
    }
    const dust = dustThreshold(o.script);
    if (o.amount < dust) {
      throw new WalletError('DUST_OUTPUT', expected(`outputs[${i}].amount`, `>= ${dust} sats (dust threshold)`, o.amount));
    }
  });
}

export function selectCoins(req: SelectionRequest): Selection {
  checkPayments(req.outputs);
  if (!Number.isFinite(req.feeRate) || req.feeRate <= 0) {
    throw new WalletError('BAD_FEE_RATE', expected('feeRate', 'a positive number of sat/vB', req.feeRate));
  }
  const changeLen = req.changeScriptLength ?? P2WPKH_SCRIPT_LENGTH;
  const locked = req.locked ?? new Set<string>();
  const outLens = req.outputs.map((o) => o.script.length);
  const amount = req.outputs.reduce((s, o) => s + o.amount, 0);
  const inputFee = (P2WPKH_INPUT_WEIGHT / 4) * req.feeRate;
  // Coins worth less than the fee to spend them only make the transaction poorer.
  const usable = req.coins
    .filter((c) => !locked.has(outpointKey(c)) && c.value - inputFee > 0)
    .sort((a, b) => b.value - a.value || (a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));

  const fixedNoChange = txWeight(0, outLens) + 2;
  const target = amount + fixedNoChange / 4 * req.feeRate;
  const changeOutFee = (outputWeight(changeLen) / 4) * req.feeRate;
  // Creating change costs its output now and one input later; below that, drop it.
  const costOfChange = changeOutFee + inputFee;

  const bnb = branchAndBound(usable, inputFee, target, costOfChange, req.maxTries ?? 100_000);
  if (bnb) {
    const fee = totalValue(bnb) - amount;
    const weight = txWeight(bnb.length, outLens);
    if (fee >= feeFor(weight, req.feeRate)) {
      return { inputs: bnb, change: 0, fee, vsize: vsizeOf(weight), algorithm: 'bnb' };
    }
  }

  const changeDust = dustThreshold(witnessProgramOfLength(changeLen));
  const chosen: Coin[] = [];
  let sum = 0;
  for (const c of usable) {
    chosen.push(c);
    sum += c.value;
    const wChange = txWeight(chosen.length, [...outLens, changeLen]);
    const feeChange = feeFor(wChange, req.feeRate);
    const change = sum - amount - feeChange;
    if (change >= changeDust && change >= costOfChange) {
      return { inputs: chosen, change, fee: feeChange, vsize: vsizeOf(wChange), algorithm: 'largest-first' };
    }
    const wNo = txWeight(chosen.length, outLens);
    if (sum - amount >= feeFor(wNo, req.feeRate)) {
      return { inputs: chosen, change: 0, fee: sum - amount, vsize: vsizeOf(wNo), algorithm: 'largest-first' };
    }
  }
  const needed = amount + feeFor(txWeight(Math.max(1, usable.length), outLens), req.feeRate);
  const available = req.coins.filter((c) => !locked.has(outpointKey(c))).reduce((s, c) => s + c.value, 0);
  throw new WalletError(
    'INSUFFICIENT_FUNDS',
    `insufficient funds: need ${needed} sats (${amount} to send + fee at ${req.feeRate} sat/vB), ` +
      `${available} sats spendable (${usable.length} coins worth spending)`,
  );
}

/** A stand-in scriptPubKey of the change's shape (OP_0 <push>), only for its dust threshold. */
function witnessProgramOfLength(len: number): Uint8Array {
  const s = new Uint8Array(len);
  s[1] = len - 2;
  return s;
}

function totalValue(coins: readonly Coin[]): number {
  return coins.reduce((s, c) => s + c.value, 0);
}

/**
 * Depth-first search over coins sorted by descending value for a changeless match
 * (Bitcoin Core's SelectCoinsBnB). Returns the set with the least waste found, else undefined.
 */
function branchAndBound(
  coins: readonly Coin[],
  inputFee: number,
  target: number,
  costOfChange: number,
  maxTries: number,
): Coin[] | undefined {
  const eff = coins.map((c) => c.value - inputFee);
  const remainingFrom: number[] = new Array<number>(eff.length + 1).fill(0);
  for (let i = eff.length - 1; i >= 0; i--) remainingFrom[i] = remainingFrom[i + 1]! + eff[i]!;
  if (remainingFrom[0]! < target) return undefined;

  let best: number[] | undefined;
  let bestExcess = Infinity;
  const picked: number[] = [];
  let tries = 0;
  const walk = (i: number, value: number): void => {
    if (++tries > maxTries) return;
    if (value > target + costOfChange) return;
    if (value >= target) {
      const excess = value - target;
      if (excess < bestExcess) {
        bestExcess = excess;
        best = [...picked];
      }
      return;
    }
    if (i >= eff.length || value + remainingFrom[i]! < target) return;
    picked.push(i);
    walk(i + 1, value + eff[i]!);
    picked.pop();
    // Skipping a coin equal in value to one just skipped explores the same sums again.
    let j = i + 1;
    while (j < eff.length && eff[j] === eff[i]) j++;
    walk(j, value);
  };
  walk(0, 0);
  return best?.map((i) => coins[i]!);
}
