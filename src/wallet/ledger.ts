/**
 * What a transaction means to the wallet: sats received on wallet addresses, sats sent
 * from wallet coins, and the fee when every input is ours. Also derives and records
 * addresses on demand, and applies the wallet's own transactions to the UTXO table
 * the moment they are broadcast (so the next spend does not wait for a sync).
 */
import { hex } from '@scure/base';
import type { WalletKeys, Chain } from './keys.ts';
import type { AddressRow, TxRow, TxState, WalletStore } from './store.ts';
import { parseTx, type ParsedTx } from './tx-parse.ts';

export interface TxAmounts {
  received: number;
  sent: number;
  fee: number | null;
}

export type PrevoutLookup = (txid: string, vout: number) => { value: number; mine: boolean } | undefined;

/** Outputs of the given transactions, so the inputs spending them can be valued without the chain. */
export function prevoutIndex(store: WalletStore, txs: Iterable<ParsedTx>): PrevoutLookup {
  const outs = new Map<string, { value: number; mine: boolean }>();
  for (const p of txs) {
    for (const o of p.outputs) outs.set(`${p.txid}:${o.vout}`, { value: o.value, mine: isMine(store, o.script) });
  }
  return (txid, vout) => outs.get(`${txid}:${vout}`);
}

const mineCache = new WeakMap<WalletStore, Map<string, boolean>>();

export function isMine(store: WalletStore, script: Uint8Array): boolean {
  let cache = mineCache.get(store);
  if (!cache) mineCache.set(store, (cache = new Map()));
  const key = hex.encode(script);
  const hit = cache.get(key);
  if (hit) return true;
  const mine = store.addressByScript(script) !== undefined;
  // Only positive answers are cached: an address derived later must become "mine".
  if (mine) cache.set(key, true);
  return mine;
}

export function txAmounts(store: WalletStore, p: ParsedTx, prevout: PrevoutLookup): TxAmounts {
  const received = p.outputs.filter((o) => isMine(store, o.script)).reduce((s, o) => s + o.value, 0);
  let sent = 0;
  let allInputsKnownMine = !p.coinbase && p.inputs.length > 0;
  for (const i of p.inputs) {
    const prev = prevout(i.txid, i.vout);
    if (prev?.mine) sent += prev.value;
    else allInputsKnownMine = false;
  }
  const fee = allInputsKnownMine ? sent - p.outputs.reduce((s, o) => s + o.value, 0) : null;
  return { received, sent, fee };
}

export function ensureAddress(store: WalletStore, keys: WalletKeys, chain: Chain, index: number): AddressRow {
  const have = store.getAddress(chain, index);
  if (have) return have;
  const { script, address } = keys.address(chain, index);
  store.insertAddress({ script, chain, index, address });
  return { script, chain, index, address, used: false };
}

/**
 * Records a transaction this wallet built (state 'pending' before broadcast, 'mempool'
 * after) and, once broadcast, moves its spent coins out of and its outputs to us into
 * the UTXO table as unconfirmed.
 */
export function recordOwnTx(store: WalletStore, raw: Uint8Array, state: TxState, now: number): ParsedTx {
  const p = parseTx(raw);
  // Our own transactions spend only coins from the UTXO table, so no history scan is needed.
  const utxos = new Map(store.utxos().map((u) => [`${u.txid}:${u.vout}`, u.value]));
  const amounts = txAmounts(store, p, (txid, vout) => {
    const value = utxos.get(`${txid}:${vout}`);
    return value === undefined ? undefined : { value, mine: true };
  });
  store.tx(() => {
    const prev = store.getTx(p.txid);
    // Once recorded, amounts stand: by now a sync may have removed the coins it spent.
    if (prev) Object.assign(amounts, { received: prev.received, sent: prev.sent, fee: prev.fee });
    const row: TxRow = {
      txid: p.txid,
      raw,
      state,
      own: true,
      height: prev?.height ?? null,
      blockTime: prev?.blockTime ?? null,
      ...amounts,
      createdAt: prev?.createdAt ?? now,
    };
    store.upsertTx(row);
    if (state === 'pending') return;
    for (const i of p.inputs) store.deleteUtxo(i.txid, i.vout);
    for (const o of p.outputs) {
      if (!isMine(store, o.script)) continue;
      store.markUsed(o.script);
      store.insertUtxo({ txid: p.txid, vout: o.vout, value: o.value, script: o.script, height: null, coinbase: false });
    }
  });
  return p;
}
