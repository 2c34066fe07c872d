/**
 * Esplora addresses scripts by SHA-256 of the scriptPubKey (`/scripthash/:hash`), the
 * devnet by the script itself; this index maps one to the other for every output
 * the chain or mempool has seen. It only grows: a script from a block reorganised
 * away still maps correctly, its history just comes back empty. An unknown hash has
 * never been paid, so its history is empty too.
 */
import { RawTx } from '@scure/btc-signer';
import { esploraScriptHash } from '../esplora/scripthash.ts';
import type { Devnet } from './devnet.ts';

export class ScriptHashIndex {
  private readonly scripts = new Map<string, Uint8Array>();
  private readonly indexedBlocks = new Set<string>();
  private readonly indexedTxs = new Set<string>();

  constructor(private readonly devnet: Devnet) {}

  lookup(scriptHash: string): Uint8Array | undefined {
    const hit = this.scripts.get(scriptHash);
    if (hit) return hit;
    this.catchUp();
    return this.scripts.get(scriptHash);
  }

  /** Indexes blocks back from the tip to the first one already seen, then the mempool. */
  private catchUp(): void {
    const pending: string[] = [];
    for (let h = this.devnet.tip().height; h >= 0; h--) {
      const hash = this.devnet.getBlockHash(h);
      if (hash === undefined || this.indexedBlocks.has(hash)) break;
      pending.push(hash);
    }
    for (const hash of pending.reverse()) {
      const block = this.devnet.getBlock(hash);
      if (!block) continue;
      for (const txid of block.txids) this.indexTx(txid);
      this.indexedBlocks.add(hash);
    }
    for (const txid of this.devnet.mempoolTxids()) this.indexTx(txid);
  }

  private indexTx(txid: string): void {
    if (this.indexedTxs.has(txid)) return;
    const tx = this.devnet.getTx(txid);
    if (!tx) return;
    for (const out of RawTx.decode(tx.raw).outputs) this.scripts.set(esploraScriptHash(out.script), out.script);
    this.indexedTxs.add(txid);
  }
}
