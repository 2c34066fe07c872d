/**
 * The relay's HTTP API (Fastify 5); docs/relay-api.md describes every route. Protocol
 * objects travel as their canonical binary encoding (application/octet-stream); the
 * information document, lists, errors and small requests are JSON. Every refusal is an
 * HTTP status with {error: {code, message}} and a stable code.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hex } from '@scure/base';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { EncodingError, type Codec } from '../core/codec.ts';
import { DepositCodec, MAX_QUERY_TAGS, OfferCodec, PaymentNoticeCodec, QuoteCodec } from '../core/objects/index.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import type { RelayMetrics } from './metrics.ts';
import { RateLimiter } from './rate-limit.ts';
import { ListPageError, formatListCursor, parseListCursor, parseListLimit } from '../core/wire/list-cursor.ts';
import { RELAY_VERSION, type ListPage, type RelayService, type UnlockOutcome } from './service.ts';

const OCTET = 'application/octet-stream';
const HEX32 = '^[0-9a-f]{64}$';
const HEX32_RE = new RegExp(HEX32);

export interface HttpDeps {
  config: RelayConfig;
  service: RelayService;
  metrics: RelayMetrics;
  limiter: RateLimiter;
  log: Logger;
  /** More fields for the information document (the relay network's). */
  infoExtra?: () => Record<string, unknown>;
}

/** Maps any error to the reply a client sees; unexpected errors are logged, never described. */
export function toRelayError(err: unknown, log?: Logger): RelayError {
  if (err instanceof RelayError) return err;
  if (err instanceof EncodingError) return new RelayError('BAD_ENCODING', err.message, { details: { reason: err.code } });
  // A malformed listing cursor or page size (src/core/wire/list-cursor.ts) is a bad request.
  if (err instanceof ListPageError) return new RelayError('BAD_REQUEST', err.message);
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new RelayError('BODY_TOO_LARGE', fe.message ?? 'request body too large');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new RelayError('BAD_CONTENT_TYPE', fe.message ?? 'unsupported content type');
  if (fe.validation !== undefined || (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)) {
    return new RelayError('BAD_REQUEST', fe.message ?? 'bad request');
  }
  log?.error({ err }, 'unexpected error');
  return new RelayError('INTERNAL', 'internal error');
}

/** A binary body decoded; an EncodingError reaches the error handler (BAD_ENCODING). */
export function decode<T>(c: Codec<T>, body: unknown): T {
  if (!(body instanceof Uint8Array)) throw new RelayError('BAD_CONTENT_TYPE', `expected a ${OCTET} body`);
  return c.decode(body);
}

const binary = (reply: FastifyReply, bytes: Uint8Array) => reply.type(OCTET).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
const hexParam = (what: string, v: unknown): Uint8Array => {
  if (typeof v !== 'string' || !HEX32_RE.test(v)) throw new RelayError('BAD_REQUEST', `"${what}" expected 64 lowercase hex characters, got ${JSON.stringify(v)}`);
  return hex.decode(v);
};

/** The list route's query: `after` and `limit`, each at most once, nothing else. */
export function listPage(query: unknown): ListPage {
  const q = (query ?? {}) as Record<string, unknown>;
  const extra = Object.keys(q).filter((k) => k !== 'after' && k !== 'limit');
  if (extra.length > 0) throw new RelayError('BAD_REQUEST', `unknown query parameter "${extra[0]}" for /v1/tags/list (expected after, limit)`);
  return { ...(q.after !== undefined ? { after: parseListCursor(q.after) } : {}), ...(q.limit !== undefined ? { limit: parseListLimit(q.limit) } : {}) };
}

/** The JSON unlock request: {id, r?}, nothing else. */
export function unlockJson(body: unknown): { id: Uint8Array; r?: Uint8Array } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RelayError('BAD_REQUEST', 'expected a JSON object {id, r?} or a PaymentNotice');
  const extra = Object.keys(body).filter((k) => k !== 'id' && k !== 'r');
  if (extra.length > 0) throw new RelayError('BAD_REQUEST', `unknown field "${extra[0]}" in the unlock request`);
  const b = body as { id?: unknown; r?: unknown };
  return { id: hexParam('id', b.id), ...(b.r === undefined ? {} : { r: hexParam('r', b.r) }) };
}

/** The JSON answer to an unlock (HTTP body, stream payload). */
export function unlockAnswer(out: UnlockOutcome): Record<string, unknown> {
  return out.state === 'unlocked' ? { state: out.state, k: hex.encode(out.k), ...(out.claimTxid ? { claimTxid: out.claimTxid } : {}) } : { ...out };
}

/**
 * The reply to what never became a request (Node's `clientError`: a stalled or oversized
 * request, bytes that are not HTTP), in the relay's own {error: {code, message}} format and
 * never Fastify's. Like Node's default, nothing is written once a response has begun.
 */
