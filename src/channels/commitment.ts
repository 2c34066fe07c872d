/**
 * The channel's transactions, all deterministic functions of the channel parameters and a
 * state's balances, so both sides build the very same bytes and sign or verify them:
 *
 * - commitment n: version 2, nLockTime 0, one input (the funding outpoint, nSequence
 *   0xfffffffd), outputs in canonical order: relay balance (P2WPKH of relay_pubkey), payer
 *   change (P2WPKH of payer_pubkey), then one P2WSH per in-flight HTLC sorted by (T_i, H(k)),
 *   each exactly that message's contract script. Valid at once (nLockTime 0); the sequence
 *   opts into BIP125 so a stuck commitment may be replaced by a later one, and it differs
 *   from the cooperative close's so a close signature never doubles as a commitment one.
 * - cooperative close: the same outputs with nothing in flight, nSequence 0xffffffff (final).
 * - payer exit: the ELSE branch after T_ch, nLockTime T_ch, nSequence 0xfffffffe.
 *
 * Fees come from the payer's side at the fee rate fixed at open. An output below its dust
 * threshold (294 sats for P2WPKH) is left out and its value goes to the fee.
 */
import { p2wpkh, SigHash, Transaction } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { buildContractScript, contractScriptPubKey } from '../contracts/script.ts';
import type { ContractMode, ContractTerms } from '../contracts/script.ts';
import { feeFor } from '../contracts/size.ts';
import type { BuiltTx, Outpoint } from '../contracts/tx.ts';
import { assertNotDust, bytesEqual, dustThreshold, pubkeyOf } from '../contracts/validate.ts';
import { expected } from '../core/errors.ts';
import { ChannelError } from './errors.ts';
import { buildFundingScript, exitWitness, fundingScriptPubKey, multisigWitness } from './script.ts';
import { exitVsize, multisigSpendVsize } from './size.ts';

export const SEQUENCE_COMMITMENT = 0xfffffffd;
export const SEQUENCE_CLOSE = 0xffffffff;
export const SEQUENCE_EXIT = 0xfffffffe;

/** What both sides agree at open and never change. */
export interface ChannelParams {
  payerPubkey: Uint8Array;
  relayPubkey: Uint8Array;
  /** T_ch: block height from which the payer alone may take the funding back. */
  channelLocktime: number;
  /** Blocks before a deadline by which the relay must have claimed (T_i < T_ch − claimMargin). */
  claimMargin: number;
  /** Fee rate of every commitment and of the cooperative close, integer sat/vB. */
  feeRate: number;
  /** The funding output's value in sats. */
  capacity: number;
  fundingOutpoint: Outpoint;
}

/** A hash-locked output in flight: the on-chain contract of one message. */
export interface Htlc {
  /** Per-channel sequence number assigned by the payer (0, 1, 2, ...). */
  id: number;
  mode: ContractMode;
  hk: Uint8Array;
  /** Present exactly for sender-pays. */
  hr?: Uint8Array;
  amount: number;
  /** T_i, a block height. */
  locktime: number;
}

export type CommitmentOutput =
  | { kind: 'relay'; vout: number; amount: number; scriptPubKey: Uint8Array }
  | { kind: 'payer'; vout: number; amount: number; scriptPubKey: Uint8Array }
  | { kind: 'htlc'; vout: number; amount: number; scriptPubKey: Uint8Array; htlcId: number; script: Uint8Array };

export interface Layout {
  outputs: CommitmentOutput[];
  /** capacity − Σ outputs: the fee rate's fee plus any output left out as dust. */
  fee: number;
}

export function htlcTerms(p: ChannelParams, h: Htlc): ContractTerms {
  return {
    mode: h.mode, hk: h.hk, ...(h.hr ? { hr: h.hr } : {}),
    relayPubkey: p.relayPubkey, payerPubkey: p.payerPubkey, locktime: h.locktime,
  };
}

/**
 * Scripts derived from a channel's keys, memoised: deriving them validates both keys (point
 * decompression), which would otherwise dominate the cost of an update. The memo is a pure
 * function of its key and bounded, so results never depend on what ran before.
 */
interface Derived { fundingScript: Uint8Array; fundingSpk: Uint8Array; relayScript: Uint8Array; payerScript: Uint8Array }
const MEMO_LIMIT = 4096;
const derivedMemo = new Map<string, Derived>();
const htlcMemo = new Map<string, Uint8Array>();

function memo<V>(m: Map<string, V>, key: string, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    if (m.size >= MEMO_LIMIT) m.clear();
    m.set(key, v);
  }
  return v;
}

function derived(p: ChannelParams): Derived {
  return memo(derivedMemo, `${hex.encode(p.payerPubkey)}${hex.encode(p.relayPubkey)}${p.channelLocktime}`, () => {
    const fundingScript = buildFundingScript({ payerPubkey: p.payerPubkey, relayPubkey: p.relayPubkey, channelLocktime: p.channelLocktime });
    return {
      fundingScript,
      fundingSpk: fundingScriptPubKey(fundingScript),
      relayScript: p2wpkh(p.relayPubkey).script,
      payerScript: p2wpkh(p.payerPubkey).script,
    };
  });
}

