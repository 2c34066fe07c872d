/**
 * The relay's HTTP API (Fastify 5); docs/relay-api.md describes every route, and each route
 * carries its own OpenAPI description (`schema.api`, src/relay/openapi.ts) from which
 * /v1/openapi.json and docs/openapi.json are generated. Protocol
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
import {
  DEPOSIT_TAG, DepositCodec, MAX_QUERY_TAGS, OFFER_TAG, OfferCodec, PAYMENT_NOTICE_TAG, PaymentNoticeCodec, QUOTE_TAG, QuoteCodec, RECEIPT_TAG, STORED_MESSAGE_TAG,
} from '../core/objects/index.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import type { RelayMetrics } from './metrics.ts';
import { RateLimiter } from './rate-limit.ts';
import { ListPageError, formatListCursor, parseListCursor, parseListLimit } from '../core/wire/list-cursor.ts';
import { OP, STATUS } from '../core/wire/stream.ts';
import type { ListPage, RelayService, UnlockOutcome } from './service.ts';
import { RELAY_VERSION } from './service.ts';
import { binaryObject, collectRoutes, openApiDocument, type CollectedRoute, type RouteApi } from './openapi.ts';
import { STREAM_PATH } from './ws.ts';

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

/** The protocol objects the relay's routes carry (names and tags as docs/protocol.md). */
export const OBJ = {
  offer: binaryObject('Offer', OFFER_TAG),
  quote: binaryObject('Quote', QUOTE_TAG),
  deposit: binaryObject('Deposit', DEPOSIT_TAG),
  receipt: binaryObject('Receipt', RECEIPT_TAG),
  storedMessage: binaryObject('StoredMessage', STORED_MESSAGE_TAG),
  paymentNotice: binaryObject('PaymentNotice', PAYMENT_NOTICE_TAG),
};

export const OPENAPI_PATH = '/v1/openapi.json';

/** Refusals any route can answer: the onRequest hook (Host, rate limit), the router and Node's HTTP server, the error handler. */
export const COMMON_ERRORS = ['BAD_REQUEST', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'RATE_LIMITED', 'INTERNAL'] as const;
/** Further refusals of any route that takes a body (Fastify's body parsing: size, content type). */
export const BODY_ERRORS = ['BODY_TOO_LARGE', 'BAD_CONTENT_TYPE'] as const;

const hex64 = (description: string) => ({ type: 'string', pattern: HEX32, description });
const json = (schema: Record<string, unknown>, description?: string) => ({ json: schema, ...(description ? { description } : {}) });
const obj = (properties: Record<string, unknown>, required: string[] = [], extra: Record<string, unknown> = {}) => ({ type: 'object', properties, required, ...extra });

/** The unlock answer (HTTP 200/202 and stream op 5). */
const UNLOCK_ANSWER = {
  oneOf: [
    obj({ state: { const: 'unlocked' }, k: hex64('the message key k'), claimTxid: hex64('the claim publishing k') }, ['state', 'k']),
    obj({ state: { const: 'awaiting-confirmation' }, confirmations: { type: 'integer' }, required: { type: 'integer' } }, ['state']),
    obj({ state: { const: 'awaiting-payment' } }, ['state']),
  ],
};

