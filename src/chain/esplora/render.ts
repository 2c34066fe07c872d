/**
 * Renders chain records into Esplora's JSON (transaction format and block format of
 * Blockstream/esplora API.md, as electrs serialises them). Server side only; the
 * EsploraBackend reads raw bytes and needs none of this.
 */
import { Address, OutScript, RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import type { BtcNetwork } from '../../core/network.ts';
import type { TxStatus } from '../backend.ts';
import { parseScript, scriptAsm } from './asm.ts';
import { toEsploraStatus } from './status.ts';
import type { EsploraBlock, EsploraTx, EsploraVin, EsploraVout } from './types.ts';

export interface TxRecord {
  txid: string;
  raw: Uint8Array;
  status: TxStatus;
  /** Absent for coinbase transactions. */
  fee?: number;
  weight: number;
}

export interface BlockRecord {
  hash: string;
  height: number;
  prev: string;
  time: number;
  txids: string[];
  weight: number;
  size: number;
  /** The 80-byte serialised header. */
  header: Uint8Array;
}

export interface Prevout {
  script: Uint8Array;
  value: number;
}
export type PrevoutLookup = (txid: string, vout: number) => Prevout | undefined;

const ZERO_HASH = '0'.repeat(64);
const COINBASE_VOUT = 0xffffffff;

/** electrs' names for output types (rest.rs ScriptToAddr / script type). */
export function scriptPubKeyType(script: Uint8Array): string {
  if (script.length === 0) return 'empty';
  if (script[0] === 0x6a) return 'op_return';
  let decoded: { type: string } | undefined;
  try {
    decoded = OutScript.decode(script);
  } catch {
    return 'unknown';
  }
  switch (decoded?.type) {
    case 'pk':
      return 'p2pk';
    case 'pkh':
      return 'p2pkh';
    case 'sh':
      return 'p2sh';
    case 'wpkh':
      return 'v0_p2wpkh';
    case 'wsh':
      return 'v0_p2wsh';
    case 'tr':
      return 'v1_p2tr';
    case 'ms':
      return 'multisig';
    case 'p2a':
      return 'anchor';
    default:
      return 'unknown';
  }
}

export function scriptAddress(script: Uint8Array, network: BtcNetwork): string | undefined {
  try {
    const decoded = OutScript.decode(script);
    if (decoded.type === 'pk' || decoded.type === 'ms' || decoded.type === 'unknown') return undefined;
    return Address(network).encode(decoded);
  } catch {
    return undefined;
  }
}

export function renderVout(script: Uint8Array, value: number, network: BtcNetwork): EsploraVout {
  const address = scriptAddress(script, network);
  // Key order as electrs prints it (rest.rs TxOutValue).
  return {
    scriptpubkey: hex.encode(script),
    scriptpubkey_asm: scriptAsm(script),
    scriptpubkey_type: scriptPubKeyType(script),
    ...(address === undefined ? {} : { scriptpubkey_address: address }),
    value,
  };
}

const isP2sh = (s: Uint8Array): boolean => s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87;
const isP2wsh = (s: Uint8Array): boolean => s.length === 34 && s[0] === 0x00 && s[1] === 0x20;

/**
 * The redeemScript of a P2SH spend (the scriptSig's last push) and the witnessScript of
 * a P2WSH or P2SH-P2WSH spend (the last witness item), as electrs' get_innerscripts.
 */
export function innerScripts(
  scriptSig: Uint8Array,
  witness: readonly Uint8Array[] | undefined,
  prevoutScript: Uint8Array,
): { redeem?: Uint8Array; witness?: Uint8Array } {
  let redeem: Uint8Array | undefined;
  if (isP2sh(prevoutScript)) {
    const { instructions, error } = parseScript(scriptSig);
    const last = instructions[instructions.length - 1];
    if (!error && last?.data !== undefined) redeem = last.data;
  }
  const wrapsWsh = isP2wsh(prevoutScript) || (redeem !== undefined && isP2wsh(redeem));
  const ws = wrapsWsh && witness && witness.length > 0 ? witness[witness.length - 1] : undefined;
  return { ...(redeem ? { redeem } : {}), ...(ws ? { witness: ws } : {}) };
}

export function renderTx(tx: TxRecord, prevout: PrevoutLookup, network: BtcNetwork): EsploraTx {
  const decoded = RawTx.decode(tx.raw);
  let inputSum = 0;
  let prevoutsKnown = true;
  const vin: EsploraVin[] = decoded.inputs.map((input, i) => {
    const txid = hex.encode(input.txid);
    const isCoinbase = txid === ZERO_HASH && input.index === COINBASE_VOUT;
    let prev: EsploraVout | null = null;
    let prevScript: Uint8Array | undefined;
    if (!isCoinbase) {
      const p = prevout(txid, input.index);
      if (p) {
        prev = renderVout(p.script, p.value, network);
        prevScript = p.script;
        inputSum += p.value;
      } else prevoutsKnown = false;
    }
    const witness = decoded.witnesses?.[i];
    const inner = prevScript ? innerScripts(input.finalScriptSig, witness, prevScript) : {};
    // electrs' key order (rest.rs TxInValue), with `witness` and the inner scripts left
    // out when the input has none.
    return {
      txid,
      vout: input.index,
      prevout: prev,
      scriptsig: hex.encode(input.finalScriptSig),
      scriptsig_asm: scriptAsm(input.finalScriptSig),
      ...(witness && witness.length > 0 ? { witness: witness.map((w) => hex.encode(w)) } : {}),
      is_coinbase: isCoinbase,
      sequence: input.sequence,
      ...(inner.redeem ? { inner_redeemscript_asm: scriptAsm(inner.redeem) } : {}),
      ...(inner.witness ? { inner_witnessscript_asm: scriptAsm(inner.witness) } : {}),
    };
  });
  const vout = decoded.outputs.map((o) => renderVout(o.script, Number(o.amount), network));
  const outputSum = vout.reduce((s, o) => s + o.value, 0);
  const isCoinbase = vin.length === 1 && vin[0]!.is_coinbase;
  const fee = tx.fee ?? (isCoinbase || !prevoutsKnown ? 0 : inputSum - outputSum);
  return {
    txid: tx.txid,
    version: decoded.version,
    locktime: decoded.lockTime,
    vin,
    vout,
    size: tx.raw.length,
    weight: tx.weight,
    fee,
    status: toEsploraStatus(tx.status),
  };
}

/** Median of the header times of a block and its (up to) ten ancestors (BIP113). */
export function medianTimePast(times: readonly number[]): number {
  if (times.length === 0) throw new RangeError('medianTimePast needs at least one block time');
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Difficulty relative to the minimum (bits 0x1d00ffff), as bitcoind's GetDifficulty. */
export function difficultyFromBits(bits: number): number {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x00ffffff;
  return (0xffff / mantissa) * 256 ** (0x1d - exponent);
}

export function renderBlock(block: BlockRecord, medianTime: number): EsploraBlock {
  if (block.header.length !== 80) throw new RangeError(`block header expected 80 bytes, got ${block.header.length}`);
  const view = new DataView(block.header.buffer, block.header.byteOffset, 80);
  const bits = view.getUint32(72, true);
  return {
    id: block.hash,
    height: block.height,
    version: view.getInt32(0, true),
    timestamp: block.time,
    tx_count: block.txids.length,
    size: block.size,
    weight: block.weight,
    merkle_root: hex.encode(block.header.slice(36, 68).reverse()),
    previousblockhash: block.prev === ZERO_HASH || block.prev === '' ? null : block.prev,
    mediantime: medianTime,
    nonce: view.getUint32(76, true),
    bits,
    difficulty: difficultyFromBits(bits),
  };
}
