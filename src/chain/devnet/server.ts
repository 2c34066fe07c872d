/**
 * The devnet as an HTTP service: the Esplora REST API (Blockstream/esplora API.md, the
 * JSON shapes electrs serves) over a Devnet, so wallets and tools written for public
 * Esplora servers work against it unchanged, plus development endpoints under /dev/
 * (mine, faucet, invalidate, mine-on) that no public server has.
 *
 * Every route is served both bare (`/blocks/tip/height`) and under `/api/`
 * (`/api/blocks/tip/height`), the root public servers and clients use. Every answer
 * carries `Access-Control-Allow-Origin: *` and OPTIONS preflights are answered, so a
 * browser page on any origin can use the devnet (electrs does this with `--cors '*'`).
 *
 * Esplora endpoints answer errors as plain text like electrs ("Transaction not found",
 * 404); /dev/ endpoints answer JSON `{ error: { code, message } }`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { RawTx } from '@scure/btc-signer';
import { hex } from '@scure/base';
import { ChainError } from '../backend.ts';
import { NETWORKS, type BtcNetwork } from '../../core/network.ts';
import { expected } from '../../core/errors.ts';
import { formatRejection } from '../esplora/rejection.ts';
import { medianTimePast, renderBlock, renderTx, type Prevout } from '../esplora/render.ts';
import { toEsploraOutspend, toEsploraStatus } from '../esplora/status.ts';
import type { EsploraTx } from '../esplora/types.ts';
import type { Devnet } from './devnet.ts';
import { ScriptHashIndex } from './server-script-index.ts';
import { registerDevRoutes } from './server-dev-routes.ts';
import { CHAIN_PAGE, registerScriptRoutes } from './server-script-routes.ts';
import { HASH_SCHEMA as HASH, HttpError } from './server-http.ts';

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

/** The root public Esplora servers serve the API under (https://blockstream.info/api/...). */
const API_PREFIX = '/api';
/** Largest raw transaction body accepted, in bytes of hex: a whole 4 MWU block. */
const MAX_TX_HEX = 8 * 1024 * 1024;

