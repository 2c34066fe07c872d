// Shared fixtures for the contract tests: fixed keys, and bitcore-lib's script
// interpreter as the independent judge of what @scure/btc-signer built.
import { createRequire } from 'node:module';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { p2wpkh, RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import type { ContractTerms } from '../../src/contracts/script.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
export const priv = (label: string): Uint8Array => sha256(utf8(`satpost test key ${label}`));
export const pub = (p: Uint8Array): Uint8Array => secp256k1.getPublicKey(p, true);
export const secret = (label: string): Uint8Array => sha256(utf8(`satpost test secret ${label}`));

export const RELAY = priv('relay');
export const PAYER = priv('payer');
export const WALLET = priv('wallet');
export const OTHER = priv('other');
export const WALLET_SCRIPT = p2wpkh(pub(WALLET)).script;
export const DEST_SCRIPT = p2wpkh(pub(priv('dest'))).script;

export function terms(mode: ContractTerms['mode'], i = 0, locktime = 900): { terms: ContractTerms; k: Uint8Array; r?: Uint8Array } {
  const k = secret(`k${i}`);
  const r = secret(`r${i}`);
  const t: ContractTerms = { mode, hk: sha256(k), relayPubkey: pub(RELAY), payerPubkey: pub(PAYER), locktime };
  if (mode === 'sender-pays') {
    t.hr = sha256(r);
    return { terms: t, k, r };
  }
  return { terms: t, k };
}

/** A made-up wallet coin (the interpreter only needs its script and amount). */
export function fakeTxid(label: string): string {
  return hex.encode(sha256(utf8(`txid ${label}`)));
}

interface BitcoreTx {
  inputs: { witnesses: Uint8Array[] }[];
}
interface Bitcore {
  Script: (new (b?: Uint8Array) => object) & {
    empty(): object;
    Interpreter: (new () => { errstr: string; verify(...a: unknown[]): boolean }) & Record<string, number>;
  };
  Transaction: new (raw: string) => BitcoreTx;
}
const bitcore = createRequire(import.meta.url)('bitcore-lib') as Bitcore;
const I = bitcore.Script.Interpreter;

/** Core's standard flags for witness v0 spends, without CLEANSTACK (bitcore checks it wrongly for segwit). */
export const FLAGS = [
  'P2SH', 'STRICTENC', 'DERSIG', 'LOW_S', 'NULLDUMMY', 'MINIMALDATA', 'DISCOURAGE_UPGRADABLE_NOPS',
  'CHECKLOCKTIMEVERIFY', 'CHECKSEQUENCEVERIFY', 'WITNESS', 'MINIMALIF', 'NULLFAIL', 'WITNESS_PUBKEYTYPE',
].reduce((acc, n) => {
  const bit = I[`SCRIPT_VERIFY_${n}`];
  if (typeof bit !== 'number') throw new Error(`bitcore lacks flag ${n}`);
  return acc | bit;
}, 0);

/** Runs input `nin` of rawTx through bitcore's interpreter; returns '' when valid, else bitcore's error. */
export function interpret(rawTx: Uint8Array, nin: number, prevScriptPubKey: Uint8Array, amount: number): string {
  const tx = new bitcore.Transaction(hex.encode(rawTx));
  const input = tx.inputs[nin];
  if (!input) throw new Error(`no input ${nin}`);
  const interp = new I();
  const ok = interp.verify(bitcore.Script.empty(), new bitcore.Script(Buffer.from(prevScriptPubKey)), tx, nin, FLAGS, input.witnesses, amount);
  return ok ? '' : interp.errstr || 'failed';
}

/** Replaces witness item `item` of input `nin` (negative counts from the end), re-serialising the tx. */
export function withWitnessItem(rawTx: Uint8Array, nin: number, item: number, value: Uint8Array): Uint8Array {
  const d = RawTx.decode(rawTx);
  const w = d.witnesses![nin]!.slice();
  w[item < 0 ? w.length + item : item] = value;
  d.witnesses![nin] = w;
  return RawTx.encode(d);
}

export function withLockTime(rawTx: Uint8Array, lockTime: number, sequence?: number): Uint8Array {
  const d = RawTx.decode(rawTx);
  d.lockTime = lockTime;
  if (sequence !== undefined) d.inputs = d.inputs.map((i) => ({ ...i, sequence }));
  return RawTx.encode(d);
}
export { secp256k1 as secp };
