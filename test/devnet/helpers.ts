// Shared by the devnet tests: deterministic test keys, transactions built and signed with
// @scure/btc-signer (the devnet checks them with bitcore, an independent implementation),
// and hand-made blocks for rules that mining through the mempool never produces.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p2wpkh, p2wsh, Script, Transaction } from '@scure/btc-signer';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { ChainError } from '../../src/chain/backend.ts';
import type { ChainErrorCode } from '../../src/chain/backend.ts';
import type { Devnet } from '../../src/chain/devnet/devnet.ts';
import { REGTEST_BITS, buildCoinbase, encodeBlock, merkleRoot, solve } from '../../src/chain/devnet/block.ts';
import { blockSubsidy } from '../../src/chain/devnet/consensus.ts';
import { parseTx } from '../../src/chain/devnet/tx.ts';

export interface Key {
  priv: Uint8Array;
  pub: Uint8Array;
  script: Uint8Array;
}

export function key(name: string): Key {
  const priv = sha256(utf8ToBytes(`satpost devnet test key ${name}`));
  const pub = secp256k1.getPublicKey(priv, true);
  return { priv, pub, script: p2wpkh(pub).script };
}

export interface Coin {
  txid: string;
  vout: number;
  value: number;
}

export interface SpendOpts {
  version?: number;
  lockTime?: number;
  sequence?: number;
}

/** A P2WPKH spend of `coins` (all locked to `from`) to `outputs`, signed with btc-signer. */
export function spend(from: Key, coins: Coin[], outputs: { script: Uint8Array; value: number }[], opts: SpendOpts = {}): Uint8Array {
  const tx = new Transaction({ version: opts.version ?? 2, lockTime: opts.lockTime ?? 0, allowUnknownOutputs: true });
  for (const c of coins) {
    tx.addInput({ txid: c.txid, index: c.vout, sequence: opts.sequence ?? 0xffffffff, witnessUtxo: { script: from.script, amount: BigInt(c.value) } });
  }
  for (const o of outputs) tx.addOutput({ script: o.script, amount: BigInt(o.value) });
  tx.sign(from.priv);
  tx.finalize();
  return tx.extract();
}

/** `<T> OP_CHECKLOCKTIMEVERIFY OP_DROP <pk> OP_CHECKSIG` and its P2WSH output script. */
export function cltvScript(k: Key, lockHeight: number): { witnessScript: Uint8Array; script: Uint8Array } {
  const witnessScript = Script.encode([lockHeight, 'CHECKLOCKTIMEVERIFY', 'DROP', k.pub, 'CHECKSIG']);
  return { witnessScript, script: p2wsh({ type: 'unknown', script: witnessScript } as never).script };
}

/** Spends a P2WSH CLTV coin: signs the BIP143 digest by hand since the script is custom. */
export function spendCltv(k: Key, witnessScript: Uint8Array, outScript: Uint8Array, coin: Coin, to: Uint8Array, value: number, lockTime: number): Uint8Array {
  const tx = new Transaction({ version: 2, lockTime, allowUnknownInputs: true, allowUnknownOutputs: true, disableScriptCheck: true });
  tx.addInput({ txid: coin.txid, index: coin.vout, sequence: 0xfffffffe, witnessUtxo: { script: outScript, amount: BigInt(coin.value) } });
  tx.addOutput({ script: to, amount: BigInt(value) });
  const digest = tx.preimageWitnessV0(0, witnessScript, 1, BigInt(coin.value));
  const sig = secp256k1.sign(digest, k.priv, { prehash: false, format: 'der' });
  tx.updateInput(0, { finalScriptWitness: [concatBytes(sig, new Uint8Array([1])), witnessScript] }, true);
  return tx.extract();
}

/** The output of `txid` paying `script` (first match). */
export function outputTo(dn: Devnet, txid: string, script: Uint8Array): Coin {
  const tx = parseTx(dn.getTx(txid)!.raw);
  const vout = tx.outputs.findIndex((o) => o.script.length === script.length && o.script.every((b, i) => b === script[i]));
  assert.ok(vout >= 0, `tx ${txid} has no output to the script`);
  return { txid, vout, value: tx.outputs[vout]!.value };
}

/** A block on `parent` with exactly `raws` after the coinbase (fees go unclaimed). */
export function handBlock(dn: Devnet, parent: string, raws: Uint8Array[], payTo: Uint8Array): Uint8Array {
  const p = dn.getBlock(parent)!;
  const txs = raws.map(parseTx);
  const coinbase = buildCoinbase(p.height + 1, payTo, blockSubsidy(p.height + 1), 7_777, txs);
  const all = [coinbase, ...txs];
  const solved = solve({ version: 0x20000000, prev: parent, merkleRoot: merkleRoot(all.map((t) => t.txid)), time: p.time + 1, bits: REGTEST_BITS, nonce: 0 });
  return encodeBlock(solved.bytes, all);
}

export function throwsCode(fn: () => unknown, code: ChainErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(ChainError.is(e), `expected a ChainError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-devnet-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
