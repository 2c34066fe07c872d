/**
 * `satpost app`: the browser app's server. One HTTP server on 127.0.0.1 (unless told
 * otherwise) serves the built front end (dist/web, built by scripts/build.mjs), a JSON API
 * under /api/ and a WebSocket at /ws that pushes the client's events. Every request passes
 * the Guard (./security.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, statusOf } from './errors.ts';
import { baseHeaders, Guard } from './security.ts';
import type { SendOptions } from '../client/index.ts';
import { AppState, errorView, int, str, type AppOptions } from './state.ts';

export interface AppServerOptions extends AppOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

export interface AppServer {
  /** The URL to open, with the access token. */
  url: string;
  /** The origin, without token. */
  origin: string;
  port: number;
  state: AppState;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** Where the built front end is: dist/web next to the sources (tsx) or the compiled tree. */
export function webRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, '..', '..', 'dist', 'web'), join(here, '..', '..', 'web')]) {
    if (existsSync(join(dir, 'app.js'))) return dir;
  }
  throw new AppError('FRONT_END_MISSING', 'the front end is not built: run `npm run build`');
}

type Handler = (s: AppState, body: Record<string, unknown>, params: string[]) => Promise<unknown> | unknown;

/** The API: method, path pattern, handler. */
const ROUTES: [string, RegExp, Handler][] = [
  ['GET', /^\/api\/state$/, (s) => s.info()],
  ['POST', /^\/api\/init$/, (s, b) => s.init(str(b, 'passphrase', 1024), relaysOf(b))],
  ['POST', /^\/api\/restore$/, (s, b) => s.restore(str(b, 'passphrase', 1024), relaysOf(b), str(b, 'mnemonic', 1000), b.addressBook !== undefined ? base64(b, 'addressBook') : undefined)],
  ['POST', /^\/api\/address-book\/export$/, (s, b) => ({ file: s.c.exportAddressBook(str(b, 'passphrase', 1024)), contacts: s.c.contacts().length })],
  ['POST', /^\/api\/relays$/, (s, b) => s.changeRelay('add', str(b, 'url', 2000).trim())],
  ['POST', /^\/api\/relays\/remove$/, (s, b) => s.changeRelay('remove', str(b, 'url', 2000).trim())],
  ['POST', /^\/api\/unlock$/, async (s, b) => { await s.unlock(str(b, 'passphrase', 1024)); return s.info(); }],
  ['POST', /^\/api\/lock$/, async (s) => { await s.lock(); return s.info(); }],
  ['GET', /^\/api\/contacts$/, (s) => s.c.contacts()],
  ['POST', /^\/api\/contacts$/, (s, b) => s.c.addContact(str(b, 'name', 200), str(b, 'address', 4000).trim())],
  ['POST', /^\/api\/contacts\/([^/]+)\/address$/, (s, b, [name]) => s.c.updateContact(decodeURIComponent(name!), str(b, 'address', 4000).trim())],
  ['POST', /^\/api\/contacts\/([^/]+)\/trust$/, (s, _b, [name]) => s.c.trustContact(decodeURIComponent(name!))],
  ['GET', /^\/api\/conversations$/, (s) => s.conversations()],
  ['POST', /^\/api\/preview$/, (s, b) => { s.rewatch(); return s.c.previewSend(str(b, 'to', 200), { text: str(b, 'text', 60_000) }, sendOptions(b)); }],
  ['POST', /^\/api\/send$/, (s, b) => s.send(str(b, 'to', 200), str(b, 'text', 60_000), sendOptions(b))],
  ['POST', /^\/api\/read$/, async (s, b) => {
    s.rewatch();
    const r = await s.c.read(str(b, 'id', 200), { ...(b.maxPrice !== undefined ? { maxPrice: int(b, 'maxPrice') } : {}), ...(b.payUnknownSender === true ? { payUnknownSender: true } : {}) });
    return r;
  }],
  ['POST', /^\/api\/inbox\/refresh$/, async (s) => { s.rewatch(); const r = await s.c.inbox(); return { problems: r.problems.map((p) => ({ relay: p.relay, ...errorView(p.error) })) }; }],
  ['GET', /^\/api\/wallet$/, async (s) => {
    const c = s.c;
    const balance = await c.balance();
    const channels = await c.channels();
    const inChannels = channels.filter((x) => !x.status.startsWith('closed')).reduce((a, x) => a + x.payerBalance, 0);
    return { balance, inChannels, history: await c.history() };
  }],
  ['POST', /^\/api\/wallet\/receive$/, (s) => ({ address: s.c.walletAddress() })],
  ['POST', /^\/api\/wallet\/send$/, (s, b) => s.c.sendBitcoin(str(b, 'address', 200).trim(), int(b, 'sats'), b.feeRate !== undefined ? { feeRate: int(b, 'feeRate') } : {})],
  ['POST', /^\/api\/faucet$/, (s) => s.faucet()],
  ['GET', /^\/api\/channels$/, (s) => s.c.channels()],
  ['POST', /^\/api\/channels$/, (s, b) => s.c.openChannel(str(b, 'relay', 2000), { sats: int(b, 'sats'), ...(b.blocks !== undefined ? { blocks: int(b, 'blocks') } : {}) })],
  ['POST', /^\/api\/channels\/([0-9a-f]+)\/close$/, (s, _b, [id]) => s.c.closeChannel(id!)],
  ['POST', /^\/api\/sync$/, async (s) => { await s.c.syncContracts(); await s.c.syncChannels(); return {}; }],
];