export function clientErrorReply(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new RelayError('REQUEST_TIMEOUT', 'the request was not received within the time allowed')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new RelayError('HEADERS_TOO_LARGE', 'the request headers exceed the size allowed')
        : new RelayError('BAD_REQUEST', 'malformed HTTP request');
  // Node's http server keeps the response in progress on the socket; it has no public name.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inProgress?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(e.body());
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // end() lets the answer reach the client before the close; a client that keeps sending anyway
  // is cut off rather than left holding the socket.
  socket.once('finish', () => socket.destroy());
}

export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, service, metrics, limiter, log } = deps;
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      // Node enforces requestTimeout only when it sweeps its connections (every 30 s by
      // default); sweep at least twice per timeout so a slow client is cut off on time.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.requestTimeoutMs / 2) || 30_000)),
      // Node's sweep skips the whole-request deadline while headersTimeout (60 s unless set)
      // exceeds it, so a slowly sent body outlived requestTimeout by up to a minute.
      ...(config.requestTimeoutMs > 0 ? { headersTimeout: config.requestTimeoutMs } : {}),
      // Node would answer a missing Host with a bare 400; the onRequest hook refuses it in the relay's format.
      requireHostHeader: false,
    },
    clientErrorHandler: clientErrorReply,
    // Router refusals (a malformed URL escape, an over-long path parameter) in the relay's format, not Fastify's.
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const e = toRelayError(err, log);
      void reply.status(e.status).type('application/json').send(e.body());
    },
    forceCloseConnections: 'idle',
    logger: false,
    // Refuse unknown JSON fields instead of silently dropping them (Fastify's default).
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.addContentTypeParser(OCTET, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) throw new RelayError('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
    if (!limiter.take(req.ip)) throw new RelayError('RATE_LIMITED', `too many requests; at most ${config.rateLimitPerSec}/s after a burst of ${config.rateLimitBurst}`);
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = toRelayError(err, log);
    void reply.status(e.status).type('application/json').send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new RelayError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    void reply.status(e.status).send(e.body());
  });

  app.get('/.well-known/satpost', async () => ({ ...service.info(), ...deps.infoExtra?.() }));

  app.post('/v1/quote', async (req, reply) => binary(reply, QuoteCodec.encode(await service.quote(decode(OfferCodec, req.body), req.ip))));

  app.post('/v1/deposit', async (req, reply) => {
    const d = decode(DepositCodec, req.body);
    const out = await service.deposit(d, req.body as Uint8Array, req.ip);
    if (out.duplicate) void reply.header('satpost-duplicate', '1');
    return binary(reply, out.encoded);
  });

  // {tags: [hex, ...]} (1..1024) ?after=<createdAt>.<id>&limit=N (both optional): keyset paging; `next` is present iff more follow.
  app.post(
    '/v1/tags/list',
    { schema: { body: { type: 'object', required: ['tags'], additionalProperties: false, properties: { tags: { type: 'array', minItems: 1, maxItems: MAX_QUERY_TAGS, items: { type: 'string', pattern: HEX32 } } } } } },
    async (req) => {
      const page = listPage(req.query);
      const tags = (req.body as { tags: string[] }).tags.map((t) => hexParam('tags', t));
      const out = await service.list(tags, page);
      return { messages: out.messages, ...(out.next ? { next: formatListCursor(out.next) } : {}) };
    },
  );

  // ?id=<hex> with {secret: hex}: the StoredMessage, for whoever holds the secret of its tag.
  app.post(
    '/v1/tags/message',
    { schema: { body: { type: 'object', required: ['secret'], additionalProperties: false, properties: { secret: { type: 'string', pattern: HEX32 } } } } },
    async (req, reply) => {
      const id = hexParam('id', (req.query as { id?: string }).id);
      return binary(reply, service.fetch(hexParam('secret', (req.body as { secret: string }).secret), id));
    },
  );

  // Version 1 addressed messages to a per-user mailbox with identity-key logins; say so instead of 404.
  for (const route of ['/v1/mailbox/challenge', '/v1/mailbox/list', '/v1/mailbox/message']) {
    app.post(route, async () => {
      throw new RelayError('PROTOCOL_UPGRADED', `${route} ended with satpost 0.1 (per-user mailboxes); this relay (satpost ${RELAY_VERSION}) addresses messages by per-message tags: upgrade the client`);
    });
  }

  // JSON {id, r?} (sender-pays, or asking again) or a binary PaymentNotice (recipient-pays).
  app.post('/v1/unlock', async (req, reply) => {
    let out: UnlockOutcome;
    if (req.body instanceof Uint8Array) {
      const notice = PaymentNoticeCodec.decode(req.body);
      out = await service.unlock({ id: notice.messageId, notice });
    } else {
      out = await service.unlock(unlockJson(req.body));
    }
    return reply.status(out.state === 'unlocked' ? 200 : 202).send(unlockAnswer(out));
  });

  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  return app;
}
