/**
 * Shared pieces of the funding, claim and refund builders: outpoint checks and the
 * btc-signer boundary (amounts become bigint only here).
 */
import { Transaction } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { expected } from '../core/errors.ts';
import { ContractError } from './errors.ts';
import { assertSats } from './validate.ts';
import { contractScriptPubKey, parseContractScript } from './script.ts';
import type { ContractTerms } from './script.ts';

/** A transaction output by its txid (hex, display order) and index. */
export interface Outpoint {
  txid: string;
  vout: number;
}

/** A funded contract: where it is, what it holds, and its witness script. */
export interface ContractCoin {
  outpoint: Outpoint;
  amount: number;
  script: Uint8Array;
}

/** What every builder returns. */
export interface BuiltTx {
  /** Signed raw transaction, ready to broadcast. */
  tx: Uint8Array;
  txid: string;
  /** vsize of the signed transaction (≤ the estimate the fee was computed from). */
  vsize: number;
  fee: number;
}

/** Sequence values: RBF-signalling for funding and claims; non-final, no RBF for refunds (BIP65 needs non-final). */
export const SEQUENCE_RBF = 0xfffffffd;
export const SEQUENCE_REFUND = 0xfffffffe;

export function assertOutpoint(name: string, o: Outpoint): void {
  if (o === null || typeof o !== 'object') throw new ContractError('BAD_TX', expected(name, 'an outpoint {txid, vout}', o));
  if (typeof o.txid !== 'string' || !/^[0-9a-f]{64}$/.test(o.txid)) {
    throw new ContractError('BAD_TX', expected(`${name}.txid`, '64 lowercase hex characters', o.txid));
  }
  if (!Number.isInteger(o.vout) || o.vout < 0 || o.vout > 0xffffffff) {
    throw new ContractError('BAD_TX', expected(`${name}.vout`, 'an integer in 0..2^32-1', o.vout));
  }
}

export function assertDistinct(name: string, outpoints: readonly Outpoint[]): void {
  const seen = new Set<string>();
  for (const o of outpoints) {
    const key = `${o.txid}:${o.vout}`;
    if (seen.has(key)) throw new ContractError('BAD_TX', expected(name, 'distinct outpoints', `${key} twice`));
    seen.add(key);
  }
}

export function assertNonEmpty(name: string, xs: unknown): void {
  if (!Array.isArray(xs) || xs.length === 0) throw new ContractError('BAD_TX', expected(name, 'a non-empty list', Array.isArray(xs) ? 'an empty list' : xs));
}

export function assertScript(name: string, s: unknown): asserts s is Uint8Array {
  if (!(s instanceof Uint8Array) || s.length === 0 || s.length > 10_000) {
    throw new ContractError('BAD_SCRIPT', expected(name, 'a scriptPubKey of 1..10000 bytes', s));
  }
}

/** Validates a contract coin and re-derives its terms from the script (never from caller fields). */
export function checkContractCoin(name: string, c: ContractCoin): ContractTerms {
  if (c === null || typeof c !== 'object') throw new ContractError('BAD_TX', expected(name, 'a contract coin', c));
  assertOutpoint(`${name}.outpoint`, c.outpoint);
  assertSats(`${name}.amount`, c.amount);
  return parseContractScript(c.script);
}

export function newTx(lockTime: number): Transaction {
  // Contract witness scripts are not a template btc-signer knows: it signs them (the key is
  // found in the script) and we write the witness ourselves.
  return new Transaction({ version: 2, lockTime, allowUnknownInputs: true });
}

export function addContractInput(tx: Transaction, c: ContractCoin, sequence: number): number {
  return tx.addInput({
    txid: hex.decode(c.outpoint.txid),
    index: c.outpoint.vout,
    sequence,
    witnessUtxo: { script: contractScriptPubKey(c.script), amount: BigInt(c.amount) },
    witnessScript: c.script,
  });
}

/** Signs input idx (SIGHASH_ALL, BIP143) and returns the signature with its sighash byte. */
export function signContractInput(tx: Transaction, idx: number, privkey: Uint8Array): Uint8Array {
  tx.signIdx(privkey, idx);
  const sigs = tx.getInput(idx).partialSig;
  const sig = sigs?.[0]?.[1];
  if (!sig) throw new ContractError('BAD_TX', `input ${idx}: signing produced no signature`);
  return sig;
}

export function finishContractInput(tx: Transaction, idx: number, witness: Uint8Array[]): void {
  tx.updateInput(idx, { finalScriptWitness: witness, partialSig: undefined }, true);
}

export function finish(tx: Transaction, fee: number): BuiltTx {
  const raw = tx.extract();
  return { tx: raw, txid: tx.id, vsize: tx.vsize, fee };
}
