/**
 * ChainBackend over an Esplora HTTP API: Blockstream's electrs on mainnet, testnet or
 * signet, or our own devnet server (src/chain/devnet/server.ts). Only the devnet can
 * be exercised in this repository's tests; public servers speak the same API.
 *
 * Every failure is a ChainError: NOT_FOUND for a 404, BACKEND_UNAVAILABLE when the
 * server cannot be reached, times out or answers 5xx/garbage, and for a refused
 * broadcast the code parsed from the answer (see rejection.ts).
 */
import { hex } from '@scure/base';
import { ChainError, type ChainBackend, type ChainTip, type FeeEstimates, type OutSpend, type ScriptTx, type TxStatus, type Utxo } from '../backend.ts';
import type { NetworkName } from '../../core/network.ts';
import { expected } from '../../core/errors.ts';
import { parseRejection } from './rejection.ts';
import { esploraScriptHash } from './scripthash.ts';
import { fromEsploraOutspend, fromEsploraStatus } from './status.ts';
import type { EsploraBlock, EsploraOutspend, EsploraStatus, EsploraTx, EsploraUtxo } from './types.ts';

export interface EsploraBackendOptions {
  /** API root, e.g. `https://blockstream.info/testnet/api` or `http://127.0.0.1:18443`. */
  baseUrl: string;
  network: NetworkName;
  /** Injected so tests and browsers can supply their own; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Tip polling period while onTip has listeners, in ms. Default 1000. */
  pollIntervalMs?: number;
  /** Per-request timeout in ms. Default 10000. */
  timeoutMs?: number;
}

/** electrs pages confirmed history 25 transactions at a time (API.md, /txs/chain). */
const CHAIN_PAGE = 25;
const HEX64 = /^[0-9a-f]{64}$/;

export class EsploraBackend implements ChainBackend {
  readonly network: NetworkName;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly pollIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly listeners = new Set<(tip: ChainTip) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private polling = false;
  /** Last tip any call saw; seeds the poller's baseline when a polling session starts. */
  private lastTip: ChainTip | undefined;
  /** The poller's own baseline: what listeners were last told (or the session's seed). */
  private reported: ChainTip | undefined;