export async function startDevnetServer(opts: DevnetServerOptions): Promise<DevnetServer> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // Refuse unknown body fields instead of silently dropping them (Fastify's default).
    ajv: { customOptions: { removeAdditional: false } },
    // `/api/x` is routed as `/x`: one route table, identical answers under both roots.
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      return url === API_PREFIX || url.startsWith(`${API_PREFIX}/`) || url.startsWith(`${API_PREFIX}?`)
        ? url.slice(API_PREFIX.length) || '/'
        : url;
    },
  });
  // CORS for any origin, on every answer including errors and 404s.
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('access-control-allow-origin', '*');
    return payload;
  });
  app.options('*', async (req, reply) => {
    const asked = req.headers['access-control-request-headers'];
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', typeof asked === 'string' && asked.length > 0 ? asked : 'content-type')
      .header('access-control-max-age', '86400')
      .send();
  });
  // Esplora takes POST /tx as bare hex whatever the content type (curl -d sends
  // form-urlencoded), so every body that is not JSON arrives as a string.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_TX_HEX }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const dev = req.url.startsWith('/dev/') || req.url.startsWith(`${API_PREFIX}/dev/`);
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
  const renderTxs = (txids: string[]): EsploraTx[] => {
    const lookup = prevouts();
    return txids.map((txid) => txJson(txid, lookup));
  };
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
  // electrs' BlockStatus: height and next_best only for a block in the best chain; a
  // stale or unknown block is just `{"in_best_chain":false}` (200, not 404).
  app.get<{ Params: { hash: string } }>('/block/:hash/status', { schema: hashParam }, async (req) => {
    const block = devnet.getBlock(req.params.hash.toLowerCase());
    if (!block || devnet.getBlockHash(block.height) !== block.hash) return { in_best_chain: false };
    const next = devnet.getBlockHash(block.height + 1);
    return next === undefined ? { in_best_chain: true, height: block.height } : { in_best_chain: true, height: block.height, next_best: next };
  });
  app.get<{ Params: { hash: string } }>('/block/:hash/raw', { schema: hashParam }, async (req, reply) =>
    binary(reply, blockOr404(req.params.hash).raw),
  );
  app.get<{ Params: { hash: string } }>('/block/:hash/header', { schema: hashParam }, async (req) =>
    hex.encode(blockOr404(req.params.hash).header),
  );
  const recentBlocks = (from: number) => {
    if (from > devnet.tip().height) throw new HttpError(404, 'Block not found');
    const out = [];
    for (let h = from; h >= 0 && out.length < 10; h--) out.push(blockJson(devnet.getBlockHash(h)!));
    return out;
  };
  app.get('/blocks', async () => recentBlocks(devnet.tip().height));
  app.get<{ Params: { height: number } }>(
    '/blocks/:height',
    { schema: { params: { type: 'object', properties: { height: { type: 'integer', minimum: 0 } }, required: ['height'] } } },
    async (req) => recentBlocks(req.params.height),
  );
  app.get<{ Params: { hash: string } }>('/block/:hash/txids', { schema: hashParam }, async (req) => blockOr404(req.params.hash).txids);
  app.get<{ Params: { hash: string; index: number } }>(
    '/block/:hash/txid/:index',
    { schema: { params: { type: 'object', properties: { hash: HASH, index: { type: 'integer', minimum: 0 } }, required: ['hash', 'index'] } } },
    async (req) => {
      const txid = blockOr404(req.params.hash).txids[req.params.index];
      if (txid === undefined) throw new HttpError(404, 'tx index out of range');
      return txid;
    },
  );
  // 25 transactions from start_index, a multiple of 25 (electrs' rules and messages).
  const blockTxs = (hash: string, start: number) => {
    const { txids } = blockOr404(hash);
    if (start >= txids.length) throw new HttpError(404, 'start index out of range');
    if (start % CHAIN_PAGE !== 0) throw new HttpError(400, `start index must be a multiple of ${CHAIN_PAGE}`);
    return renderTxs(txids.slice(start, start + CHAIN_PAGE));
  };
  app.get<{ Params: { hash: string } }>('/block/:hash/txs', { schema: hashParam }, async (req) => blockTxs(req.params.hash, 0));
  app.get<{ Params: { hash: string; start: number } }>(
    '/block/:hash/txs/:start',
    { schema: { params: { type: 'object', properties: { hash: HASH, start: { type: 'integer', minimum: 0 } }, required: ['hash', 'start'] } } },
    async (req) => blockTxs(req.params.hash, req.params.start),
  );
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
  // electrs answers an unknown txid's status as unconfirmed (200), not 404.
  app.get<{ Params: { txid: string } }>('/tx/:txid/status', { schema: txidParam }, async (req) => {
    const tx = devnet.getTx(req.params.txid.toLowerCase());
    return tx ? toEsploraStatus(tx.status) : { confirmed: false };
  });
  app.get<{ Params: { txid: string; vout: number } }>(
    '/tx/:txid/outspend/:vout',
    {
      schema: {
        params: { type: 'object', properties: { txid: HASH, vout: { type: 'integer', minimum: 0 } }, required: ['txid', 'vout'] },
      },
    },
    // As electrs: an unknown transaction or output is simply unspent (200).
    async (req) => {
      const txid = req.params.txid.toLowerCase();
      const tx = devnet.getTx(txid);
      if (!tx || req.params.vout >= RawTx.decode(tx.raw).outputs.length) return { spent: false };
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

  registerScriptRoutes(app, { devnet, network, scriptIndex, renderTxs });

  app.get('/fee-estimates', async () => devnet.feeEstimates());
  app.get('/mempool/txids', async () => devnet.mempoolTxids());
  // The last 10 transactions to enter the mempool, newest first, in electrs' overview shape.
  app.get('/mempool/recent', async () =>
    devnet
      .mempoolTxids()
      .slice(-10)
      .reverse()
      .flatMap((txid) => {
        const tx = devnet.getTx(txid);
        if (!tx) return [];
        const value = RawTx.decode(tx.raw).outputs.reduce((sum, o) => sum + Number(o.amount), 0);
        return [{ txid, fee: tx.fee ?? 0, vsize: Math.ceil(tx.weight / 4), value }];
      }),
  );
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
