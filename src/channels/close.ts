/**
 * Closing without the other side.
 *
 * Relay: broadcasts its latest fully-signed commitment (the payer's signature it holds plus
 * its own) and, in one transaction, claims every in-flight output it knows the preimages
 * for, through the contracts' own claim builder. It must do both before T_ch − claim_margin
 * and before each claimed output's T_i − claim_margin (the watcher's job, part 2).
 *
 * Payer: refunds the in-flight outputs the relay did not claim once their T_i has passed
 * (the contracts' refund builder), and takes the whole funding back by the exit branch once
 * T_ch has passed if no commitment was ever broadcast (commitment.ts buildExitTx).
 */
import { buildClaimTx } from '../contracts/claim.ts';
import type { ClaimTx } from '../contracts/claim.ts';
import { buildRefundTx } from '../contracts/refund.ts';
import type { RefundTx } from '../contracts/refund.ts';
import type { BuiltTx, ContractCoin } from '../contracts/tx.ts';
import { preimageMatches } from '../contracts/validate.ts';
import { assertSideKey, buildExitTx, commitment, signDigest } from './commitment.ts';
import type { CommitmentOutput, ExitRequest, Layout, MultisigSpend } from './commitment.ts';
import { ChannelError } from './errors.ts';
import type { ChannelState } from './state.ts';

export interface HtlcCoin extends ContractCoin {
  htlcId: number;
}

export interface Preimages {
  htlcId: number;
  k: Uint8Array;
  r?: Uint8Array;
}

export interface UnilateralClose {
  /** The commitment with both signatures, ready to broadcast. */
  commitment: BuiltTx & { layout: Layout };
  /** One claim of every output whose preimages were given; absent when none were. */
  claim?: ClaimTx;
  claimed: number[];
  /** In-flight outputs left for the payer's refund after their T_i. */
  unclaimed: HtlcCoin[];
}

/** The contract coins of a state's commitment (what its txid's outputs are). */
export function commitmentCoins(s: ChannelState): { txid: string; layout: Layout; htlcs: HtlcCoin[] } {
  const c = commitment(s, s.relayBalance, s.inFlight);
  return { txid: c.txid, layout: c.layout, htlcs: htlcCoinsOf(c) };
}

function htlcCoinsOf(c: MultisigSpend): HtlcCoin[] {
  return c.layout.outputs
    .filter((o): o is Extract<CommitmentOutput, { kind: 'htlc' }> => o.kind === 'htlc')
    .map((o) => ({ htlcId: o.htlcId, outpoint: { txid: c.txid, vout: o.vout }, amount: o.amount, script: o.script }));
}

export interface UnilateralCloseRequest {
  relayPrivkey: Uint8Array;
  /** Preimages the relay holds; each is checked against its output's hashes first. */
  preimages: readonly Preimages[];
  /** Where the claim sweeps to (the relay's wallet). */
  destScript: Uint8Array;
  /** Claim fee rate, sat/vB (the commitment's own fee was fixed at open). */
  feeRate: number;
}

export function unilateralClose(s: ChannelState, req: UnilateralCloseRequest): UnilateralClose {
  const priv = assertSideKey(s, 'relay', req.relayPrivkey);
  if (!s.payerSig) throw new ChannelError('NO_COMMITMENT', `channel ${s.id} is at state 0: the payer has signed no commitment, nothing is owed to the relay`);
  // One build of the commitment serves both its coins and its signature (up to 483 outputs).
  const spend = commitment(s, s.relayBalance, s.inFlight);
  const { layout } = spend;
  const htlcs = htlcCoinsOf(spend);
  const known = new Map<number, Preimages>();
  for (const p of req.preimages) {
    const h = s.inFlight.find((x) => x.id === p.htlcId);
    if (!h) throw new ChannelError('UNKNOWN_HTLC', `preimages given for htlc ${p.htlcId}, which is not in flight`);
    const rOk = h.mode === 'sender-pays' ? p.r instanceof Uint8Array && preimageMatches(p.r, h.hr!) : p.r === undefined;
    if (!(p.k instanceof Uint8Array) || !preimageMatches(p.k, h.hk) || !rOk) {
      throw new ChannelError('PREIMAGE_MISMATCH', `preimages of htlc ${p.htlcId} expected to hash to its H(k)${h.mode === 'sender-pays' ? ' and H(r)' : ''}, got ones that do not`);
    }
    known.set(p.htlcId, p);
  }
  const tx = spend.complete(s.payerSig, signDigest(priv, spend.digest));
  const claimable = htlcs.filter((c) => known.has(c.htlcId));
  const claim = claimable.length === 0 ? undefined : buildClaimTx({
    contracts: claimable.map((c) => {
      const { k, r } = known.get(c.htlcId)!;
      return { outpoint: c.outpoint, amount: c.amount, script: c.script, k, ...(r ? { r } : {}) };
    }),
    relayPrivkey: priv,
    destScript: req.destScript,
    feeRate: req.feeRate,
  });
  return {
    commitment: { ...tx, layout },
    ...(claim ? { claim } : {}),
    claimed: claimable.map((c) => c.htlcId),
    unclaimed: htlcs.filter((c) => !known.has(c.htlcId)),
  };
}

export interface HtlcRefundRequest {
  payerPrivkey: Uint8Array;
  destScript: Uint8Array;
  feeRate: number;
}

/**
 * The payer's refund of in-flight outputs of the commitment of state `s` (the one found on
 * chain) that the relay did not claim; valid once the tip reaches the largest of their T_i.
 */
export function refundHtlcs(s: ChannelState, htlcIds: readonly number[], req: HtlcRefundRequest): RefundTx {
  const priv = assertSideKey(s, 'payer', req.payerPrivkey);
  const { htlcs } = commitmentCoins(s);
  const coins = htlcIds.map((id) => {
    const c = htlcs.find((x) => x.htlcId === id);
    if (!c) throw new ChannelError('UNKNOWN_HTLC', `htlc ${id} is not an output of commitment ${s.n}`);
    return { outpoint: c.outpoint, amount: c.amount, script: c.script };
  });
  return buildRefundTx({ contracts: coins, payerPrivkey: priv, destScript: req.destScript, feeRate: req.feeRate });
}

/** The payer's exit after T_ch through the funding's timelocked branch. */
export function payerExit(s: ChannelState, req: ExitRequest): BuiltTx & { amount: number; lockTime: number } {
  return buildExitTx(s, req);
}
