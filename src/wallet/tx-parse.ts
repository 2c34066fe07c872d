/**
 * Reading raw transactions the wallet sees: which outpoints they spend, what they pay,
 * and whether they are coinbase. Scripts of any kind are accepted (contract outputs,
 * OP_RETURN); only the wallet's own P2WPKH outputs matter to it.
 *
 * Decodes with the bare wire coder (RawTx) rather than a full Transaction: sync reads
 * every stored transaction, and the wire coder is about 15x cheaper.
 */
import { RawTx } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { WalletError } from './errors.ts';

export interface ParsedTx {
  txid: string;
  inputs: { txid: string; vout: number }[];
  outputs: { vout: number; script: Uint8Array; value: number }[];
  coinbase: boolean;
  vsize: number;
}

export function parseTx(raw: Uint8Array): ParsedTx {
  let tx: ReturnType<typeof RawTx.decode>;
  let stripped: Uint8Array;
  try {
    tx = RawTx.decode(raw);
    stripped = RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined });
  } catch (cause) {
    throw new WalletError('CORRUPT_WALLET', `cannot parse a raw transaction: ${(cause as Error).message}`, { cause });
  }
  const txid = hex.encode(sha256(sha256(stripped)).reverse());
  // Input txids decode in display order (the coder reverses them).
  const inputs = tx.inputs.map((i) => ({ txid: hex.encode(i.txid), vout: i.index }));
  const outputs = tx.outputs.map((o, vout) => ({ vout, script: o.script, value: Number(o.amount) }));
  const first = inputs[0];
  const coinbase = inputs.length === 1 && first !== undefined && /^0{64}$/.test(first.txid) && first.vout === 0xffffffff;
  return { txid, inputs, outputs, coinbase, vsize: Math.ceil((stripped.length * 3 + raw.length) / 4) };
}
