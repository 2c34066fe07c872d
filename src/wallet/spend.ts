/**
 * Builds and signs a wallet transaction through a PSBT (BIP174): the unsigned PSBT
 * carries each input's witness UTXO and BIP32 derivation, is signed input by input
 * (P2WPKH, SIGHASH_ALL, low-R signatures), finalized and extracted to raw bytes.
 *
 * Every input signals replaceability (BIP125, sequence 0xfffffffd) so a stuck payment
 * can be fee-bumped. nLockTime is the last synced height (anti fee sniping, as Bitcoin
 * Core does); the non-final sequence keeps it enforced.
 */
import { Transaction } from '@scure/btc-signer';
import { WalletError } from './errors.ts';
import type { KeyPair } from './keys.ts';

export const RBF_SEQUENCE = 0xfffffffd;

export interface SpendInput {
  txid: string;
  vout: number;
  value: number;
  script: Uint8Array;
  key: KeyPair;
}

export interface SpendOutput {
  script: Uint8Array;
  amount: number;
}

export interface SignedTx {
  txid: string;
  raw: Uint8Array;
  /** The unsigned PSBT the signature was made from (for audit or external co-signing). */
  psbt: Uint8Array;
  fee: number;
  vsize: number;
}

export function buildSignedTx(args: {
  inputs: readonly SpendInput[];
  outputs: readonly SpendOutput[];
  lockTime: number;
  masterFingerprint: number;
}): SignedTx {
  const unsigned = new Transaction({ version: 2, lockTime: args.lockTime, lowR: true });
  for (const i of args.inputs) {
    unsigned.addInput({
      txid: i.txid,
      index: i.vout,
      sequence: RBF_SEQUENCE,
      witnessUtxo: { script: i.script, amount: BigInt(i.value) },
      bip32Derivation: [[i.key.pubkey33, { fingerprint: args.masterFingerprint, path: pathNumbers(i.key.path) }]],
    });
  }
  for (const o of args.outputs) unsigned.addOutput({ script: o.script, amount: BigInt(o.amount) });
  const psbt = unsigned.toPSBT();

  const signer = Transaction.fromPSBT(psbt, { lowR: true });
  args.inputs.forEach((i, idx) => {
    if (!signer.signIdx(i.key.privkey32, idx)) {
      throw new WalletError('CORRUPT_WALLET', `input ${idx} (${i.txid}:${i.vout}) could not be signed with its wallet key`);
    }
  });
  signer.finalize();
  return { txid: signer.id, raw: signer.extract(), psbt, fee: Number(signer.fee), vsize: signer.vsize };
}

function pathNumbers(path: string): number[] {
  return path
    .split('/')
    .slice(1)
    .map((p) => (p.endsWith("'") ? Number(p.slice(0, -1)) + 0x80000000 : Number(p)));
}
