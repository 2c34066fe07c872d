/**
 * Esplora's script hash: SHA-256 of the scriptPubKey in natural byte order. Unlike
 * the Electrum protocol's script hash this is NOT byte-reversed (electrs
 * `compute_script_hash`; mempool/mempool#4386 converts between the two).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';

export function esploraScriptHash(script: Uint8Array): string {
  return hex.encode(sha256(script));
}
