/**
 * The devnet as an HTTP service: the Esplora REST API (Blockstream/esplora API.md, the
 * JSON shapes electrs serves) over a Devnet, so wallets and tools written for public
 * Esplora servers work against it unchanged, plus development endpoints under /dev/
 * (mine, faucet, invalidate, mine-on) that no public server has.
 *
 * Esplora endpoints answer errors as plain text like electrs ("Transaction not found",
 * 404); /dev/ endpoints answer JSON `{ error: { code, message } }`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { ChainError, type ScriptTx } from '../backend.ts';
import { NETWORKS, type BtcNetwork } from '../../core/network.ts';
import { expected } from '../../core/errors.ts';
import { formatRejection } from '../esplora/rejection.ts';
import { medianTimePast, renderBlock, renderTx, type Prevout } from '../esplora/render.ts';
import { toEsploraOutspend, toEsploraStatus } from '../esplora/status.ts';
import type { EsploraTx } from '../esplora/types.ts';
import type { Devnet } from './devnet.ts';
import { ScriptHashIndex } from './server-script-index.ts';
import { registerDevRoutes } from './server-dev-routes.ts';
import { HASH_SCHEMA as HASH, HttpError, addressScript } from './server-http.ts';

export interface DevnetServerOptions {
  devnet: Devnet;
  /** Default 127.0.0.1: the devnet's faucet and mining are for this machine only. */
  host?: string;
  /** Default 0: any free port (read it back from the result). */
  port?: number;
  /** A pino logger; default none. */
  logger?: FastifyBaseLogger;
}

export interface DevnetServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** electrs' page sizes for script history (API.md). */
const MEMPOOL_PAGE = 50;
const CHAIN_PAGE = 25;
/** Largest raw transaction body accepted, in bytes of hex: a whole 4 MWU block. */
const MAX_TX_HEX = 8 * 1024 * 1024;

