/**
 * What the narrator reads from the chain itself, not from any party's word: a transaction's
 * size and fee, the contract output of a funding, the claim that spends it and the k (and r)
 * its witness published. The devnet is in this process, so these are direct reads of the
 * same SQLite chain every wallet and relay reaches over HTTP.
 */
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import type { Devnet } from '../chain/devnet/devnet.ts';
import { extractPreimages, parseContractScript } from '../contracts/index.ts';
import { H } from '../core/hash.ts';
import { messageIdOf } from '../core/objects/index.ts';
import { DemoError } from './errors.ts';
import type { TxFigure } from './narrator.ts';

/** Size and fee as the chain has them (vsize = weight / 4, rounded up as Bitcoin Core does). */
export function txFigure(devnet: Devnet, label: string, txid: string): TxFigure {
  const tx = devnet.getTx(txid);
  if (!tx) throw new DemoError('STORY_MISMATCH', `the chain does not know transaction ${txid} (${label})`);
  if (tx.fee === undefined) throw new DemoError('STORY_MISMATCH', `the chain has no fee for ${txid} (${label}): a coinbase?`);
  return { label, txid, vsize: Math.ceil(tx.weight / 4), fee: tx.fee };
}

/** The P2WSH output of `fundingTxid` paying exactly `amount`: the contract it funds. */
export function contractOutput(devnet: Devnet, fundingTxid: string, amount: number): { txid: string; vout: number } {
  const tx = devnet.getTx(fundingTxid);
  if (!tx) throw new DemoError('STORY_MISMATCH', `the chain does not know the funding ${fundingTxid}`);
  const outputs = RawTx.decode(tx.raw).outputs;
  const vout = outputs.findIndex((o) => o.script.length === 34 && o.script[0] === 0x00 && o.script[1] === 0x20 && Number(o.amount) === amount);
  if (vout < 0) throw new DemoError('STORY_MISMATCH', `${fundingTxid} has no P2WSH output of ${amount} sats`);
  return { txid: fundingTxid, vout };
}

/** The transaction spending the contract, if the chain or its mempool has one. */
export function spenderOf(devnet: Devnet, outpoint: { txid: string; vout: number }): string | undefined {
  const s = devnet.getOutspend(outpoint.txid, outpoint.vout);
  return s.spent ? s.txid : undefined;
}

export interface ClaimOnChain {
  claimTxid: string;
  blockHeight: number;
  k: Uint8Array;
  r?: Uint8Array;
}

/**
 * k (and r) from the confirmed claim of the contract at `outpoint`: the witness script is
 * parsed as a satpost contract, its preimages checked against its own hashes
 * (extractPreimages), and k must be the key of message `messageId` (id = H(tag || H(k))).
 */
export function readClaim(devnet: Devnet, outpoint: { txid: string; vout: number }, messageId: string): ClaimOnChain {
  const claimTxid = spenderOf(devnet, outpoint);
  if (claimTxid === undefined) throw new DemoError('NO_CLAIM', `contract ${outpoint.txid}:${outpoint.vout} is not spent`);
  const status = devnet.getTxStatus(claimTxid);
  if (!status.confirmed || status.blockHeight === undefined) throw new DemoError('NO_CLAIM', `the claim ${claimTxid} is not confirmed`);
  const raw = devnet.getTx(claimTxid)!.raw;
  const decoded = RawTx.decode(raw);
  const vin = decoded.inputs.findIndex((i) => hex.encode(i.txid) === outpoint.txid && i.index === outpoint.vout);
  const script = decoded.witnesses?.[vin]?.at(-1);
  if (vin < 0 || script === undefined) throw new DemoError('NO_CLAIM', `${claimTxid} carries no witness script for the contract`);
  parseContractScript(script);
  const claim = extractPreimages(raw, [script]).find((c) => c.outpoint.txid === outpoint.txid && c.outpoint.vout === outpoint.vout);
  if (!claim) throw new DemoError('NO_CLAIM', `${claimTxid} spends the contract, but not by its claim path (a refund?)`);
  if (hex.encode(messageIdOf(H(claim.k))) !== messageId) {
    throw new DemoError('NO_CLAIM', `the k published by ${claimTxid} is not the key of message ${messageId}`);
  }
  return { claimTxid, blockHeight: status.blockHeight, k: claim.k, ...(claim.r ? { r: claim.r } : {}) };
}