const ROUTE_API = {
  info: {
    summary: 'Information document',
    description: 'The relay\'s name, version, node key (relayId), URL, network, accepted payment modes, price, limits, chain parameters, relay-network (p2p) and channel terms.',
    tags: ['info'],
    responses: {
      200: {
        description: 'The information document',
        body: json(obj({
          name: { type: 'string' }, version: { type: 'string' }, relayId: hex64('Ed25519 node public key'), url: { type: 'string' },
          network: { enum: ['regtest', 'signet', 'testnet', 'mainnet'] }, acceptedModes: { type: 'array', items: { enum: ['recipient-pays', 'sender-pays'] } },
          price: obj({ baseSats: { type: 'integer' }, perBlockSats: { type: 'integer' }, perDaySats: { type: 'integer' } }),
          limits: { type: 'object', additionalProperties: { type: 'integer' } },
          confirmations: { type: 'integer' }, lockBlocks: { type: 'integer' }, claimMarginBlocks: { type: 'integer' },
          p2p: { type: 'object' }, channels: { type: 'object' },
        }, ['name', 'version', 'relayId', 'url', 'network', 'acceptedModes', 'price', 'limits'])),
      },
    },
    errors: [],
  },
  quote: {
    summary: 'Quote an offer',
    description: 'Prices an Offer and answers a Quote signed by the node key: fresh hk and contract key, amount = price, locktime = tip + lockBlocks.',
    tags: ['messages'],
    body: { binary: [OBJ.offer] },
    responses: { 200: { description: 'The signed quote', body: { binary: [OBJ.quote] } } },
    errors: ['MODE_NOT_ACCEPTED', 'TOO_LARGE', 'RETENTION_TOO_LONG', 'FEE_TOO_LOW', 'MAILBOX_QUOTA_FULL', 'UNPAID_QUOTA_FULL', 'DEPOSITOR_QUOTA_FULL', 'CHAIN_UNAVAILABLE', 'KEYS_EXHAUSTED', 'BAD_ENCODING'],
  },
  deposit: {
    summary: 'Deposit a message',
    description: 'Stores a message under a quote; answered once committed to disk. A byte-identical repeat gets the same receipt and `satpost-duplicate: 1`.',
    tags: ['messages'],
    body: { binary: [OBJ.deposit] },
    responses: {
      200: {
        description: 'The receipt',
        body: { binary: [OBJ.receipt] },
        headers: { 'satpost-duplicate': { description: '"1" when this deposit was already stored', schema: { const: '1' } } },
      },
    },
    errors: [
      'QUOTE_UNKNOWN', 'QUOTE_EXPIRED', 'QUOTE_USED', 'MAILBOX_MISMATCH', 'SIZE_MISMATCH', 'BAD_DEPOSIT', 'BAD_PUBKEY', 'FUNDING_UNEXPECTED', 'FUNDING_UNAVAILABLE',
      'FUNDING_NOT_FOUND', 'FUNDING_MISMATCH', 'MAILBOX_QUOTA_FULL', 'UNPAID_QUOTA_FULL', 'DEPOSITOR_QUOTA_FULL', 'CHAIN_UNAVAILABLE', 'BAD_ENCODING',
    ],
  },
  list: {
    summary: 'List messages by tag',
    description: 'One page of the unexpired messages stored under any of the tags (1..1024), in listing order (createdAt, then id); each entry names its tag; `next` is present iff more follow. A tag is not a credential: every relay saw it in the offer.',
    tags: ['tags'],
    query: {
      after: { description: 'cursor `<createdAt>.<id>`: entries strictly after it', schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)\\.[0-9a-f]{64}$' } },
      limit: { description: 'most entries in the page (default 1000)', schema: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' } },
    },
    responses: {
      200: {
        description: 'A page of list entries (docs/relay-api.md, "POST /v1/tags/list")',
        body: json(obj({ messages: { type: 'array', items: { type: 'object' } }, next: { type: 'string' } }, ['messages'])),
      },
    },
    errors: [],
  },
  message: {
    summary: 'Fetch a message with its tag secret',
    description: 'The stored message (signed quote, receipt, sealed header, blob) when SHA-256("satpost/v1/tag-of" || secret) is the tag it was deposited under; a wrong secret and an unknown id answer alike.',
    tags: ['tags'],
    query: { id: { description: 'the message id', schema: { type: 'string', pattern: HEX32 }, required: true } },
    responses: { 200: { description: 'The stored message', body: { binary: [OBJ.storedMessage] } } },
    errors: ['MESSAGE_UNKNOWN'],
  },
  unlock: {
    summary: 'Unlock a message key',
    description: 'Sender-pays: JSON {id, r}; recipient-pays: a PaymentNotice; either: JSON {id} asks again. k is released only once the funding is deep enough and a claim publishing k is out.',
    tags: ['payments'],
    body: [
      json(obj({ id: hex64('message id'), r: hex64('delivery receipt r (sender-pays)') }, ['id'], { additionalProperties: false })),
      { binary: [OBJ.paymentNotice], description: 'recipient-pays: where Carol funded the contract' },
    ],
    responses: {
      200: { description: 'k released', body: json(UNLOCK_ANSWER) },
      202: { description: 'Not yet: awaiting confirmation or payment; ask again', body: json(UNLOCK_ANSWER) },
    },
    errors: [
      'MESSAGE_UNKNOWN', 'PREIMAGE_MISMATCH', 'FUNDING_NOT_FOUND', 'FUNDING_MISMATCH', 'BAD_PUBKEY', 'PAYMENT_CONFLICT', 'CONTRACT_EXPIRED', 'UNLOCK_UNAVAILABLE',
      'CHAIN_UNAVAILABLE', 'BAD_ENCODING',
    ],
  },
  metrics: {
    summary: 'Prometheus metrics',
    description: 'Messages and bytes stored, sats earned, claims pending, deposits and quotes by result, write batches, channel figures.',
    tags: ['info'],
    responses: { 200: { description: 'Prometheus text exposition', body: { media: 'text/plain; version=0.0.4; charset=utf-8' } } },
    errors: [],
  },
  openapi: {
    summary: 'This OpenAPI document',
    description: 'Generated from the routes\' own definitions; the same as docs/openapi.json (`npm run openapi`).',
    tags: ['info'],
    responses: { 200: { description: 'OpenAPI 3.1', body: json({ type: 'object' }) } },
    errors: [],
  },
} satisfies Record<string, RouteApi>;

/** The relay's OpenAPI document from its collected routes. */
export function relayOpenApi(routes: readonly CollectedRoute[]): Record<string, unknown> {
  return openApiDocument(routes, {
    title: 'satpost relay API',
    version: RELAY_VERSION,
    description:
      'The HTTP API of a satpost relay (prose: docs/relay-api.md). Protocol objects travel as their canonical binary encoding ' +
      '(application/octet-stream, docs/protocol.md); every refusal is JSON {error: {code, message, ...}} with a stable code. ' +
      `The WebSocket stream at ${STREAM_PATH} is not an HTTP route: see x-satpost-stream and docs/relay-api.md.`,
    commonErrors: COMMON_ERRORS,
    bodyErrors: BODY_ERRORS,
    extensions: {
      'x-satpost-stream': {
        path: STREAM_PATH,
        frames: { request: 'id u32 | op u8 | payload', response: 'id u32 | status u8 | payload' },
        ops: OP,
        status: STATUS,
      },
    },
  });
}

/**
 * A POST route of satpost 0.1 that per-message tags replaced: 410 PROTOCOL_UPGRADED naming the
 * version and what replaces it, never a 404 a client could take for an empty inbox.
 */
export function retiredRoute(app: FastifyInstance, route: string, what: string, instead: string): void {
  const api: RouteApi = {
    summary: `Retired (satpost 0.1 ${what})`,
    description: `The ${what} of satpost 0.1 (per-user mailboxes) is retired: messages are addressed by per-message tags (${instead}).`,
    tags: ['retired'],
    responses: {},
    errors: ['PROTOCOL_UPGRADED'],
  };
  app.post(route, { schema: { api } }, async () => {
    throw new RelayError('PROTOCOL_UPGRADED', `${route} (${what}) ended with satpost 0.1; this relay (satpost ${RELAY_VERSION}) addresses messages by per-message tags (${instead}): upgrade the client`);
  });
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
  // Before any route: every route registered on the app from here on is in the OpenAPI document.
  const routes = collectRoutes(app);
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

  app.get('/.well-known/satpost', { schema: { api: ROUTE_API.info } }, async () => ({ ...service.info(), ...deps.infoExtra?.() }));

  app.post('/v1/quote', { schema: { api: ROUTE_API.quote } }, async (req, reply) => binary(reply, QuoteCodec.encode(await service.quote(decode(OfferCodec, req.body), req.ip))));

  app.post('/v1/deposit', { schema: { api: ROUTE_API.deposit } }, async (req, reply) => {
    const d = decode(DepositCodec, req.body);
    const out = await service.deposit(d, req.body as Uint8Array, req.ip);
    if (out.duplicate) void reply.header('satpost-duplicate', '1');
    return binary(reply, out.encoded);
  });

  // {tags: [hex, ...]} (1..1024) ?after=<createdAt>.<id>&limit=N (both optional): keyset paging; `next` is present iff more follow.
  app.post(
    '/v1/tags/list',
    {
      schema: {
        body: { type: 'object', required: ['tags'], additionalProperties: false, properties: { tags: { type: 'array', minItems: 1, maxItems: MAX_QUERY_TAGS, items: { type: 'string', pattern: HEX32 } } } },
        api: ROUTE_API.list,
      },
    },
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
    { schema: { body: { type: 'object', required: ['secret'], additionalProperties: false, properties: { secret: { type: 'string', pattern: HEX32 } } }, api: ROUTE_API.message } },
    async (req, reply) => {
      const id = hexParam('id', (req.query as { id?: string }).id);
      return binary(reply, service.fetch(hexParam('secret', (req.body as { secret: string }).secret), id));
    },
  );

  // Version 0.1 addressed messages to a per-user mailbox with identity-key logins; say so instead of 404.
  for (const route of ['/v1/mailbox/challenge', '/v1/mailbox/list', '/v1/mailbox/message']) retiredRoute(app, route, 'mailbox login', 'POST /v1/tags/list, /v1/tags/message');

  // JSON {id, r?} (sender-pays, or asking again) or a binary PaymentNotice (recipient-pays).
  app.post('/v1/unlock', { schema: { api: ROUTE_API.unlock } }, async (req, reply) => {
    let out: UnlockOutcome;
    if (req.body instanceof Uint8Array) {
      const notice = PaymentNoticeCodec.decode(req.body);
      out = await service.unlock({ id: notice.messageId, notice });
    } else {
      out = await service.unlock(unlockJson(req.body));
    }
    return reply.status(out.state === 'unlocked' ? 200 : 202).send(unlockAnswer(out));
  });

  app.get('/metrics', { schema: { api: ROUTE_API.metrics } }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  // Built at the first request, when every route (also those added after buildHttp) is registered.
  let openapi: string | undefined;
  app.get(OPENAPI_PATH, { schema: { api: ROUTE_API.openapi } }, async (_req, reply) =>
    reply.type('application/json').send((openapi ??= JSON.stringify(relayOpenApi(routes)))));

  return app;
}
