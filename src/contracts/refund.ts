/**
 * The payer's refund: spends contracts through their timelocked path once T has passed.
 * nLockTime is the largest T of the batch (a block height), every input's sequence is
 * 0xfffffffe (non-final, as CLTV requires). A transaction with nLockTime T is valid in
 * block T+1, i.e. it enters the mempool once the tip has reached T. Being pure and
 * deterministic, it can be signed and stored at funding time, so nobody must be online at T.
 */
import { ContractError } from './errors.ts';
import { refundWitness } from './script.ts';
import { feeFor, refundWitnessBytes, segwitVsize } from './size.ts';
import {
  addContractInput, assertDistinct, assertNonEmpty, assertScript, checkContractCoin, finish, finishContractInput,
  newTx, SEQUENCE_REFUND, signContractInput,
} from './tx.ts';
import type { BuiltTx, ContractCoin } from './tx.ts';
import { assertFeeRate, assertNotDust, bytesEqual, pubkeyOf } from './validate.ts';

export interface RefundItem extends ContractCoin {
  /** Overrides the request's payerPrivkey for this contract. */
  payerPrivkey?: Uint8Array;
}

export interface RefundRequest {
  contracts: RefundItem[];
  payerPrivkey?: Uint8Array;
  destScript: Uint8Array;
  /** sat/vB */
  feeRate: number;
}

export interface RefundTx extends BuiltTx {
  amount: number;
  /** nLockTime of the transaction: the largest T among the contracts. */
  lockTime: number;
}

export function estimateRefundVsize(scriptLengths: readonly number[], destScriptLength: number): number {
  return segwitVsize(scriptLengths.map(refundWitnessBytes), [destScriptLength]);
}

export function buildRefundTx(req: RefundRequest): RefundTx {
  assertNonEmpty('contracts', req.contracts);
  assertScript('destScript', req.destScript);
  assertFeeRate('feeRate', req.feeRate);
  assertDistinct('contracts', req.contracts.map((c) => c.outpoint));

  const prepared = req.contracts.map((c, i) => {
    const name = `contracts[${i}]`;
    const terms = checkContractCoin(name, c);
    const priv = c.payerPrivkey ?? req.payerPrivkey;
    const pub = pubkeyOf(`${name}.payerPrivkey`, priv);
    if (!bytesEqual(pub, terms.payerPubkey)) throw new ContractError('WRONG_KEY', `"${name}.payerPrivkey" expected the key of the contract's payer_pubkey, got another key`);
    return { c, terms, priv: priv! };
  });

  const lockTime = Math.max(...prepared.map((p) => p.terms.locktime));
  const total = prepared.reduce((a, p) => a + p.c.amount, 0);
  const fee = feeFor(estimateRefundVsize(prepared.map((p) => p.c.script.length), req.destScript.length), req.feeRate);
  const amount = total - fee;
  if (amount <= 0) throw new ContractError('INSUFFICIENT_FUNDS', `"contracts" expected a total above the fee ${fee}, got ${total}`);
  assertNotDust('refund output', amount, req.destScript);

  const tx = newTx(lockTime);
  for (const p of prepared) addContractInput(tx, p.c, SEQUENCE_REFUND);
  tx.addOutput({ script: req.destScript, amount: BigInt(amount) });
  prepared.forEach((p, idx) => {
    const sig = signContractInput(tx, idx, p.priv);
    finishContractInput(tx, idx, refundWitness(sig, p.c.script));
  });
  return { ...finish(tx, fee), amount, lockTime };
}
