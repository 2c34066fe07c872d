/**
 * For a recipient who is not the payer (sender-pays: Carol watches Alice's contract): wait
 * until a claim of the contract output appears, mempool or block, and return the k (and r)
 * its witness published, already checked against the script's hashes.
 */
import type { ChainBackend } from '../chain/backend.ts';
import type { Outpoint } from '../contracts/index.ts';
import { contractOutSpend } from './chain.ts';
import { WatchError } from './errors.ts';

export interface ClaimFound {
  k: Uint8Array;
  r?: Uint8Array;
  txid: string;
  confirmed: boolean;
}

/** Looks once: the claim's preimages if the output is spent by a claim, else undefined. */
export async function findClaim(backend: ChainBackend, outpoint: Outpoint, script: Uint8Array, signal?: AbortSignal): Promise<ClaimFound | undefined> {
  const sp = await contractOutSpend(backend, outpoint, script, signal);
  if (sp.kind !== 'claim') return undefined;
  return { k: sp.k, ...(sp.r ? { r: sp.r } : {}), txid: sp.txid, confirmed: sp.status.confirmed };
}

/**
 * Resolves when a claim appears: checked now, at every tip change and every `pollMs`
 * (default 10,000 ms; mempool claims raise no tip event). Rejects with CLOSED on abort, and
 * with WatchError BAD_STATE if the contract was refunded instead.
 */
export function watchForClaim(
  backend: ChainBackend,
  outpoint: Outpoint,
  script: Uint8Array,
  opts: { signal?: AbortSignal; pollMs?: number } = {},
): Promise<ClaimFound> {
  return new Promise<ClaimFound>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      f();
    };
    const check = async (): Promise<void> => {
      if (done) return;
      if (checking) { again = true; return; }
      checking = true;
      try {
        const sp = await contractOutSpend(backend, outpoint, script, opts.signal);
        if (sp.kind === 'claim') finish(() => resolve({ k: sp.k, ...(sp.r ? { r: sp.r } : {}), txid: sp.txid, confirmed: sp.status.confirmed }));
        else if (sp.kind === 'refund') finish(() => reject(new WatchError('BAD_STATE', `contract ${outpoint.txid}:${outpoint.vout} was refunded by ${sp.txid}`)));
      } catch (err) {
        finish(() => reject(err));
      } finally {
        checking = false;
        if (again && !done) { again = false; void check(); }
      }
    };
    const onAbort = () => finish(() => reject(new WatchError('CLOSED', 'watchForClaim aborted')));
    if (opts.signal?.aborted) { onAbort(); return; }
    opts.signal?.addEventListener('abort', onAbort);
    const unsubscribe = backend.onTip(() => void check());
    const timer = setInterval(() => void check(), opts.pollMs ?? 10_000);
    timer.unref();
    void check();
  });
}
