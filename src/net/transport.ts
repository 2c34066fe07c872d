/**
 * How the client reaches the outside world: one HTTP request function (fetch-shaped, over
 * node:http/https) and the options of a ws WebSocket, both making their TCP connections the
 * same way: directly, or, with a proxy, through SOCKS5 CONNECT with the host name resolved by
 * the proxy. undici's fetch cannot take a custom connection, so the client uses this request
 * function with or without a proxy: one code path, and no connection can slip past the proxy.
 *
 * Each destination (host:port) offers its own SOCKS username, so Tor builds separate circuits
 * per relay and for the chain server (IsolateSOCKSAuth, on by default).
 */
import { request as httpRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientOptions } from 'ws';
import type { NetworkName } from '../core/network.ts';
import { parseProxyUrl, socks5Connect, type Socks5Proxy } from './socks5.ts';

type CreateConnection = (opts: ClientRequestArgs, done: (err: Error | null, socket: Duplex) => void) => undefined;

export class Transport {
  /** The proxy URL as configured (undefined: direct connections). */
  readonly proxyUrl: string | undefined;
  private readonly proxy: Socks5Proxy | undefined;

  /** `proxy`: `socks5h://host:port` (BAD_PROXY_URL otherwise). */
  constructor(proxy?: string) {
    this.proxyUrl = proxy;
    this.proxy = proxy === undefined ? undefined : parseProxyUrl(proxy);
  }

  /** A fetch for http(s) URLs over node:http/https: string or URL input, method, headers object, string/bytes body, signal. */
  readonly fetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('Transport.fetch takes a URL, not a Request');
    const url = new URL(input);
    const secure = url.protocol === 'https:';
    const body = init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : Buffer.from(init.body as Uint8Array);
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (body !== undefined) headers['content-length'] = String(body.length);
    const connection = this.connection(url);
    return new Promise<Response>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers,
        ...(init.signal ? { signal: init.signal } : {}),
        ...(connection ? { createConnection: connection } : {}),
      });
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // As fetch's Response: statuses outside 200..599 are refused.
          if (status < 200 || status > 599) return reject(new RangeError(`${url.origin}: HTTP status ${status} is not a response status`));
          resolve(new BufferedResponse(status, Buffer.concat(chunks), res.headers) as unknown as Response);
        });
      });
      req.end(body);
    });
  };

  /** Options for `new WebSocket(url, ...)`: its connection made like every HTTP request's. */
  webSocketOptions(url: string): ClientOptions {
    const u = new URL(url);
    const connection = this.connection(new URL(`${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`));
    return connection ? { createConnection: connection as unknown as ClientOptions['createConnection'] } : {};
  }

  /** Undefined without a proxy (node's own connection); else a SOCKS5 CONNECT (then TLS for https). */
  private connection(url: URL): CreateConnection | undefined {
    const proxy = this.proxy;
    if (proxy === undefined) return undefined;
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
    return (_opts, done) => {
      socks5Connect(proxy, { host, port }, { isolation: `satpost ${host}:${port}` }).then(
        (socket: Socket) => done(null, secure ? tlsConnect({ socket, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] }) : socket),
        (err: Error) => done(err, undefined as unknown as Duplex),
      );
      return undefined;
    };
  }
}

/** Direct connections, for callers given no transport. */
export const DIRECT = new Transport();

/**
 * Whether `url` may be used on `network`: anything on regtest (the devnet is local); elsewhere
 * https/wss only, or plain http/ws to a `.onion` host through a proxy (Tor encrypts and
 * authenticates onion services end to end).
 */
export function isAcceptableUrl(url: string, network: NetworkName, proxied: boolean): boolean {
  if (network === 'regtest') return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'https:' || u.protocol === 'wss:') return true;
  return proxied && (u.protocol === 'http:' || u.protocol === 'ws:') && u.hostname.endsWith('.onion');
}

/**
 * What Transport.fetch resolves to: the part of fetch's Response its callers use (status, ok,
 * headers.get, text, json, arrayBuffer, bytes) over the buffered body. Not undici's Response:
 * Node loads undici (tens of milliseconds) the first time Response, Headers or Request is
 * touched, and a command that makes two requests should not pay for it.
 */
class BufferedResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };

  constructor(
    readonly status: number,
    private readonly body: Buffer,
    head: IncomingMessage['headers'],
  ) {
    this.ok = status >= 200 && status < 300;
    const value = (name: string): string | null => {
      const v = head[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
    };
    this.headers = { get: value, has: (name) => value(name) !== null };
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new Uint8Array(this.body).buffer;
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(this.body);
  }

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body.toString('utf8'));
  }
}
