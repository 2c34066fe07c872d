/**
 * The few chain questions the watcher asks, answered over any ChainBackend: how deep a
 * transaction is, who spends a contract output and what that spend revealed, and a
 * broadcast for which "already known" is success (a rebroadcast after a crash or a reorg).
 */
import { ChainError, type ChainBackend, type TxStatus } from '../chain/backend.ts';
import { findContractSpends, type Outpoint } from '../contracts/index.ts';

/** Status of txid, or undefined when neither the chain nor the mempool knows it. */
export async function statusOf(backend: ChainBackend, txid: string, signal?: AbortSignal): Promise<TxStatus | undefined> {
  try {
    return await backend.getTxStatus(txid, signal);
  } catch (err) {
    if (ChainError.is(err, 'NOT_FOUND')) return undefined;
    throw err;
  }
}

/** Blocks on top of (and including) the confirming block; 0 when unconfirmed or unknown. */
export function depth(status: TxStatus | undefined, tipHeight: number): number {
  if (!status?.confirmed || status.blockHeight === undefined) return 0;
  return tipHeight - status.blockHeight + 1;
}

/** Height of the confirming block (the tip's when the backend does not say), or null when unconfirmed or unknown. */
export function confirmedHeight(status: TxStatus | undefined, tipHeight: number): number | null {
  return status?.confirmed ? (status.blockHeight ?? tipHeight) : null;
}

/** Broadcasts; a transaction the chain or mempool already holds counts as broadcast. */
export async function rebroadcast(backend: ChainBackend, raw: Uint8Array, signal?: AbortSignal): Promise<void> {
  try {
    await backend.broadcast(raw, signal);
  } catch (err) {
    if (!ChainError.is(err, 'DUPLICATE_TX')) throw err;
  }
}

export type ContractOutSpend =
  | { kind: 'unspent' }
  | { kind: 'claim'; txid: string; status: TxStatus; k: Uint8Array; r?: Uint8Array }
  | { kind: 'refund'; txid: string; status: TxStatus };

/**
 * Who spends the contract output, by which path, and for a claim the preimages (checked
 * against the script's hashes by findContractSpends). A spender the chain reports but
 * cannot hand over (evicted between the two calls) reads as unspent: the next pass looks again.
 */
export async function contractOutSpend(backend: ChainBackend, outpoint: Outpoint, script: Uint8Array, signal?: AbortSignal): Promise<ContractOutSpend> {
  let os;
  try {
    os = await backend.getOutspend(outpoint.txid, outpoint.vout, signal);
  } catch (err) {
    if (ChainError.is(err, 'NOT_FOUND')) return { kind: 'unspent' };
    throw err;
  }
  if (!os.spent || !os.txid) return { kind: 'unspent' };
  const raw = await backend.getTx(os.txid, signal);
  if (!raw) return { kind: 'unspent' };
  const status = (await statusOf(backend, os.txid, signal)) ?? os.status ?? { confirmed: false };
  const spend = findContractSpends(raw, [script]).find((s) => s.outpoint.txid === outpoint.txid && s.outpoint.vout === outpoint.vout);
  if (!spend) return { kind: 'unspent' };
  if (spend.branch === 'refund') return { kind: 'refund', txid: os.txid, status };
  return { kind: 'claim', txid: os.txid, status, k: spend.k, ...(spend.r ? { r: spend.r } : {}) };
}