  constructor(opts: EsploraBackendOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.network = opts.network;
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async getTip(signal?: AbortSignal): Promise<ChainTip> {
    // The hash first, then that block's own height: two separate "tip" calls could
    // straddle a new block and pair a height with the wrong hash.
    const hash = (await this.text('/blocks/tip/hash', signal)).trim();
    if (!HEX64.test(hash)) throw new ChainError('BACKEND_UNAVAILABLE', expected('tip hash', '64 hex digits', hash));
    // A block's height never changes: the tip unchanged since the last call needs no second request.
    if (this.lastTip?.hash === hash) return { ...this.lastTip };
    const block = await this.json<EsploraBlock>(`/block/${hash}`, signal);
    const tip = { height: block.height, hash };
    this.lastTip = tip;
    return tip;
  }

  async getFeeEstimates(signal?: AbortSignal): Promise<FeeEstimates> {
    return this.json<FeeEstimates>('/fee-estimates', signal);
  }

  async getScriptUtxos(script: Uint8Array, signal?: AbortSignal): Promise<Utxo[]> {
    const utxos = await this.json<EsploraUtxo[]>(`/scripthash/${esploraScriptHash(script)}/utxo`, signal);
    return utxos.map((u) => ({ txid: u.txid, vout: u.vout, value: u.value, status: fromEsploraStatus(u.status) }));
  }

  async getScriptHistory(script: Uint8Array, signal?: AbortSignal): Promise<ScriptTx[]> {
    const base = `/scripthash/${esploraScriptHash(script)}/txs`;
    const first = await this.json<EsploraTx[]>(base, signal);
    const out: ScriptTx[] = first.map((t) => ({ txid: t.txid, status: fromEsploraStatus(t.status) }));
    // The first page holds the mempool plus up to 25 confirmed; page on while full.
    let confirmed = first.filter((t) => t.status.confirmed);
    while (confirmed.length === CHAIN_PAGE) {
      const page = await this.json<EsploraTx[]>(`${base}/chain/${confirmed[confirmed.length - 1]!.txid}`, signal);
      out.push(...page.map((t) => ({ txid: t.txid, status: fromEsploraStatus(t.status) })));
      confirmed = page;
    }
    return out;
  }

  async getTx(txid: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    checkTxid(txid);
    try {
      const res = await this.request(`/tx/${txid}/raw`, signal);
      return new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (ChainError.is(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async getTxStatus(txid: string, signal?: AbortSignal): Promise<TxStatus> {
    checkTxid(txid);
    const status = await this.json<EsploraStatus>(`/tx/${txid}/status`, signal);
    // electrs answers an unknown txid `{"confirmed":false}` too; only /tx/:txid/hex
    // tells a mempool transaction (200) from an unknown one (404 -> NOT_FOUND).
    if (!status.confirmed) await this.text(`/tx/${txid}/hex`, signal);
    return fromEsploraStatus(status);
  }

  async getOutspend(txid: string, vout: number, signal?: AbortSignal): Promise<OutSpend> {
    checkTxid(txid);
    if (!Number.isSafeInteger(vout) || vout < 0) throw new ChainError('BAD_REQUEST', expected('vout', 'an integer >= 0', vout));
    // electrs answers /tx/:txid/outspend/:vout `{"spent":false}` for an unknown
    // transaction or output; /outspends is 404 for an unknown txid and has one entry per output.
    const all = await this.json<EsploraOutspend[]>(`/tx/${txid}/outspends`, signal);
    if (!Array.isArray(all)) throw new ChainError('BACKEND_UNAVAILABLE', expected(`answer of /tx/${txid}/outspends`, 'a JSON array', all));
    const one = all[vout];
    if (one === undefined) throw new ChainError('NOT_FOUND', `/tx/${txid}/outspends: no output ${vout} (the transaction has ${all.length})`);
    return fromEsploraOutspend(one);
  }

  async broadcast(rawTx: Uint8Array, signal?: AbortSignal): Promise<string> {
    const res = await this.send('/tx', { method: 'POST', body: hex.encode(rawTx), headers: { 'content-type': 'text/plain' } }, signal);
    const body = await this.readText(res);
    if (res.status === 400) throw parseRejection(res.status, body);
    if (!res.ok) throw httpFailure(res.status, body, '/tx');
    const txid = body.trim();
    if (!HEX64.test(txid)) throw new ChainError('BACKEND_UNAVAILABLE', expected('broadcast answer', 'a txid', txid));
    return txid;
  }

  onTip(listener: (tip: ChainTip) => void): () => void {
    if (this.listeners.size === 0 && this.timer === undefined && !this.polling) {
      // Changes are reported relative to the newest tip the caller could know of, so
      // `await getTip(); onTip(l); mine()` reports the new block even if the first
      // poll only runs after it.
      this.reported = this.lastTip;
      this.schedule(0);
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => void this.poll(), delay);
    // A forgotten subscription must not keep the process alive.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    try {
      const tip = await this.getTip();
      const before = this.reported;
      this.reported = tip;
      if (before !== undefined && before.hash !== tip.hash) {
        for (const l of [...this.listeners]) l(tip);
      }
    } catch {
      // A transient outage: keep polling; callers see errors from their own calls.
    } finally {
      this.polling = false;
      if (this.listeners.size > 0) this.schedule(this.pollIntervalMs);
    }
  }

  private async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request(path, signal);
    const body = await this.readText(res);
    try {
      return JSON.parse(body) as T;
    } catch (cause) {
      throw new ChainError('BACKEND_UNAVAILABLE', expected(`answer of ${path}`, 'JSON', body), { cause });
    }
  }

  private async text(path: string, signal?: AbortSignal): Promise<string> {
    return this.readText(await this.request(path, signal));
  }

  /** GET that resolves only on 2xx; 404 becomes NOT_FOUND. */
  private async request(path: string, signal?: AbortSignal): Promise<Response> {
    const res = await this.send(path, { method: 'GET' }, signal);
    if (!res.ok) throw httpFailure(res.status, await this.readText(res), path);
    return res;
  }

  private async send(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, { ...init, signal: combined });
    } catch (cause) {
      const why = signal?.aborted ? 'aborted by caller' : timeout.aborted ? `timed out after ${this.timeoutMs} ms` : (cause as Error).message;
      throw new ChainError('BACKEND_UNAVAILABLE', `${init.method} ${this.baseUrl}${path}: ${why}`, { cause });
    }
  }

  private async readText(res: Response): Promise<string> {
    try {
      return await res.text();
    } catch (cause) {
      throw new ChainError('BACKEND_UNAVAILABLE', `reading answer from ${this.baseUrl}: ${(cause as Error).message}`, { cause });
    }
  }
}

function checkTxid(txid: string): void {
  if (!HEX64.test(txid)) throw new ChainError('BAD_REQUEST', expected('txid', '64 lowercase hex digits', txid));
}

function httpFailure(status: number, body: string, path: string): ChainError {
  const text = body.trim().slice(0, 300);
  if (status === 404) return new ChainError('NOT_FOUND', `${path}: ${text || 'not found'}`);
  if (status >= 400 && status < 500) return new ChainError('BAD_REQUEST', `${path}: HTTP ${status}: ${text}`);
  return new ChainError('BACKEND_UNAVAILABLE', `${path}: HTTP ${status}: ${text}`);
}
