/**
 * A SOCKS5 CONNECT client (RFC 1928) with no authentication or username/password (RFC 1929),
 * over node:net. Host names are sent to the proxy as names (address type 3), never resolved
 * here: with Tor this is what makes `.onion` hosts reachable and keeps DNS off the local
 * network. Tor isolates circuits by the username/password a stream offers, so callers pass a
 * per-destination username when the proxy URL carries no credentials of its own.
 */
import { connect, isIPv4, isIPv6, type Socket } from 'node:net';

export type ProxyErrorCode = 'BAD_PROXY_URL' | 'PROXY_UNREACHABLE' | 'PROXY_AUTH_REFUSED' | 'PROXY_CONNECT_REFUSED' | 'PROXY_BAD_ANSWER';

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(readonly code: ProxyErrorCode, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
  }

  static is(err: unknown, code?: ProxyErrorCode): err is ProxyError {
    return err instanceof ProxyError && (code === undefined || err.code === code);
  }
}

export interface Socks5Proxy {
  host: string;
  port: number;
  /** The proxy's own credentials (from the proxy URL); when absent, the per-destination isolation name is offered. */
  username?: string;
  password?: string;
}

/** `socks5h://[user:pass@]host:port` (or `socks5://`, treated alike: names always go to the proxy). */
export function parseProxyUrl(url: string): Socks5Proxy {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProxyError('BAD_PROXY_URL', `proxy URL expected socks5h://host:port, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'socks5h:' && u.protocol !== 'socks5:') throw new ProxyError('BAD_PROXY_URL', `proxy URL scheme expected socks5h or socks5, got ${u.protocol}`);
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port < 1 || port > 65535 || u.port === '') throw new ProxyError('BAD_PROXY_URL', `proxy URL expected a host and a port, got ${JSON.stringify(url)}`);
  if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) throw new ProxyError('BAD_PROXY_URL', `proxy URL expected no path, query or fragment, got ${JSON.stringify(url)}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
  };
}

const REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure', 2: 'connection not allowed by ruleset', 3: 'network unreachable', 4: 'host unreachable',
  5: 'connection refused', 6: 'TTL expired', 7: 'command not supported', 8: 'address type not supported',
};

function field(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length < 1 || b.length > 255) throw new ProxyError('BAD_PROXY_URL', `SOCKS5 ${what} expected 1..255 bytes, got ${b.length}`);
  return b;
}

/** The CONNECT request's address (ATYP and address): IPv4 and IPv6 literals as such, anything else as a name for the proxy to resolve. */
export function connectAddress(host: string): Buffer {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return Buffer.from([1, ...bare.split('.').map(Number)]);
  if (isIPv6(bare)) {
    const groups = expandIPv6(bare);
    const out = Buffer.alloc(17);
    out[0] = 4;
    groups.forEach((g, i) => out.writeUInt16BE(g, 1 + 2 * i));
    return out;
  }
  const name = field(bare, 'host name');
  return Buffer.concat([Buffer.from([3, name.length]), name]);
}

function expandIPv6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') as [string, string] : [a, undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [parseInt(g, 16)])));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function ipv4Groups(s: string): number[] {
  const b = s.split('.').map(Number);
  return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
}

/**
 * A TCP stream to `target` through the proxy, ready for the application protocol (or TLS).
 * `isolation` is offered as the username (RFC 1929) when the proxy URL has no credentials;
 * a proxy that wants no authentication may ignore it.
 */
export function socks5Connect(proxy: Socks5Proxy, target: { host: string; port: number }, o: { isolation?: string; signal?: AbortSignal } = {}): Promise<Socket> {
  const creds = proxy.username !== undefined
    ? { user: field(proxy.username, 'username'), pass: field(proxy.password || '-', 'password') }
    : o.isolation !== undefined ? { user: field(o.isolation, 'username'), pass: field('satpost', 'password') } : undefined;
  const address = connectAddress(target.host);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: proxy.host, port: proxy.port });
    let buf = Buffer.alloc(0);
    let step: 'method' | 'auth' | 'connect' = 'method';
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      o.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (cause: Error) => fail(new ProxyError('PROXY_UNREACHABLE', `SOCKS5 proxy ${proxy.host}:${proxy.port}: ${cause.message}`, { cause }));
    const onClose = () => fail(new ProxyError('PROXY_BAD_ANSWER', `SOCKS5 proxy ${proxy.host}:${proxy.port} closed the connection during the handshake`));
    const onAbort = () => fail(o.signal!.reason);
    const sendConnect = () => {
      step = 'connect';
      const port = Buffer.alloc(2);
      port.writeUInt16BE(target.port);
      socket.write(Buffer.concat([Buffer.from([5, 1, 0]), address, port]));
    };
    const advance = (): void => {
      if (step === 'method') {
        if (buf.length < 2) return;
        const [ver, method] = [buf[0], buf[1]];
        buf = buf.subarray(2);
        if (ver !== 5) throw new ProxyError('PROXY_BAD_ANSWER', `SOCKS5 proxy answered version ${ver}`);
        if (method === 0) sendConnect();
        else if (method === 2 && creds) {
          step = 'auth';
          socket.write(Buffer.concat([Buffer.from([1, creds.user.length]), creds.user, Buffer.from([creds.pass.length]), creds.pass]));
        } else throw new ProxyError('PROXY_AUTH_REFUSED', `SOCKS5 proxy accepts none of the offered methods (answered ${method})`);
        return advance();
      }
      if (step === 'auth') {
        if (buf.length < 2) return;
        const status = buf[1];
        buf = buf.subarray(2);
        if (status !== 0) throw new ProxyError('PROXY_AUTH_REFUSED', 'SOCKS5 proxy refused the username/password');
        sendConnect();
        return advance();
      }
      if (buf.length < 5) return;
      if (buf[0] !== 5) throw new ProxyError('PROXY_BAD_ANSWER', `SOCKS5 proxy answered version ${buf[0]}`);
      if (buf[1] !== 0) throw new ProxyError('PROXY_CONNECT_REFUSED', `SOCKS5 proxy could not reach ${target.host}:${target.port}: ${REPLIES[buf[1]!] ?? `reply ${buf[1]}`}`);
      const atyp = buf[3];
      const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[4]! : -1;
      if (addrLen < 0) throw new ProxyError('PROXY_BAD_ANSWER', `SOCKS5 proxy answered address type ${atyp}`);
      const total = 4 + addrLen + 2;
      if (buf.length < total) return;
      const rest = buf.subarray(total);
      cleanup();
      // Whatever the target already sent belongs to the application protocol.
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        advance();
      } catch (err) {
        fail(err);
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(creds ? Buffer.from([5, 2, 0, 2]) : Buffer.from([5, 1, 0])));
  });
}
