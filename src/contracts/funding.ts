/**
 * The payer's funding transaction: wallet P2WPKH coins in, one P2WSH output per contract
 * (in the order given), then change. One transaction may fund many contracts, which is
 * the first lever on on-chain cost per message. Coin selection belongs to the wallet: this
 * builder spends exactly the inputs it is handed.
 *
 * Change is added only when it is at least the change script's dust threshold; otherwise
 * the remainder goes to the fee. Every input signals RBF (BIP125) so a stuck funding can be
 * bumped.
 */
import { OutScript, p2wpkh } from '@scure/btc-signer';
import type { Transaction } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { ContractError } from './errors.ts';
import { buildContractScript, contractScriptPubKey } from './script.ts';
import type { ContractTerms } from './script.ts';
import { feeFor, P2WPKH_WITNESS_BYTES, segwitVsize } from './size.ts';
import { assertDistinct, assertNonEmpty, assertOutpoint, assertScript, finish, newTx, SEQUENCE_RBF } from './tx.ts';
import type { BuiltTx, Outpoint } from './tx.ts';
import { assertFeeRate, assertLocktime, assertSats, bytesEqual, dustThreshold, P2WSH_DUST, pubkeyOf } from './validate.ts';

export interface FundingInput {
  outpoint: Outpoint;
  value: number;
  /** The coin's scriptPubKey; must be P2WPKH. */
  script: Uint8Array;
  /** Its key. Without it, the request's signInput callback signs this input. */
  privateKey?: Uint8Array;
}

export interface FundingRequest {
  inputs: FundingInput[];
  contracts: { terms: ContractTerms; amount: number }[];
  changeScript: Uint8Array;
  /** sat/vB */
  feeRate: number;
  /** nLockTime (e.g. the tip, against fee sniping); default 0. */
  lockTime?: number;
  /** Signs and finalizes input `index` of `tx` (for keys this module never sees). */
  signInput?: (tx: Transaction, index: number) => void;
}

export interface FundedContract {
  vout: number;
  amount: number;
  script: Uint8Array;
  scriptPubKey: Uint8Array;
}

export interface FundingTx extends BuiltTx {
  contracts: FundedContract[];
  change?: { vout: number; amount: number };
}

/** vsize of a funding transaction with nIn P2WPKH inputs, these contract scripts and optional change. */
export function estimateFundingVsize(nIn: number, nContracts: number, changeScriptLength?: number): number {
  const outs = new Array<number>(nContracts).fill(34);
  if (changeScriptLength !== undefined) outs.push(changeScriptLength);
  return segwitVsize(new Array<number>(nIn).fill(P2WPKH_WITNESS_BYTES), outs);
}

export function buildFundingTx(req: FundingRequest): FundingTx {
  assertNonEmpty('inputs', req.inputs);
  assertNonEmpty('contracts', req.contracts);
  assertScript('changeScript', req.changeScript);
  assertFeeRate('feeRate', req.feeRate);
  const lockTime = req.lockTime ?? 0;
  assertLocktime('lockTime', lockTime);

  req.inputs.forEach((inp, i) => {
    assertOutpoint(`inputs[${i}].outpoint`, inp.outpoint);
    assertSats(`inputs[${i}].value`, inp.value);
    assertScript(`inputs[${i}].script`, inp.script);
    let type: string;
    try { type = OutScript.decode(inp.script).type; } catch { type = 'unparseable'; }
    if (type !== 'wpkh') throw new ContractError('BAD_SCRIPT', `"inputs[${i}].script" expected a P2WPKH scriptPubKey, got ${type}`);
    if (inp.privateKey !== undefined) {
      const pub = pubkeyOf(`inputs[${i}].privateKey`, inp.privateKey);
      if (!bytesEqual(p2wpkh(pub).script, inp.script)) throw new ContractError('WRONG_KEY', `"inputs[${i}].privateKey" expected the key of its P2WPKH script, got another key`);
    } else if (!req.signInput) {
      throw new ContractError('WRONG_KEY', `"inputs[${i}].privateKey" expected a key (or a signInput callback), got nothing`);
    }
  });
  assertDistinct('inputs', req.inputs.map((i) => i.outpoint));

  const outputs = req.contracts.map((c, i) => {
    const script = buildContractScript(c.terms);
    assertSats(`contracts[${i}].amount`, c.amount);
    if (c.amount < P2WSH_DUST) throw new ContractError('DUST', `"contracts[${i}].amount" expected >= ${P2WSH_DUST} sats (P2WSH dust threshold), got ${c.amount}`);
    return { vout: i, amount: c.amount, script, scriptPubKey: contractScriptPubKey(script) };
  });

  const totalIn = req.inputs.reduce((a, i) => a + i.value, 0);
  const totalOut = outputs.reduce((a, o) => a + o.amount, 0);
  const nIn = req.inputs.length;
  const feeWithChange = feeFor(estimateFundingVsize(nIn, outputs.length, req.changeScript.length), req.feeRate);
  const changeAmount = totalIn - totalOut - feeWithChange;
  let fee: number;
  let change: FundingTx['change'];
  if (changeAmount >= dustThreshold(req.changeScript)) {
    fee = feeWithChange;
    change = { vout: outputs.length, amount: changeAmount };
  } else {
    const feeNoChange = feeFor(estimateFundingVsize(nIn, outputs.length), req.feeRate);
    if (totalIn - totalOut < feeNoChange) {
      throw new ContractError('INSUFFICIENT_FUNDS', `"inputs" expected >= ${totalOut + feeNoChange} sats (contracts ${totalOut} + fee ${feeNoChange}), got ${totalIn}`);
    }
    fee = totalIn - totalOut;
  }

  const tx = newTx(lockTime);
  for (const inp of req.inputs) {
    tx.addInput({
      txid: hex.decode(inp.outpoint.txid),
      index: inp.outpoint.vout,
      sequence: SEQUENCE_RBF,
      witnessUtxo: { script: inp.script, amount: BigInt(inp.value) },
    });
  }
  for (const o of outputs) tx.addOutput({ script: o.scriptPubKey, amount: BigInt(o.amount) });
  if (change) tx.addOutput({ script: req.changeScript, amount: BigInt(change.amount) });
  req.inputs.forEach((inp, idx) => {
    if (inp.privateKey) {
      tx.signIdx(inp.privateKey, idx);
      tx.finalizeIdx(idx);
    } else {
      req.signInput!(tx, idx);
    }
  });
  return { ...finish(tx, fee), contracts: outputs, ...(change ? { change } : {}) };
}
