/**
 * The relay's claim: one transaction sweeping any number of contracts through their claim
 * paths to one output. Publishing it publishes every k (and r), which is the whole point:
 * payment and key release are one step. The relay must only claim contracts whose funding
 * has the confirmations its policy requires (a payer who sees k in the mempool could
 * otherwise double-spend an unconfirmed funding).
 */
import { ContractError } from './errors.ts';
import { claimWitness } from './script.ts';
import { claimWitnessBytes, feeFor, segwitVsize } from './size.ts';
import {
  addContractInput, assertDistinct, assertNonEmpty, assertScript, checkContractCoin, finish, finishContractInput,
  newTx, SEQUENCE_RBF, signContractInput,
} from './tx.ts';
import type { BuiltTx, ContractCoin } from './tx.ts';
import { assertFeeRate, assertNotDust, assertPreimage, bytesEqual, dustThreshold, pubkeyOf } from './validate.ts';

export interface ClaimItem extends ContractCoin {
  /** The blob key; must hash to the contract's H(k). */
  k: Uint8Array;
  /** Carol's receipt secret; required for sender-pays, must hash to H(r). */
  r?: Uint8Array;
  /** Overrides the request's relayPrivkey for this contract. */
  relayPrivkey?: Uint8Array;
}

export interface ClaimRequest {
  contracts: ClaimItem[];
  relayPrivkey?: Uint8Array;
  /** Where the sweep goes (the relay's wallet). */
  destScript: Uint8Array;
  /** sat/vB */
  feeRate: number;
}

export interface ClaimTx extends BuiltTx {
  /** What the single output receives: the sum of the contracts minus the fee. */
  amount: number;
}

export function estimateClaimVsize(items: readonly { mode: 'sender-pays' | 'recipient-pays'; scriptLength: number }[], destScriptLength: number): number {
  return segwitVsize(items.map((i) => claimWitnessBytes(i.mode, i.scriptLength)), [destScriptLength]);
}

export function buildClaimTx(req: ClaimRequest): ClaimTx {
  assertNonEmpty('contracts', req.contracts);
  assertScript('destScript', req.destScript);
  assertFeeRate('feeRate', req.feeRate);
  assertDistinct('contracts', req.contracts.map((c) => c.outpoint));

  const prepared = req.contracts.map((c, i) => {
    const name = `contracts[${i}]`;
    const terms = checkContractCoin(name, c);
    assertPreimage(`${name}.k`, c.k, terms.hk);
    if (terms.mode === 'sender-pays') assertPreimage(`${name}.r`, c.r, terms.hr!);
    else if (c.r !== undefined) throw new ContractError('PREIMAGE_MISMATCH', `"${name}.r" expected nothing for a recipient-pays contract, got ${c.r instanceof Uint8Array ? `${c.r.length} bytes` : 'a value'}`);
    const priv = c.relayPrivkey ?? req.relayPrivkey;
    const pub = pubkeyOf(`${name}.relayPrivkey`, priv);
    if (!bytesEqual(pub, terms.relayPubkey)) throw new ContractError('WRONG_KEY', `"${name}.relayPrivkey" expected the key of the contract's relay_pubkey, got another key`);
    return { c, terms, priv: priv! };
  });

  const total = prepared.reduce((a, p) => a + p.c.amount, 0);
  const vsize = estimateClaimVsize(prepared.map((p) => ({ mode: p.terms.mode, scriptLength: p.c.script.length })), req.destScript.length);
  const fee = feeFor(vsize, req.feeRate);
  const amount = total - fee;
  if (amount <= 0) throw new ContractError('INSUFFICIENT_FUNDS', `"contracts" expected a total above the fee ${fee}, got ${total}`);
  assertNotDust('claim output', amount, req.destScript);

  const tx = newTx(0);
  for (const p of prepared) addContractInput(tx, p.c, SEQUENCE_RBF);
  tx.addOutput({ script: req.destScript, amount: BigInt(amount) });
  prepared.forEach((p, idx) => {
    const sig = signContractInput(tx, idx, p.priv);
    finishContractInput(tx, idx, claimWitness(sig, p.c.script, p.c.k, p.c.r));
  });
  return { ...finish(tx, fee), amount };
}

/** Each fee bump raises a claim's fee rate by at least this factor (and at least 1 sat/vB). */
export const CLAIM_BUMP_FACTOR = 1.5;

export interface ClaimBumpRequest {
  items: readonly { mode: 'sender-pays' | 'recipient-pays'; scriptLength: number; amount: number }[];
  destScript: Uint8Array;
  /** Fee of the claim now stored (the one to replace). */
  currentFee: number;
  /** The chain's current estimate (sat/vB); the bump is never below it. */
  marketRate: number;
}

/**
 * The fee rate (sat/vB) of the next replacement of a claim: at least CLAIM_BUMP_FACTOR times
 * and 1 sat/vB above the current rate (so it also pays BIP125's incremental relay fee of
 * 1 sat/vB), and at least the market rate; capped where the claim output would fall below
 * the dust threshold, since anything the claim keeps beats losing all of it to the refund.
 * Undefined when the cap leaves no room for a raise of 1 sat/vB (nothing a mempool would take).
 */
export function bumpedClaimFeeRate(req: ClaimBumpRequest): number | undefined {
  assertNonEmpty('items', req.items);
  assertScript('destScript', req.destScript);
  const vsize = estimateClaimVsize(req.items, req.destScript.length);
  const total = req.items.reduce((a, i) => a + i.amount, 0);
  const current = req.currentFee / vsize;
  const cap = Math.floor((total - dustThreshold(req.destScript)) / vsize);
  const next = Math.min(cap, Math.max(Math.ceil(current * CLAIM_BUMP_FACTOR), Math.ceil(current + 1), Math.ceil(req.marketRate)));
  return next >= current + 1 ? next : undefined;
}
