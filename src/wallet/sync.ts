/**
 * Wallet sync over a ChainBackend. For each BIP84 chain (receive, change) addresses are
 * scanned from index 0 until `gapLimit` consecutive addresses past both the last used
 * one and the last one handed out show no history (BIP44 gap limit, default 20). Then the
 * UTXO set of the used addresses is replaced by the backend's view (mempool included),
 * new transactions are fetched and valued, and the stored history is brought up to date.
 *
 * A sync is idempotent; run it after every new block (ChainBackend.onTip) and at startup.
 */
import type { ChainBackend, ChainTip, TxStatus } from '../chain/backend.ts';
import { WalletError } from './errors.ts';
import type { Chain, WalletKeys } from './keys.ts';
import { ensureAddress, prevoutIndex, txAmounts } from './ledger.ts';
import type { AddressRow, UtxoRow, WalletStore } from './store.ts';
import { parseTx, type ParsedTx } from './tx-parse.ts';
import { outpointKey } from './coin-select.ts';

export interface SyncContext {
  store: WalletStore;
  keys: WalletKeys;
  backend: ChainBackend;
  gapLimit: number;
  now: () => number;
  /**
   * A counter the wallet bumps whenever it records a broadcast. If it moved while a scan
   * ran, the scanned view may predate that broadcast: the scan starts over instead of
   * writing an older picture over a newer one (at most 5 attempts).
   */
  localEpoch?: () => number;
}

export interface SyncOptions {
  /** Overrides the wallet's gap limit for this scan (e.g. to recover a wallet used with a larger gap). */
  gapLimit?: number;
  signal?: AbortSignal;
}

export interface SyncReport {
  tip: ChainTip;
  /** Highest used index per chain, -1 when none. */
  lastUsed: Record<Chain, number>;
  /** Addresses queried in this sync. */
  scanned: number;
  newTxs: number;
  utxos: number;
}

const parseCache = new WeakMap<WalletStore, Map<string, ParsedTx>>();

function parsedOnce(store: WalletStore, txid: string, raw: Uint8Array): ParsedTx {
  let cache = parseCache.get(store);
  if (!cache) parseCache.set(store, (cache = new Map()));
  let p = cache.get(txid);
  if (!p) cache.set(txid, (p = parseTx(raw)));
  return p;
}

export async function syncWallet(ctx: SyncContext, opts: SyncOptions = {}): Promise<SyncReport> {
  for (let attempt = 1; ; attempt++) {
    const epoch = ctx.localEpoch;
    const start = epoch?.();
    const stale = epoch && attempt < 5 ? () => epoch() !== start : undefined;
    const report = await scanOnce(ctx, opts, stale);
    if (report) return report;
  }
}

