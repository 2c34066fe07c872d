/**
 * ChainBackend over a Devnet in the same process: the sync chain API behind the async
 * interface, so code written against ChainBackend runs unchanged on the devnet,
 * through HTTP (EsploraBackend) or on a real network.
 */
import { ChainError, type ChainBackend, type ChainTip, type FeeEstimates, type OutSpend, type ScriptTx, type TxStatus, type Utxo } from '../backend.ts';
import { expected } from '../../core/errors.ts';
import { RawTx } from '@scure/btc-signer';
import type { Devnet } from './devnet.ts';

export class DevnetBackend implements ChainBackend {
  readonly network = 'regtest' as const;

  constructor(private readonly devnet: Devnet) {}

  async getTip(signal?: AbortSignal): Promise<ChainTip> {
    signal?.throwIfAborted();
    return this.devnet.tip();
  }

  async getFeeEstimates(signal?: AbortSignal): Promise<FeeEstimates> {
    signal?.throwIfAborted();
    return this.devnet.feeEstimates();
  }

  async getScriptUtxos(script: Uint8Array, signal?: AbortSignal): Promise<Utxo[]> {
    signal?.throwIfAborted();
    return this.devnet.getScriptUtxos(script);
  }

  async getScriptHistory(script: Uint8Array, signal?: AbortSignal): Promise<ScriptTx[]> {
    signal?.throwIfAborted();
    return this.devnet.getScriptHistory(script);
  }

  async getTx(txid: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    signal?.throwIfAborted();
    checkTxid(txid);
    const raw = this.devnet.getTx(txid)?.raw;
    // A view, not a copy: SQLite hands back Buffers and callers compare plain Uint8Arrays.
    return raw && new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  }

  async getTxStatus(txid: string, signal?: AbortSignal): Promise<TxStatus> {
    signal?.throwIfAborted();
    return this.known(txid).status;
  }

  async getOutspend(txid: string, vout: number, signal?: AbortSignal): Promise<OutSpend> {
    signal?.throwIfAborted();
    const tx = this.known(txid);
    if (!Number.isSafeInteger(vout) || vout < 0) throw new ChainError('BAD_REQUEST', expected('vout', 'an integer >= 0', vout));
    const outputs = RawTx.decode(tx.raw).outputs.length;
    if (vout >= outputs) throw new ChainError('NOT_FOUND', `transaction ${txid} has ${outputs} outputs, no output ${vout}`);
    return this.devnet.getOutspend(txid, vout);
  }

  async broadcast(rawTx: Uint8Array, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    return this.devnet.submitTx(rawTx);
  }

  onTip(listener: (tip: ChainTip) => void): () => void {
    return this.devnet.onTip(listener);
  }

  /** Same answer as the HTTP path: an unknown txid is NOT_FOUND, not "unconfirmed". */
  private known(txid: string) {
    checkTxid(txid);
    const tx = this.devnet.getTx(txid);
    if (!tx) throw new ChainError('NOT_FOUND', `transaction ${txid} is neither in the chain nor in the mempool`);
    return tx;
  }
}

function checkTxid(txid: string): void {
  if (!/^[0-9a-f]{64}$/.test(txid)) throw new ChainError('BAD_REQUEST', expected('txid', '64 lowercase hex digits', txid));
}
