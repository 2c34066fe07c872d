/**
 * Transactions as the devnet sees them: parsed once from the wire with @scure/btc-signer's
 * `RawTx`, with txid, wtxid, size and weight computed exactly as Bitcoin does (BIP141).
 * Amounts become JS numbers only after the MAX_MONEY bound is checked.
 */
import { RawTx } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { ChainError } from '../backend.ts';
import { expected } from '../../core/errors.ts';

export const MAX_MONEY = 21_000_000 * 100_000_000;
export const NULL_TXID = '0'.repeat(64);

export interface TxIn {
  /** Display-order hex of the previous transaction. */
  txid: string;
  vout: number;
  scriptSig: Uint8Array;
  sequence: number;
  witness: Uint8Array[];
}

export interface TxOut {
  value: number;
  script: Uint8Array;
}

export interface ParsedTx {
  /** Signed, as serialized (int32); compare as uint32 where Core does. */
  version: number;
  inputs: TxIn[];
  outputs: TxOut[];
  lockTime: number;
  txid: string;
  wtxid: string;
  hasWitness: boolean;
  /** Serialized size with witness, bytes. */
  size: number;
  weight: number;
  vsize: number;
  raw: Uint8Array;
}

export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** Internal byte order (as hashed) to display order hex, and back. */
export function toDisplayHex(internal: Uint8Array): string {
  return bytesToHex(Uint8Array.from(internal).reverse());
}

export function fromDisplayHex(display: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(display)) throw new ChainError('BAD_REQUEST', expected('hash', '64 lowercase hex characters', display));
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[31 - i] = parseInt(display.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function isCoinbaseInput(i: { txid: string; vout: number }): boolean {
  return i.txid === NULL_TXID && i.vout === 0xffffffff;
}

export function isCoinbase(tx: ParsedTx): boolean {
  return tx.inputs.length === 1 && isCoinbaseInput(tx.inputs[0]!);
}

type RawTxShape = ReturnType<typeof RawTx.decode>;

/** Parses wire bytes; every failure (truncation, trailing bytes, out-of-range amounts) is MALFORMED_TX. */
export function parseTx(raw: Uint8Array): ParsedTx {
  let d: RawTxShape;
  try {
    d = RawTx.decode(raw);
  } catch (cause) {
    throw new ChainError('MALFORMED_TX', `transaction does not parse: ${(cause as Error).message}`, { cause });
  }
  const outputs: TxOut[] = d.outputs.map((o, i) => {
    if (o.amount > BigInt(MAX_MONEY)) {
      throw new ChainError('MALFORMED_TX', expected(`output ${i} amount`, `0..${MAX_MONEY} sats`, o.amount.toString()));
    }
    return { value: Number(o.amount), script: o.script };
  });
  const hasWitness = !!d.segwitFlag && !!d.witnesses && d.witnesses.some((w) => w.length > 0);
  if (d.segwitFlag && !hasWitness) throw new ChainError('MALFORMED_TX', 'segwit marker set but every witness is empty');
  const inputs: TxIn[] = d.inputs.map((inp, i) => ({
    // RawInput's txid coder already reverses into display order.
    txid: bytesToHex(inp.txid),
    vout: inp.index,
    scriptSig: inp.finalScriptSig,
    sequence: inp.sequence,
    witness: (d.witnesses && d.witnesses[i]) || [],
  }));
  return finish(d, inputs, outputs, hasWitness, raw);
}

function finish(d: RawTxShape, inputs: TxIn[], outputs: TxOut[], hasWitness: boolean, raw: Uint8Array): ParsedTx {
  const stripped = hasWitness ? RawTx.encode({ ...d, segwitFlag: false, witnesses: undefined }) : raw;
  const txid = toDisplayHex(sha256d(stripped));
  const wtxid = hasWitness ? toDisplayHex(sha256d(raw)) : txid;
  const weight = stripped.length * 3 + raw.length;
  return {
    version: d.version,
    inputs,
    outputs,
    lockTime: d.lockTime,
    txid,
    wtxid,
    hasWitness,
    size: raw.length,
    weight,
    vsize: Math.ceil(weight / 4),
    raw,
  };
}

/** Serializes a transaction built in code (coinbases); the result round-trips through parseTx. */
export function buildTx(t: {
  version: number;
  inputs: { txid: string; vout: number; scriptSig: Uint8Array; sequence: number; witness?: Uint8Array[] }[];
  outputs: TxOut[];
  lockTime: number;
}): ParsedTx {
  const withWitness = t.inputs.some((i) => (i.witness?.length ?? 0) > 0);
  const raw = RawTx.encode({
    version: t.version,
    segwitFlag: withWitness,
    inputs: t.inputs.map((i) => ({ txid: hexToBytes(i.txid), index: i.vout, finalScriptSig: i.scriptSig, sequence: i.sequence })),
    outputs: t.outputs.map((o) => ({ amount: BigInt(o.value), script: o.script })),
    witnesses: withWitness ? t.inputs.map((i) => i.witness ?? []) : undefined,
    lockTime: t.lockTime,
  });
  return parseTx(raw);
}
