/**
 * The whole of what satpost needs from a Bitcoin chain. Kept tiny on purpose (Core
 * Lightning's backend is five methods): everything else (wallet sync, contract
 * watching) is built once above it. Every implementation passes the same compliance
 * suite (test/chain/backend-compliance.ts).
 *
 * Amounts are integer satoshis as JS numbers (exact below 2^53, far above 21e14).
 * Txids and block hashes are lowercase hex in display (RPC) byte order.
 */
import type { NetworkName } from '../core/network.ts';
import { SatpostError } from '../core/errors.ts';

export interface ChainTip {
  height: number;
  hash: string;
}

export interface TxStatus {
  confirmed: boolean;
  blockHeight?: number;
  blockHash?: string;
  /** Header time of the confirming block (unix seconds). */
  blockTime?: number;
}

export interface Utxo {
  txid: string;
  vout: number;
  value: number;
  status: TxStatus;
}

export interface ScriptTx {
  txid: string;
  status: TxStatus;
}

export interface OutSpend {
  spent: boolean;
  txid?: string;
  vin?: number;
  status?: TxStatus;
}

/** Fee rate in sat/vB for a confirmation target in blocks. */
export type FeeEstimates = Record<string, number>;

export interface ChainBackend {
  readonly network: NetworkName;
  getTip(signal?: AbortSignal): Promise<ChainTip>;
  getFeeEstimates(signal?: AbortSignal): Promise<FeeEstimates>;
  /** Unspent outputs paying exactly this scriptPubKey, mempool included. */
  getScriptUtxos(script: Uint8Array, signal?: AbortSignal): Promise<Utxo[]>;
  /** Transactions paying to or spending from this scriptPubKey, mempool included. */
  getScriptHistory(script: Uint8Array, signal?: AbortSignal): Promise<ScriptTx[]>;
  /** Raw transaction bytes, or undefined when neither the chain nor the mempool has it. */
  getTx(txid: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  getTxStatus(txid: string, signal?: AbortSignal): Promise<TxStatus>;
  /** Which transaction (mempool or chain) spends txid:vout, if any. */
  getOutspend(txid: string, vout: number, signal?: AbortSignal): Promise<OutSpend>;
  /** Submits a raw transaction; resolves its txid or rejects with a ChainError. */
  broadcast(rawTx: Uint8Array, signal?: AbortSignal): Promise<string>;
  /** Calls `listener` whenever the tip changes (new block or reorg). Returns unsubscribe. */
  onTip(listener: (tip: ChainTip) => void): () => void;
}

export type ChainErrorCode =
  | 'BAD_SIGNATURE'
  | 'SCRIPT_FAILED'
  | 'MISSING_INPUT'
  | 'INPUT_SPENT'
  | 'IMMATURE_COINBASE'
  | 'LOCKTIME_NOT_REACHED'
  | 'SEQUENCE_LOCK_NOT_REACHED'
  | 'FEE_TOO_LOW'
  | 'MALFORMED_TX'
  | 'TX_TOO_LARGE'
  | 'BLOCK_TOO_LARGE'
  | 'BAD_BLOCK'
  | 'DUPLICATE_TX'
  | 'NON_STANDARD'
  | 'NOT_FOUND'
  | 'BACKEND_UNAVAILABLE'
  | 'BAD_REQUEST';

/** Rejections by a chain (devnet or remote), with a stable code and the node's reason. */
export class ChainError extends SatpostError<ChainErrorCode> {}
