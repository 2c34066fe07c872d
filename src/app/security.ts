/**
 * Who may talk to the app server (docs/app.md "Security"):
 * - an access token, random per start, in the URL the command prints (as Jupyter does); the
 *   first request that carries it gets a session cookie (HttpOnly, SameSite=Strict) and is
 *   redirected to the same page without the token;
 * - every request needs that cookie (else 401), a Host header naming this server (DNS
 *   rebinding) and, when it has an Origin, this server's own origin (else 403);
 * - every state-changing request (not GET/HEAD) carries the session's CSRF token in the
 *   x-csrf-token header (else 403); the page reads it from GET /api/session;
 * - a strict Content-Security-Policy: only this origin's scripts, styles, images and sockets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from './errors.ts';

export const COOKIE = 'satpost_app';
export const CSRF_HEADER = 'x-csrf-token';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer. */
export function baseHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('cache-control', 'no-store');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export class Guard {
  /** In the printed URL. */
  readonly token = randomBytes(32).toString('base64url');
  private readonly session = randomBytes(32).toString('base64url');
  readonly csrf = randomBytes(32).toString('base64url');
  /** host:port values a request's Host may name, and the origins an Origin may name. */
  private hosts = new Set<string>();
  private origins = new Set<string>();

  /** Called once the port is known. */
  listening(host: string, port: number): void {
    const names = new Set([host, '127.0.0.1', 'localhost', '[::1]']);
    if (host.includes(':') && !host.startsWith('[')) names.add(`[${host}]`);
    for (const n of names) {
      this.hosts.add(`${n}:${port}`);
      this.origins.add(`http://${n}:${port}`);
    }
  }

  /** Throws BAD_HOST / BAD_ORIGIN for a request from elsewhere. */
  checkOrigin(req: IncomingMessage, needOrigin: boolean): void {
    const host = req.headers.host ?? '';
    if (!this.hosts.has(host)) throw new AppError('BAD_HOST', `this app answers only requests addressed to itself, not to ${JSON.stringify(host)}`);
    const origin = req.headers.origin;
    if (origin === undefined) {
      if (needOrigin) throw new AppError('BAD_ORIGIN', 'a request without an Origin');
      return;
    }
    if (!this.origins.has(origin)) throw new AppError('BAD_ORIGIN', `a request from another site (${origin}) was refused`);
  }

  /** The token of `?token=` when it is this server's. */
  tokenOk(value: string | null): boolean {
    return value !== null && same(value, this.token);
  }

  sessionCookie(): string {
    return `${COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** Throws NO_TOKEN without this server's session cookie. */
  checkSession(req: IncomingMessage): void {
    const c = cookieOf(req, COOKIE);
    if (c === undefined || !same(c, this.session)) {
      throw new AppError('NO_TOKEN', 'open the app with the link `satpost app` printed (it carries the access token)');
    }
  }

  /** Throws BAD_CSRF unless the request carries the session's CSRF token. */
  checkCsrf(req: IncomingMessage): void {
    const v = req.headers[CSRF_HEADER];
    if (typeof v !== 'string' || !same(v, this.csrf)) throw new AppError('BAD_CSRF', 'the request lacks this session\'s CSRF token: reload the page');
  }
}