export function fundingScriptOf(p: ChannelParams): Uint8Array {
  return derived(p).fundingScript;
}

/** The HTLC's contract script (buildContractScript, memoised: it validates both keys each time). */
export function htlcScript(p: ChannelParams, h: Htlc): Uint8Array {
  const key = [p.relayPubkey, p.payerPubkey, h.hk, h.hr ?? new Uint8Array(0)].map((b) => hex.encode(b)).join('/') + `/${h.mode}/${h.locktime}`;
  return memo(htlcMemo, key, () => buildContractScript(htlcTerms(p, h)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Canonical HTLC order: T_i ascending, then H(k) bytewise (H(k) is unique within a channel). */
export function sortHtlcs(hs: readonly Htlc[]): Htlc[] {
  return [...hs].sort((a, b) => a.locktime - b.locktime || compareBytes(a.hk, b.hk));
}

/**
 * The outputs and fee of the transaction paying `relayBalance` to the relay, `inFlight` to
 * their contracts and the rest, less the fee, to the payer. INSUFFICIENT_CAPACITY when the
 * payer's side cannot pay the fee or relay + in flight exceed the capacity.
 */
export function layout(p: ChannelParams, relayBalance: number, inFlight: readonly Htlc[], fundingScriptLength = fundingScriptOf(p).length): Layout {
  const inFlightTotal = inFlight.reduce((a, h) => a + h.amount, 0);
  const payerSide = p.capacity - relayBalance - inFlightTotal;
  if (payerSide < 0) {
    throw new ChannelError('INSUFFICIENT_CAPACITY', `relay ${relayBalance} + in flight ${inFlightTotal} expected <= capacity ${p.capacity}, got ${relayBalance + inFlightTotal}`);
  }
  const { relayScript, payerScript } = derived(p);
  const htlcs = sortHtlcs(inFlight).map((h) => {
    const script = htlcScript(p, h);
    return { h, script, scriptPubKey: contractScriptPubKey(script) };
  });
  const withRelay = relayBalance >= dustThreshold(relayScript);
  const lengths = (withPayer: boolean) => [
    ...(withRelay ? [relayScript.length] : []), ...(withPayer ? [payerScript.length] : []), ...htlcs.map((x) => x.scriptPubKey.length),
  ];
  const feeWithChange = feeFor(multisigSpendVsize(fundingScriptLength, lengths(true)), p.feeRate);
  let payerAmount = payerSide - feeWithChange;
  if (payerAmount < dustThreshold(payerScript)) {
    payerAmount = 0;
    const feeNoChange = feeFor(multisigSpendVsize(fundingScriptLength, lengths(false)), p.feeRate);
    if (payerSide < feeNoChange) {
      throw new ChannelError('INSUFFICIENT_CAPACITY', `payer's side expected >= the commitment fee ${feeNoChange} sats, got ${payerSide}`);
    }
  }
  const outputs: CommitmentOutput[] = [];
  if (withRelay) outputs.push({ kind: 'relay', vout: outputs.length, amount: relayBalance, scriptPubKey: relayScript });
  if (payerAmount > 0) outputs.push({ kind: 'payer', vout: outputs.length, amount: payerAmount, scriptPubKey: payerScript });
  for (const x of htlcs) {
    outputs.push({ kind: 'htlc', vout: outputs.length, amount: x.h.amount, scriptPubKey: x.scriptPubKey, htlcId: x.h.id, script: x.script });
  }
  const fee = p.capacity - outputs.reduce((a, o) => a + o.amount, 0);
  return { outputs, fee };
}

function unsigned(p: ChannelParams, fundingScript: Uint8Array, outputs: readonly { amount: number; scriptPubKey: Uint8Array }[], sequence: number, lockTime: number): Transaction {
  const tx = new Transaction({ version: 2, lockTime, allowUnknownInputs: true, allowUnknownOutputs: true });
  tx.addInput({
    txid: hex.decode(p.fundingOutpoint.txid),
    index: p.fundingOutpoint.vout,
    sequence,
    witnessUtxo: { script: derived(p).fundingSpk, amount: BigInt(p.capacity) },
    witnessScript: fundingScript,
  });
  for (const o of outputs) tx.addOutput({ script: o.scriptPubKey, amount: BigInt(o.amount) });
  return tx;
}

/** BIP143 digest of input 0 (SIGHASH_ALL) against the funding script. */
function digest(p: ChannelParams, tx: Transaction, fundingScript: Uint8Array): Uint8Array {
  return tx.preimageWitnessV0(0, fundingScript, SigHash.ALL, BigInt(p.capacity));
}

/** A 2-of-2 spend (commitment or close) ready to sign: its digest and how to finish it. */
export interface MultisigSpend {
  layout: Layout;
  digest: Uint8Array;
  /** Completes the witness with both compact signatures (payer's first, as the script orders the keys). */
  complete(sigPayer: Uint8Array, sigRelay: Uint8Array): BuiltTx;
  txid: string;
}

function multisigSpend(p: ChannelParams, lay: Layout, sequence: number, fundingScript: Uint8Array): MultisigSpend {
  const tx = unsigned(p, fundingScript, lay.outputs, sequence, 0);
  const d = digest(p, tx, fundingScript);
  return {
    layout: lay,
    digest: d,
    txid: tx.id,
    complete(sigPayer, sigRelay) {
      tx.updateInput(0, { finalScriptWitness: multisigWitness(derSig(sigPayer), derSig(sigRelay), fundingScript) }, true);
      const raw = tx.extract();
      return { tx: raw, txid: tx.id, vsize: tx.vsize, fee: lay.fee };
    },
  };
}

/** Commitment for the given balances. */
export function commitment(p: ChannelParams, relayBalance: number, inFlight: readonly Htlc[]): MultisigSpend {
  const fs = fundingScriptOf(p);
  return multisigSpend(p, layout(p, relayBalance, inFlight, fs.length), SEQUENCE_COMMITMENT, fs);
}

/** Cooperative close: the relay's balance to the relay, the rest less the fee to the payer. */
export function cooperativeCloseTx(p: ChannelParams, relayBalance: number): MultisigSpend {
  const fs = fundingScriptOf(p);
  return multisigSpend(p, layout(p, relayBalance, [], fs.length), SEQUENCE_CLOSE, fs);
}

/** Compact (r||s, low-S) ECDSA signature of a digest; RFC 6979 nonces, so deterministic. */
export function signDigest(privkey: Uint8Array, d: Uint8Array): Uint8Array {
  return secp256k1.sign(d, privkey, { prehash: false, lowS: true });
}

export function verifyDigest(sig: unknown, d: Uint8Array, pubkey: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  try {
    return secp256k1.verify(sig, d, pubkey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}

/** DER with the SIGHASH_ALL byte, as the witness carries it. */
export function derSig(compact: Uint8Array): Uint8Array {
  const der = secp256k1.Signature.fromBytes(compact, 'compact').toBytes('der');
  const out = new Uint8Array(der.length + 1);
  out.set(der);
  out[der.length] = SigHash.ALL;
  return out;
}

/** Checks that privkey is the channel's key for `side` and returns it. */
export function assertSideKey(p: ChannelParams, side: 'payer' | 'relay', privkey: Uint8Array): Uint8Array {
  let pub: Uint8Array;
  try {
    pub = pubkeyOf(`${side}Privkey`, privkey);
  } catch (err) {
    throw new ChannelError('WRONG_KEY', (err as Error).message, { cause: err });
  }
  if (!bytesEqual(pub, side === 'payer' ? p.payerPubkey : p.relayPubkey)) {
    throw new ChannelError('WRONG_KEY', `"${side}Privkey" expected the key of the channel's ${side}_pubkey, got another key`);
  }
  return privkey;
}

export interface ExitRequest {
  payerPrivkey: Uint8Array;
  destScript: Uint8Array;
  /** sat/vB */
  feeRate: number;
}

/** The payer's exit through the timelocked branch: valid once the tip has reached T_ch. */
export function buildExitTx(p: ChannelParams, req: ExitRequest): BuiltTx & { amount: number; lockTime: number } {
  const priv = assertSideKey(p, 'payer', req.payerPrivkey);
  if (!(req.destScript instanceof Uint8Array) || req.destScript.length === 0) throw new ChannelError('BAD_PARAMS', expected('destScript', 'a scriptPubKey', req.destScript));
  if (typeof req.feeRate !== 'number' || !(req.feeRate > 0) || req.feeRate > 100_000) throw new ChannelError('BAD_PARAMS', expected('feeRate', 'a fee rate in sat/vB, > 0 and <= 100000', req.feeRate));
  const fs = fundingScriptOf(p);
  const fee = feeFor(exitVsize(fs.length, req.destScript.length), req.feeRate);
  const amount = p.capacity - fee;
  try {
    assertNotDust('exit output', amount, req.destScript);
  } catch (err) {
    throw new ChannelError('INSUFFICIENT_CAPACITY', (err as Error).message, { cause: err });
  }
  const tx = unsigned(p, fs, [{ amount, scriptPubKey: req.destScript }], SEQUENCE_EXIT, p.channelLocktime);
  const sig = signDigest(priv, digest(p, tx, fs));
  tx.updateInput(0, { finalScriptWitness: exitWitness(derSig(sig), fs) }, true);
  return { tx: tx.extract(), txid: tx.id, vsize: tx.vsize, fee, amount, lockTime: p.channelLocktime };
}
