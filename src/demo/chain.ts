/**
 * The two chain reads every party of the story does for itself, through its own
 * ChainBackend (Esplora over HTTP in the demo): the relay checks a funding output before it
 * stores or claims, and the recipient reads k from a confirmed claim instead of trusting
 * anyone to hand it over.
 */
import { RawTx } from '@scure/btc-signer';
import type { ChainBackend } from '../chain/backend.ts';
import { bytesEqual, contractScriptPubKey, extractPreimages, type Outpoint } from '../contracts/index.ts';
import { expected } from '../core/errors.ts';
import { DemoError } from './errors.ts';

/**
 * Checks that `outpoint` pays exactly `amount` to the P2WSH of `script` (which the caller
 * built from terms it trusts, never from the payer's word) with at least `minConfirmations`.
 */
export async function verifyFunding(
  backend: ChainBackend,
  outpoint: Outpoint,
  script: Uint8Array,
  amount: number,
  minConfirmations: number,
): Promise<{ confirmations: number }> {
  const raw = await backend.getTx(outpoint.txid);
  if (!raw) throw new DemoError('FUNDING_MISMATCH', expected('funding txid', 'a transaction the chain knows', outpoint.txid));
  const out = RawTx.decode(Uint8Array.from(raw)).outputs[outpoint.vout];
  if (!out) throw new DemoError('FUNDING_MISMATCH', expected('funding vout', 'an output of the funding transaction', outpoint.vout));
  if (!bytesEqual(out.script, contractScriptPubKey(script))) {
    throw new DemoError('FUNDING_MISMATCH', 'the funding output does not pay the contract the relay quoted');
  }
  if (Number(out.amount) !== amount) throw new DemoError('FUNDING_MISMATCH', expected('funding amount', `${amount} sats`, Number(out.amount)));
  const [status, tip] = [await backend.getTxStatus(outpoint.txid), await backend.getTip()];
  const confirmations = status.confirmed && status.blockHeight !== undefined ? tip.height - status.blockHeight + 1 : 0;
  if (confirmations < minConfirmations) {
    throw new DemoError('FUNDING_UNCONFIRMED', expected('funding confirmations', `>= ${minConfirmations}`, confirmations));
  }
  return { confirmations };
}

export interface ClaimOnChain {
  claimTxid: string;
  blockHeight: number;
  k: Uint8Array;
  r?: Uint8Array;
}

/**
 * Finds the confirmed transaction spending the contract at `outpoint` and returns the
 * preimages its witness published (checked against the script's hashes by extractPreimages).
 */
export async function readClaimFromChain(backend: ChainBackend, outpoint: Outpoint, script: Uint8Array): Promise<ClaimOnChain> {
  const spend = await backend.getOutspend(outpoint.txid, outpoint.vout);
  if (!spend.spent || spend.txid === undefined) throw new DemoError('NO_CLAIM', `contract ${outpoint.txid}:${outpoint.vout} is not spent yet`);
  const status = await backend.getTxStatus(spend.txid);
  if (!status.confirmed || status.blockHeight === undefined) throw new DemoError('NO_CLAIM', `the spend ${spend.txid} is not confirmed yet`);
  const raw = await backend.getTx(spend.txid);
  if (!raw) throw new DemoError('NO_CLAIM', `the chain does not return the spend ${spend.txid}`);
  const claim = extractPreimages(raw, [script]).find((c) => c.outpoint.txid === outpoint.txid && c.outpoint.vout === outpoint.vout);
  if (!claim) throw new DemoError('NO_CLAIM', `${spend.txid} spends the contract but not by its claim path (a refund?)`);
  return { claimTxid: spend.txid, blockHeight: status.blockHeight, k: claim.k, ...(claim.r ? { r: claim.r } : {}) };
}
