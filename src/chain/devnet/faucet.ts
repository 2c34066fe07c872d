/**
 * The devnet faucet. Its key is PUBLIC and for development only: anyone can derive it
 * (private key = SHA-256 of the UTF-8 string "satpost devnet faucet v1"), so coins on
 * it, and any chain that uses it, have no value.
 */
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { ChainError } from '../backend.ts';
import { expected } from '../../core/errors.ts';
import { MAX_MONEY } from './tx.ts';

export const DEVNET_FAUCET_SEED = 'satpost devnet faucet v1';
export const DEVNET_FAUCET_KEY: Uint8Array = sha256(utf8ToBytes(DEVNET_FAUCET_SEED));
export const DEVNET_FAUCET_PUBKEY: Uint8Array = secp256k1.getPublicKey(DEVNET_FAUCET_KEY, true);
export const DEVNET_FAUCET_SCRIPT: Uint8Array = p2wpkh(DEVNET_FAUCET_PUBKEY).script;

/** Below this, change is not worth an output and goes to the fee (Core's P2WPKH dust limit is 294). */
const CHANGE_DUST = 546;

export interface FaucetCoin {
  txid: string;
  vout: number;
  value: number;
}

/** Upper bound of the signed size: 72-byte signatures, P2WPKH inputs (68 vB each). */
function vsizeBound(inputs: number, script: Uint8Array): number {
  return 11 + 68 * inputs + (9 + script.length) + 31;
}

export function checkFaucetAmount(sats: number): void {
  if (!Number.isSafeInteger(sats) || sats <= 0 || sats > MAX_MONEY) {
    throw new ChainError('BAD_REQUEST', expected('sats', `an integer in 1..${MAX_MONEY}`, sats));
  }
}

/**
 * Builds and signs a payment of `sats` to `script` from `coins` (largest first), change
 * back to the faucet. Returns undefined when the coins do not cover amount and fee.
 */
export function buildFaucetTx(coins: FaucetCoin[], script: Uint8Array, sats: number, feeRate: number): Uint8Array | undefined {
  checkFaucetAmount(sats);
  const sorted = [...coins].sort((a, b) => b.value - a.value);
  const picked: FaucetCoin[] = [];
  let total = 0;
  for (const c of sorted) {
    picked.push(c);
    total += c.value;
    const fee = Math.ceil(feeRate * vsizeBound(picked.length, script));
    if (total >= sats + fee) {
      const tx = new Transaction({ allowUnknownOutputs: true });
      for (const p of picked) tx.addInput({ txid: p.txid, index: p.vout, witnessUtxo: { script: DEVNET_FAUCET_SCRIPT, amount: BigInt(p.value) } });
      tx.addOutput({ script, amount: BigInt(sats) });
      const change = total - sats - fee;
      if (change >= CHANGE_DUST) tx.addOutput({ script: DEVNET_FAUCET_SCRIPT, amount: BigInt(change) });
      tx.sign(DEVNET_FAUCET_KEY);
      tx.finalize();
      return tx.extract();
    }
  }
  return undefined;
}