async function scanOnce(ctx: SyncContext, opts: SyncOptions, stale: (() => boolean) | undefined): Promise<SyncReport | undefined> {
  const { store, keys, backend } = ctx;
  const gap = opts.gapLimit ?? ctx.gapLimit;
  if (!Number.isInteger(gap) || gap < 1 || gap > 10_000) {
    throw new WalletError('BAD_INDEX', `"gapLimit" expected an integer in 1..10000, got ${gap}`);
  }
  const signal = opts.signal;
  const tip = await backend.getTip(signal);
  const seen = new Map<string, TxStatus>();
  const used: AddressRow[] = [];
  const lastUsed: Record<Chain, number> = { 0: -1, 1: -1 };
  let scanned = 0;

  for (const chain of [0, 1] as const) {
    const handedOut = store.counter(chain === 0 ? 'receive' : 'change');
    let next = 0;
    let end = Math.max(lastUsed[chain], handedOut - 1) + gap;
    while (next <= end) {
      const from = next;
      const to = end;
      const batch = store.tx(() => {
        const rows: AddressRow[] = [];
        for (let i = from; i <= to; i++) rows.push(ensureAddress(store, keys, chain, i));
        return rows;
      });
      const histories = await Promise.all(batch.map((a) => backend.getScriptHistory(a.script, signal)));
      scanned += batch.length;
      batch.forEach((a, k) => {
        const h = histories[k]!;
        if (h.length === 0) return;
        used.push(a);
        lastUsed[chain] = Math.max(lastUsed[chain], a.index);
        for (const t of h) seen.set(t.txid, t.status);
      });
      next = end + 1;
      end = Math.max(lastUsed[chain], handedOut - 1) + gap;
    }
  }

  const utxoLists = await Promise.all(used.map((a) => backend.getScriptUtxos(a.script, signal)));

  // Fetch only transactions not stored yet; stored raw bytes never change.
  const fresh: ParsedTx[] = [];
  const missing = [...seen.keys()].filter((txid) => !store.getTx(txid)?.raw);
  const raws = await Promise.all(missing.map((txid) => backend.getTx(txid, signal)));
  const rawById = new Map<string, Uint8Array>();
  missing.forEach((txid, k) => {
    const raw = raws[k];
    if (!raw) return; // vanished between history and fetch: the next sync settles it
    rawById.set(txid, raw);
    fresh.push(parseTx(raw));
  });
  // Each stored transaction is decoded once per store (its raw bytes never change); a sync
  // that re-decoded the whole history would grow slower with every transaction.
  const parsed = new Map<string, ParsedTx>();
  for (const t of store.txs()) if (t.raw) parsed.set(t.txid, parsedOnce(store, t.txid, t.raw));
  for (const p of fresh) parsed.set(p.txid, p);
  const prevout = prevoutIndex(store, parsed.values());

  if (stale?.()) return undefined;
  const now = ctx.now();
  store.tx(() => {
    for (const a of used) store.markUsed(a.script);
    for (const chain of [0, 1] as const) {
      const name = chain === 0 ? 'receive' : 'change';
      if (store.counter(name) < lastUsed[chain] + 1) store.setCounter(name, lastUsed[chain] + 1);
    }
    for (const [txid, status] of seen) {
      const prev = store.getTx(txid);
      const raw = rawById.get(txid) ?? prev?.raw ?? null;
      const p = parsed.get(txid);
      if (!raw || !p) continue;
      const amounts = txAmounts(store, p, prevout);
      store.upsertTx({
        txid,
        raw,
        state: status.confirmed ? 'confirmed' : 'mempool',
        own: prev?.own ?? false,
        height: status.confirmed ? (status.blockHeight ?? null) : null,
        blockTime: status.confirmed ? (status.blockTime ?? null) : null,
        received: amounts.received,
        sent: Math.max(amounts.sent, prev?.sent ?? 0),
        fee: amounts.fee ?? prev?.fee ?? null,
        createdAt: prev?.createdAt ?? now,
      });
    }
    // Transactions the chain no longer shows (evicted, replaced, reorganised away).
    for (const t of store.txs()) {
      if ((t.state === 'mempool' || t.state === 'confirmed') && !seen.has(t.txid)) store.setTxState(t.txid, 'dropped');
    }

    const utxos = new Map<string, UtxoRow>();
    used.forEach((a, k) => {
      for (const u of utxoLists[k]!) {
        utxos.set(outpointKey(u), {
          txid: u.txid,
          vout: u.vout,
          value: u.value,
          script: a.script,
          height: u.status.confirmed ? (u.status.blockHeight ?? null) : null,
          coinbase: parsed.get(u.txid)?.coinbase ?? false,
        });
      }
    });
    store.replaceUtxos([...utxos.values()]);
    // A reservation ends when its coin is spent (or never was): nothing left to protect.
    for (const l of store.locks('reserved')) if (!utxos.has(outpointKey(l))) store.deleteLock(l.txid, l.vout);
    store.setCounter('synced_height', tip.height);
  });

  return { tip, lastUsed, scanned, newTxs: fresh.length, utxos: store.utxos().length };
}
