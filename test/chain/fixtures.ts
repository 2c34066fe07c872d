// Real keys and real signed transactions for the chain tests (built with
// @scure/btc-signer; the devnet validates them with an independent interpreter).
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Address, OutScript, RawTx, Transaction, p2wpkh } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { randomBytes } from 'node:crypto';
import { NETWORKS } from '../../src/core/network.ts';

export const REGTEST = NETWORKS.regtest;

export interface Key {
  secret: Uint8Array;
  script: Uint8Array;
  address: string;
}

export function newKey(): Key {
  const secret = secp256k1.utils.randomSecretKey();
  const pay = p2wpkh(secp256k1.getPublicKey(secret, true), REGTEST);
  return { secret, script: pay.script, address: pay.address! };
}

export function addressOf(script: Uint8Array): string {
  return Address(REGTEST).encode(OutScript.decode(script));
}

export interface Coin {
  txid: string;
  vout: number;
  value: number;
}

/** A signed P2WPKH spend of `coins` (all owned by `from`) paying `outputs`. */
export function spend(from: Key, coins: Coin[], outputs: { script: Uint8Array; value: number }[]): { raw: Uint8Array; txid: string } {
  const tx = new Transaction();
  for (const c of coins) tx.addInput({ txid: c.txid, index: c.vout, witnessUtxo: { script: from.script, amount: BigInt(c.value) } });
  for (const o of outputs) tx.addOutput({ script: o.script, amount: BigInt(o.value) });
  tx.sign(from.secret);
  tx.finalize();
  return { raw: tx.extract(), txid: tx.id };
}

/** The same transaction with one byte of the first input's signature changed (still valid DER). */
export function corruptSignature(raw: Uint8Array): Uint8Array {
  const d = RawTx.decode(raw);
  const sig = Uint8Array.from(d.witnesses![0]![0]!);
  sig[10] = sig[10]! ^ 0x01; // inside r: the encoding stays valid, the signature does not
  d.witnesses![0]![0] = sig;
  return RawTx.encode(d);
}

export function randomTxid(): string {
  return hex.encode(randomBytes(32));
}