export async function startDevnetServer(opts: DevnetServerOptions): Promise<DevnetServer> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // Refuse unknown body fields instead of silently dropping them (Fastify's default).
    ajv: { customOptions: { removeAdditional: false } },
  });
  // Esplora takes POST /tx as bare hex whatever the content type (curl -d sends
  // form-urlencoded), so every body that is not JSON arrives as a string.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_TX_HEX }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const dev = req.url.startsWith('/dev/');
    let status: number;
    let code: string;
    if (err instanceof HttpError) {
      status = err.status;
      code = status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    } else if (err instanceof ChainError) {
      status = err.code === 'NOT_FOUND' ? 404 : 400;
      code = err.code;
    } else if (err.validation || (err.statusCode !== undefined && err.statusCode < 500)) {
      status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      code = 'BAD_REQUEST';
    } else {
      req.log.error({ err }, 'devnet server bug');
      status = 500;
      code = 'INTERNAL';
    }
    // A bug's own message may carry internals; clients get a fixed text.
    const message = status === 500 ? 'Internal server error' : err.message;
    void reply.code(status);
    if (dev) return reply.send({ error: { code, message } });
    return reply.type('text/plain; charset=utf-8').send(message);
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain; charset=utf-8').send('Not found'));

  registerEsploraRoutes(app, opts.devnet);
  registerDevRoutes(app, opts.devnet);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('devnet server has no TCP address');
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${address.port}`, port: address.port, close: () => app.close() };
}

function registerEsploraRoutes(app: FastifyInstance, devnet: Devnet): void {
  const network: BtcNetwork = NETWORKS[devnet.network];
  const scriptIndex = new ScriptHashIndex(devnet);

  const txOr404 = (txid: string) => {
    const tx = devnet.getTx(txid.toLowerCase());
    if (!tx) throw new HttpError(404, 'Transaction not found');
    return tx;
  };
  const blockOr404 = (hash: string) => {
    const block = devnet.getBlock(hash.toLowerCase());
    if (!block) throw new HttpError(404, 'Block not found');
    return block;
  };
  const prevouts = () => {
    const cache = new Map<string, Prevout[] | undefined>();
    return (txid: string, vout: number): Prevout | undefined => {
      if (!cache.has(txid)) {
        const tx = devnet.getTx(txid);
        cache.set(txid, tx && RawTx.decode(tx.raw).outputs.map((o) => ({ script: o.script, value: Number(o.amount) })));
      }
      return cache.get(txid)?.[vout];
    };
  };
  const txJson = (txid: string, lookup = prevouts()): EsploraTx => renderTx(txOr404(txid), lookup, network);
  const blockJson = (hash: string) => {
    const block = blockOr404(hash);
    const times = [block.time];
    let prev = block.prev;
    for (let i = 0; i < 10 && /^[0-9a-f]{64}$/.test(prev); i++) {
      const b = devnet.getBlock(prev);
      if (!b) break;
      times.push(b.time);
      prev = b.prev;
    }
    return renderBlock(block, medianTimePast(times));
  };
  const hashParam = { params: { type: 'object', properties: { hash: HASH }, required: ['hash'] } } as const;
  const txidParam = { params: { type: 'object', properties: { txid: HASH }, required: ['txid'] } } as const;

  app.get('/blocks/tip/height', async () => String(devnet.tip().height));
  app.get('/blocks/tip/hash', async () => devnet.tip().hash);
  app.get<{ Params: { hash: string } }>('/block/:hash', { schema: hashParam }, async (req) => blockJson(req.params.hash));
  app.get<{ Params: { hash: string } }>('/block/:hash/status', { schema: hashParam }, async (req) => {
    const block = blockOr404(req.params.hash);
    const inBest = devnet.getBlockHash(block.height) === block.hash;
    const next = inBest ? devnet.getBlockHash(block.height + 1) : undefined;
    return next === undefined ? { in_best_chain: inBest } : { in_best_chain: inBest, next_best: next };
  });
  app.get<{ Params: { hash: string } }>('/block/:hash/raw', { schema: hashParam }, async (req, reply) =>
    binary(reply, blockOr404(req.params.hash).raw),
  );
  app.get<{ Params: { hash: string } }>('/block/:hash/header', { schema: hashParam }, async (req) =>
    hex.encode(blockOr404(req.params.hash).header),
  );
  const recentBlocks = (from: number) => {
    const out = [];
    for (let h = Math.min(from, devnet.tip().height); h >= 0 && out.length < 10; h--) out.push(blockJson(devnet.getBlockHash(h)!));
    return out;
  };
  app.get('/blocks', async () => recentBlocks(devnet.tip().height));
  app.get<{ Params: { height: number } }>(
    '/blocks/:height',
    { schema: { params: { type: 'object', properties: { height: { type: 'integer', minimum: 0 } }, required: ['height'] } } },
    async (req) => recentBlocks(req.params.height),
  );
  app.get<{ Params: { hash: string } }>('/block/:hash/txids', { schema: hashParam }, async (req) => blockOr404(req.params.hash).txids);
  app.get<{ Params: { height: number } }>(
    '/block-height/:height',
    { schema: { params: { type: 'object', properties: { height: { type: 'integer', minimum: 0 } }, required: ['height'] } } },
    async (req) => {
      const hash = devnet.getBlockHash(req.params.height);
      if (hash === undefined) throw new HttpError(404, 'Block not found');
      return hash;
    },
  );

  app.get<{ Params: { txid: string } }>('/tx/:txid', { schema: txidParam }, async (req) => txJson(req.params.txid));
  app.get<{ Params: { txid: string } }>('/tx/:txid/hex', { schema: txidParam }, async (req) => hex.encode(txOr404(req.params.txid).raw));
  app.get<{ Params: { txid: string } }>('/tx/:txid/raw', { schema: txidParam }, async (req, reply) =>
    binary(reply, txOr404(req.params.txid).raw),
  );
  app.get<{ Params: { txid: string } }>('/tx/:txid/status', { schema: txidParam }, async (req) =>
    toEsploraStatus(txOr404(req.params.txid).status),
  );
  app.get<{ Params: { txid: string; vout: number } }>(
    '/tx/:txid/outspend/:vout',
    {
      schema: {
        params: { type: 'object', properties: { txid: HASH, vout: { type: 'integer', minimum: 0 } }, required: ['txid', 'vout'] },
      },
    },
    async (req) => {
      const txid = req.params.txid.toLowerCase();
      const outputs = RawTx.decode(txOr404(txid).raw).outputs.length;
      if (req.params.vout >= outputs) throw new HttpError(404, 'Output not found');
      return toEsploraOutspend(devnet.getOutspend(txid, req.params.vout));
    },
  );
  app.get<{ Params: { txid: string } }>('/tx/:txid/outspends', { schema: txidParam }, async (req) => {
    const txid = req.params.txid.toLowerCase();
    const outputs = RawTx.decode(txOr404(txid).raw).outputs;
    return outputs.map((_o, vout) => toEsploraOutspend(devnet.getOutspend(txid, vout)));
  });

  app.post('/tx', async (req) => {
    const body = typeof req.body === 'string' ? req.body.trim() : '';
    if (body.length === 0 || body.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(body)) {
      throw new HttpError(400, formatRejection(new ChainError('MALFORMED_TX', expected('body', 'the raw transaction in hex', body))));
    }
    try {
      return devnet.submitTx(hex.decode(body.toLowerCase()));
    } catch (err) {
      if (err instanceof ChainError) throw new HttpError(400, formatRejection(err));
      throw err;
    }
  });

  // Script history and utxos, by address or by Esplora script hash.
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
    // Esplora's order: mempool first, then confirmed newest first (later in block first).
    return [...devnet.getScriptHistory(script)].sort((a, b) => {
      if (a.status.confirmed !== b.status.confirmed) return a.status.confirmed ? 1 : -1;
      if (!a.status.confirmed) return 0;
      return b.status.blockHeight! - a.status.blockHeight! || position(b) - position(a);
    });
  };
  const render = (list: ScriptTx[]) => {
    const lookup = prevouts();
    return list.map((s) => txJson(s.txid, lookup));
  };
  const chainPage = (list: ScriptTx[], lastSeen: string | undefined) => {
    const confirmed = list.filter((s) => s.status.confirmed);
    const start = lastSeen === undefined ? 0 : confirmed.findIndex((s) => s.txid === lastSeen.toLowerCase()) + 1;
    if (lastSeen !== undefined && start === 0) return [];
    return confirmed.slice(start, start + CHAIN_PAGE);
  };

  const scriptRoutes = (prefix: string, param: object, resolve: (key: string) => Uint8Array | undefined): void => {
    const schema = { params: { type: 'object', properties: { key: param }, required: ['key'] } };
    const chainSchema = {
      params: { type: 'object', properties: { key: param, last: HASH }, required: ['key'] },
    };
    type P = { Params: { key: string; last?: string } };
    app.get<P>(`${prefix}/:key/utxo`, { schema }, async (req) => {
      const script = resolve(req.params.key);
      return script
        ? devnet.getScriptUtxos(script).map((u) => ({ txid: u.txid, vout: u.vout, status: toEsploraStatus(u.status), value: u.value }))
        : [];
    });
    app.get<P>(`${prefix}/:key/txs`, { schema }, async (req) => {
      const list = history(resolve(req.params.key));
      const mempool = list.filter((s) => !s.status.confirmed).slice(0, MEMPOOL_PAGE);
      return render([...mempool, ...chainPage(list, undefined)]);
    });
    app.get<P>(`${prefix}/:key/txs/mempool`, { schema }, async (req) =>
      render(history(resolve(req.params.key)).filter((s) => !s.status.confirmed).slice(0, MEMPOOL_PAGE)),
    );
    app.get<P>(`${prefix}/:key/txs/chain`, { schema }, async (req) => render(chainPage(history(resolve(req.params.key)), undefined)));
    app.get<P>(`${prefix}/:key/txs/chain/:last`, { schema: chainSchema }, async (req) =>
      render(chainPage(history(resolve(req.params.key)), req.params.last)),
    );
  };
  scriptRoutes('/address', { type: 'string', minLength: 1, maxLength: 100 }, (addr) => addressScript(addr, network));
  scriptRoutes('/scripthash', HASH, (hash) => scriptIndex.lookup(hash.toLowerCase()));

  app.get('/fee-estimates', async () => devnet.feeEstimates());
  app.get('/mempool/txids', async () => devnet.mempoolTxids());
  app.get('/mempool', async () => {
    let vsize = 0;
    let totalFee = 0;
    const txids = devnet.mempoolTxids();
    for (const txid of txids) {
      const tx = devnet.getTx(txid);
      if (!tx) continue;
      vsize += Math.ceil(tx.weight / 4);
      totalFee += tx.fee ?? 0;
    }
    // No histogram: the devnet mempool is small and fee estimates are fixed.
    return { count: txids.length, vsize, total_fee: totalFee, fee_histogram: [] };
  });
}

function binary(reply: FastifyReply, bytes: Uint8Array): FastifyReply {
  return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