function relaysOf(b: Record<string, unknown>): string[] {
  return Array.isArray(b.relays) ? b.relays.map(String) : [];
}

/** A file the page sent, base64 in a string field. */
function base64(b: Record<string, unknown>, key: string): Uint8Array {
  const v = str(b, key, MAX_BODY);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new AppError('BAD_REQUEST', `"${key}" expected base64`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/** The options of a send or its preview, checked. */
function sendOptions(b: Record<string, unknown>): SendOptions {
  const mode = b.mode === 'recipient-pays' ? 'recipient-pays' : 'sender-pays';
  return { mode, ...(b.maxFee !== undefined ? { maxFee: int(b, 'maxFee') } : {}), ...(b.channel === false ? { channel: false } : {}) };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? v.toString() : v)));
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new AppError('BAD_REQUEST', 'the request is too large');
    chunks.push(c);
  }
  if (n === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AppError('BAD_REQUEST', 'the request body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AppError('BAD_REQUEST', 'the request body is not a JSON object');
  return v as Record<string, unknown>;
}

export async function startAppServer(o: AppServerOptions): Promise<AppServer> {
  const root = webRoot();
  const guard = new Guard();
  const state = new AppState(o);
  const host = o.host ?? '127.0.0.1';
  const files = new Map<string, Buffer>();
  const file = (name: string): Buffer | undefined => {
    if (!files.has(name)) {
      const p = join(root, name);
      if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !existsSync(p)) return undefined;
      files.set(name, readFileSync(p));
    }
    return files.get(name);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    baseHeaders(res);
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    const method = req.method ?? 'GET';
    try {
      guard.checkOrigin(req, false);
      // The token: exchanged for the session cookie, and the page reloaded without it in the address bar.
      if (method === 'GET' && url.pathname === '/' && url.searchParams.has('token')) {
        if (!guard.tokenOk(url.searchParams.get('token'))) throw new AppError('NO_TOKEN', 'this link\'s access token is not the current one: use the link `satpost app` printed last');
        res.setHeader('set-cookie', guard.sessionCookie());
        res.statusCode = 303;
        res.setHeader('location', '/');
        res.end();
        return;
      }
      guard.checkSession(req);
      if (url.pathname.startsWith('/api/')) {
        if (method !== 'GET' && method !== 'HEAD') guard.checkCsrf(req);
        if (method === 'GET' && url.pathname === '/api/session') return json(res, 200, { csrf: guard.csrf });
        for (const [m, re, h] of ROUTES) {
          const match = re.exec(url.pathname);
          if (!match || m !== method) continue;
          const body = method === 'POST' ? await readBody(req) : {};
          return json(res, 200, (await h(state, body, match.slice(1))) ?? {});
        }
        throw new AppError('NOT_FOUND', `no API ${method} ${url.pathname}`);
      }
      if (method !== 'GET' && method !== 'HEAD') throw new AppError('NOT_FOUND', `no ${method} ${url.pathname}`);
      const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const body = file(name);
      if (!body) throw new AppError('NOT_FOUND', `no file ${url.pathname}`);
      res.setHeader('content-type', TYPES[extname(name)] ?? 'application/octet-stream');
      res.end(body);
    } catch (err) {
      if (url.pathname.startsWith('/api/') || statusOf(err) !== 401 || res.headersSent) return json(res, statusOf(err), { error: errorView(err) });
      res.statusCode = statusOf(err);
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${errorView(err).message}\n`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: errorView(err) });
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const sockets = new Set<WebSocket>();
  const stopEvents = state.onEvent((e) => {
    const text = JSON.stringify(e);
    for (const ws of sockets) ws.send(text);
  });
  server.on('upgrade', (req, socket, head) => {
    try {
      if (new URL(req.url ?? '/', 'http://app.invalid').pathname !== '/ws') throw new AppError('NOT_FOUND', 'no socket here');
      guard.checkOrigin(req, true);
      guard.checkSession(req);
    } catch (err) {
      socket.end(`HTTP/1.1 ${statusOf(err)} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'state', state: state.status() }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  guard.listening(host, port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${port}`;
  return {
    url: `${origin}/?token=${guard.token}`,
    origin,
    port,
    state,
    close: async () => {
      stopEvents();
      for (const ws of sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await state.close();
    },
  };
}
