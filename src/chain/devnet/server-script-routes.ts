/**
 * The devnet server's script endpoints, by address (`/address/:address`) or by Esplora
 * script hash (`/scripthash/:hash`): totals, history (paged as electrs pages it) and
 * unspent outputs.
 */
import type { FastifyInstance } from 'fastify';
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import type { ScriptTx } from '../backend.ts';
import type { BtcNetwork } from '../../core/network.ts';
import { toEsploraStatus } from '../esplora/status.ts';
import type { EsploraScriptStats, EsploraTx } from '../esplora/types.ts';
import type { Devnet } from './devnet.ts';
import { HASH_SCHEMA as HASH, addressScript } from './server-http.ts';
import type { ScriptHashIndex } from './server-script-index.ts';

/** electrs' page sizes for script history (API.md). */
export const MEMPOOL_PAGE = 50;
export const CHAIN_PAGE = 25;

export interface ScriptRouteDeps {
  devnet: Devnet;
  network: BtcNetwork;
  scriptIndex: ScriptHashIndex;
  /** Renders transactions in Esplora format, sharing one prevout cache per call. */
  renderTxs: (txids: string[]) => EsploraTx[];
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function registerScriptRoutes(app: FastifyInstance, deps: ScriptRouteDeps): void {
  const { devnet, network, scriptIndex } = deps;

  // Esplora's order: mempool first, then confirmed newest first (later in block first).
  const history = (script: Uint8Array | undefined): ScriptTx[] => {
    if (!script) return [];
    const order = new Map<string, number>();
    const position = (s: ScriptTx): number => {
      if (!s.status.confirmed) return 0;
      if (!order.has(s.status.blockHash!)) {
        devnet.getBlock(s.status.blockHash!)?.txids.forEach((txid, i) => order.set(`${s.status.blockHash}:${txid}`, i));
        order.set(s.status.blockHash!, 1);
      }
      return order.get(`${s.status.blockHash}:${s.txid}`) ?? 0;
    };
    return [...devnet.getScriptHistory(script)].sort((a, b) => {
      if (a.status.confirmed !== b.status.confirmed) return a.status.confirmed ? 1 : -1;
      if (!a.status.confirmed) return 0;
      return b.status.blockHeight! - a.status.blockHeight! || position(b) - position(a);
    });
  };
  const render = (list: ScriptTx[]) => deps.renderTxs(list.map((s) => s.txid));
  const mempoolOf = (list: ScriptTx[]) => list.filter((s) => !s.status.confirmed).slice(0, MEMPOOL_PAGE);
  /** The 25 confirmed transactions after `lastSeen` (from the newest when absent); [] when it is not in the history. */
  const chainPage = (list: ScriptTx[], lastSeen: string | undefined) => {
    const confirmed = list.filter((s) => s.status.confirmed);
    const start = lastSeen === undefined ? 0 : confirmed.findIndex((s) => s.txid === lastSeen.toLowerCase()) + 1;
    if (lastSeen !== undefined && start === 0) return [];
    return confirmed.slice(start, start + CHAIN_PAGE);
  };

  /** Totals as electrs' ScriptStats: outputs paying the script and inputs spending them, by confirmation. */
  const stats = (script: Uint8Array | undefined) => {
    const zero = (): EsploraScriptStats => ({ funded_txo_count: 0, funded_txo_sum: 0, spent_txo_count: 0, spent_txo_sum: 0, tx_count: 0 });
    const chain = zero();
    const mempool = zero();
    if (!script) return { chain, mempool };
    for (const entry of history(script)) {
      const s = entry.status.confirmed ? chain : mempool;
      const tx = devnet.getTx(entry.txid);
      if (!tx) continue;
      const decoded = RawTx.decode(tx.raw);
      s.tx_count++;
      for (const o of decoded.outputs) {
        if (!sameBytes(o.script, script)) continue;
        s.funded_txo_count++;
        s.funded_txo_sum += Number(o.amount);
      }
      for (const input of decoded.inputs) {
        const prev = devnet.getTx(hex.encode(input.txid));
        const out = prev && RawTx.decode(prev.raw).outputs[input.index];
        if (!out || !sameBytes(out.script, script)) continue;
        s.spent_txo_count++;
        s.spent_txo_sum += Number(out.amount);
      }
    }
    return { chain, mempool };
  };

  const afterTxid = { type: 'object', properties: { after_txid: HASH }, additionalProperties: true } as const;
  const scriptRoutes = (kind: 'address' | 'scripthash', param: object, resolve: (key: string) => Uint8Array | undefined): void => {
    const prefix = `/${kind}`;
    const schema = { params: { type: 'object', properties: { key: param }, required: ['key'] }, querystring: afterTxid };
    const chainSchema = {
      params: { type: 'object', properties: { key: param, last: HASH }, required: ['key', 'last'] },
    };
    type P = { Params: { key: string; last?: string }; Querystring: { after_txid?: string } };
    app.get<P>(`${prefix}/:key`, { schema }, async (req) => {
      const { chain, mempool } = stats(resolve(req.params.key));
      return { [kind]: req.params.key, chain_stats: chain, mempool_stats: mempool };
    });
    app.get<P>(`${prefix}/:key/utxo`, { schema }, async (req) => {
      const script = resolve(req.params.key);
      return script
        ? devnet.getScriptUtxos(script).map((u) => ({ txid: u.txid, vout: u.vout, status: toEsploraStatus(u.status), value: u.value }))
        : [];
    });
    // `?after_txid=` (mempool.space's spelling of paging) on /txs and /txs/chain: the page
    // after that transaction; on /txs a mempool txid continues through the mempool first.
    app.get<P>(`${prefix}/:key/txs`, { schema }, async (req) => {
      const list = history(resolve(req.params.key));
      const after = req.query.after_txid?.toLowerCase();
      if (after === undefined) return render([...mempoolOf(list), ...chainPage(list, undefined)]);
      const pending = list.filter((s) => !s.status.confirmed);
      const at = pending.findIndex((s) => s.txid === after);
      if (at >= 0) return render([...pending.slice(at + 1, at + 1 + MEMPOOL_PAGE), ...chainPage(list, undefined)]);
      return render(chainPage(list, after));
    });
    app.get<P>(`${prefix}/:key/txs/mempool`, { schema }, async (req) => render(mempoolOf(history(resolve(req.params.key)))));
    app.get<P>(`${prefix}/:key/txs/chain`, { schema }, async (req) =>
      render(chainPage(history(resolve(req.params.key)), req.query.after_txid)),
    );
    app.get<P>(`${prefix}/:key/txs/chain/:last`, { schema: chainSchema }, async (req) =>
      render(chainPage(history(resolve(req.params.key)), req.params.last)),
    );
  };
  scriptRoutes('address', { type: 'string', minLength: 1, maxLength: 100 }, (addr) => addressScript(addr, network));
  scriptRoutes('scripthash', HASH, (hash) => scriptIndex.lookup(hash.toLowerCase()));
}
