/**
 * JSON shapes of the Esplora HTTP API (Blockstream/esplora API.md), as served by
 * Blockstream's electrs and by our devnet server. Field names are snake_case because
 * that is the wire format; conversion to the ChainBackend types lives in status.ts.
 */

export type EsploraStatus =
  | { confirmed: false }
  | { confirmed: true; block_height: number; block_hash: string; block_time: number };

export interface EsploraVout {
  scriptpubkey: string;
  /** Disassembly in rust-bitcoin's notation (see asm.ts). */
  scriptpubkey_asm: string;
  scriptpubkey_type: string;
  /** Absent when the script has no address form (OP_RETURN, bare multisig, unknown). */
  scriptpubkey_address?: string;
  value: number;
}

export interface EsploraVin {
  txid: string;
  vout: number;
  /** null for coinbase inputs, as in electrs. */
  prevout: EsploraVout | null;
  scriptsig: string;
  scriptsig_asm: string;
  witness?: string[];
  is_coinbase: boolean;
  sequence: number;
  /** The redeemScript of a P2SH spend; absent otherwise. */
  inner_redeemscript_asm?: string;
  /** The witnessScript of a P2WSH (or P2SH-P2WSH) spend; absent otherwise. */
  inner_witnessscript_asm?: string;
}

/** `/address/:address` and `/scripthash/:hash`: totals over confirmed or mempool transactions. */
export interface EsploraScriptStats {
  funded_txo_count: number;
  funded_txo_sum: number;
  spent_txo_count: number;
  spent_txo_sum: number;
  tx_count: number;
}

export interface EsploraTx {
  txid: string;
  version: number;
  locktime: number;
  vin: EsploraVin[];
  vout: EsploraVout[];
  size: number;
  weight: number;
  fee: number;
  status: EsploraStatus;
}

export interface EsploraUtxo {
  txid: string;
  vout: number;
  value: number;
  status: EsploraStatus;
}

export interface EsploraOutspend {
  spent: boolean;
  txid?: string;
  vin?: number;
  status?: EsploraStatus;
}

export interface EsploraBlock {
  id: string;
  height: number;
  version: number;
  timestamp: number;
  tx_count: number;
  size: number;
  weight: number;
  merkle_root: string;
  /** null only for the genesis block. */
  previousblockhash: string | null;
  mediantime: number;
  nonce: number;
  bits: number;
  difficulty: number;
}
