/**
 * The HTTP pass of `npm run fuzz`: malformed requests to a real relay daemon on 127.0.0.1
 * (a real devnet chain, real SQLite, rate limiting off so every request reaches a decoder).
 * Most go through fetch (mutated bodies, queries, paths, content types and methods on every
 * route); some are raw bytes on a socket (mutated request lines and headers). Every answer
 * must come, and every refusal must be JSON {error: {code}} with a code whose status is the
 * one answered; an INTERNAL (500) is always a finding.
 */
import { connect } from 'node:net';
import { formatListCursor } from '../src/core/wire/list-cursor.ts';
import { FRAME_HEADER } from '../src/core/wire/stream.ts';
import { RELAY_ERROR_STATUS, type RelayErrorCode } from '../src/relay/errors.ts';
import * as O from '../src/core/objects/index.ts';
import * as S from '../test/core/samples.ts';
import { StreamClient, testRelay } from '../test/relay/helpers.ts';
import { Rng, generate, mutateJson } from './mutate.ts';
import { SEEDS, TARGETS } from './targets.ts';

export interface HttpResult {
  sent: number;
  raw: number;
  /** Frames sent on WebSocket streams (/v1/stream). */
  frames: number;
  seconds: number;
  stoppedByTime: boolean;
  statuses: Record<string, number>;
  findings: string[];
}

/** Longest wait for one answer; a request the relay has not answered by then is a hang. */
const ANSWER_MS = 15_000;
const CONCURRENCY = 16;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Route {
  method: 'GET' | 'POST';
  /** The path; `:id` parts get a mutated value. */
  path: string;
  query?: string[];
  body?: 'binary' | 'json';
  seeds?: Uint8Array[];
}

const id32 = hex(S.det('message id', 32));
const ROUTES: Route[] = [
  { method: 'GET', path: '/.well-known/satpost' },
  { method: 'POST', path: '/v1/quote', body: 'binary', seeds: [SEEDS.offer] },
  { method: 'POST', path: '/v1/deposit', body: 'binary', seeds: [O.DepositCodec.encode({ ...S.sampleDeposit(), body: S.det('body', 40) })] },
  {
    method: 'POST', path: '/v1/tags/list', body: 'json', seeds: [utf8(JSON.stringify({ tags: [hex(S.tag0), hex(S.tag1)] }))],
    query: ['', `after=${formatListCursor({ createdAt: 5, id: id32 })}&limit=20`, 'limit=1000'],
  },
  { method: 'POST', path: '/v1/tags/message', body: 'json', seeds: [utf8(JSON.stringify({ secret: hex(S.det('tag secret', 32)) }))], query: [`id=${id32}`] },
  // Retired with satpost 0.1: each answers PROTOCOL_UPGRADED whatever the input.
  { method: 'POST', path: '/v1/mailbox/challenge', body: 'json', seeds: [utf8(JSON.stringify({ mailbox: hex(S.mailbox) }))] },
  { method: 'POST', path: '/v1/mailbox/list', body: 'binary', seeds: [S.det('old login', 240)] },
  { method: 'POST', path: '/v1/mailbox/message', body: 'binary', seeds: [S.det('old login', 240)], query: [`id=${id32}`] },
  {
    method: 'POST', path: '/v1/unlock', body: 'binary', seeds: [O.PaymentNoticeCodec.encode(S.samplePaymentNotice())],
  },
  { method: 'POST', path: '/v1/unlock', body: 'json', seeds: [utf8(JSON.stringify({ id: id32 })), utf8(JSON.stringify({ id: id32, r: id32 }))] },
  { method: 'POST', path: '/v1/prekeys', body: 'binary', seeds: [S.det('bundle', 200)] },
  { method: 'GET', path: '/v1/prekeys/:id' },
  {
    method: 'POST', path: '/v1/channel/open', body: 'json',
    seeds: [utf8(JSON.stringify({ open: hex(SEEDS.channelMessages[0]!), funding: hex(S.det('funding tx', 120)), keyIndex: 0 }))],
  },
  { method: 'POST', path: '/v1/channel/update', body: 'binary', seeds: SEEDS.channelMessages },
  { method: 'GET', path: '/v1/channel/:id' },
  { method: 'GET', path: '/v1/channel/:id/settles' },
  { method: 'POST', path: '/v1/channel/:id/close' },
  { method: 'POST', path: '/v1/offer', body: 'binary', seeds: [SEEDS.offer], query: ['', 'expected=1&windowMs=50'] },
  { method: 'POST', path: '/v1/tags/query', body: 'binary', seeds: [O.TagQueryCodec.encode(S.sampleTagQuery())] },
  { method: 'POST', path: '/v1/mailbox/query', body: 'binary', seeds: [S.det('old query', 180)] },
  { method: 'GET', path: '/v1/lookup/prekeys/:id', query: ['', `id=${hex(S.det('lookup', 16))}&hops=0`] },
  { method: 'GET', path: '/v1/lookup/relays', query: ['hops=0', 'hops=1&id=00'] },
  { method: 'GET', path: '/v1/nope' },
];

const CONTENT_TYPES = ['application/octet-stream', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''];

/** A mutated text: the seed's bytes mutated, read as latin1, percent-encoded where a URL needs it. */
function mutatedText(rng: Rng, seeds: string[]): string {
  return Buffer.from(generate(rng, seeds.map(utf8))).toString('latin1');
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

function fetchRequest(rng: Rng, base: string): Request {
  const route = rng.pick(ROUTES);
  const method = rng.chance(0.05) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) : route.method;
  const path = route.path.replace(':id', () => (rng.chance(0.5) ? encodeURIComponent(mutatedText(rng, [id32, hex(S.mailbox)])) : id32));
  const queries = route.query ?? [''];
  const query = rng.chance(0.5) ? rng.pick(queries) : mutatedText(rng, queries.filter((q) => q !== '').concat('a=b'));
  // Query text goes as it is where the URL parser lets it, so malformed escapes reach the relay.
  const url = `${base}${path}${query === '' ? '' : `?${query.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)).replace(/#/g, '%23')}`}`;
  const headers: Record<string, string> = {};
  let body: Uint8Array | undefined;
  if (method !== 'GET' && method !== 'OPTIONS') {
    if (route.body === 'json' && route.seeds && rng.chance(0.7)) body = utf8(mutateJson(rng, JSON.parse(Buffer.from(rng.pick(route.seeds)).toString('utf8'))));
    else body = route.seeds ? generate(rng, route.seeds) : rng.bytes(rng.below(64));
    const type = rng.chance(0.85) ? (route.body === 'json' ? 'application/json' : 'application/octet-stream') : rng.pick(CONTENT_TYPES);
    if (type !== '') headers['content-type'] = type;
  }
  return { method, url, headers, body };
}

/** Raw requests: mutated request lines and headers, sent as bytes. */
function rawRequest(rng: Rng): Uint8Array {
  const offer = Buffer.from(SEEDS.offer).toString('latin1');
  const seeds = [
    'GET /.well-known/satpost HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n',
    `POST /v1/quote HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: ${SEEDS.offer.length}\r\n\r\n${offer}`,
    `POST /v1/quote HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${SEEDS.offer.length.toString(16)}\r\n${offer}\r\n0\r\n\r\n`,
    `POST /v1/unlock HTTP/1.1\r\nHost: relay\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 75\r\n\r\n{"id":"${id32}"}`,
  ];
  return generate(rng, seeds.map((s) => Uint8Array.from(Buffer.from(s, 'latin1'))));
}

/** What is wrong with an answer, or undefined. */
function problem(status: number, contentType: string | null, body: string): string | undefined {
  if (status >= 200 && status < 400) return undefined;
  if (status === 500) return `500: ${body.slice(0, 200)}`;
  if (!contentType?.startsWith('application/json')) return `${status} without a JSON body (${contentType}): ${body.slice(0, 200)}`;
  let code: unknown;
  try {
    code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
  } catch {
    return `${status} with a body that is not JSON: ${body.slice(0, 200)}`;
  }
  if (typeof code !== 'string' || !Object.hasOwn(RELAY_ERROR_STATUS, code)) return `${status} without a known error code: ${body.slice(0, 200)}`;
  if (RELAY_ERROR_STATUS[code as RelayErrorCode] !== status) return `${status} with code ${code}, whose status is ${RELAY_ERROR_STATUS[code as RelayErrorCode]}`;
  return undefined;
}

async function sendFetch(r: Request): Promise<{ status: number; issue?: string }> {
  try {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, ...(r.body ? { body: r.body } : {}), signal: AbortSignal.timeout(ANSWER_MS) });
    const text = await res.text();
    const issue = problem(res.status, res.headers.get('content-type'), text);
    return { status: res.status, ...(issue ? { issue } : {}) };
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') return { status: 0, issue: `no answer within ${ANSWER_MS} ms` };
    // fetch refuses some URLs itself (e.g. a malformed escape in the path); those never left.
    if ((e as Error).name === 'TypeError' && !String((e as { cause?: unknown }).cause ?? '').includes('other side closed')) return { status: -1 };
    return { status: 0, issue: `connection failed: ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}` };
  }
}

/** Sends raw bytes and reads the answer until the relay closes the connection. */
function sendRaw(port: number, bytes: Uint8Array): Promise<{ status: number; issue?: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: 0, issue: `no answer and no close within ${ANSWER_MS} ms` });
    }, ANSWER_MS);
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // A served request may leave the connection open (keep-alive): a whole answer is enough.
      const end = received.indexOf('\r\n\r\n');
      const length = end < 0 ? undefined : /\r\ncontent-length: *([0-9]+)/i.exec(received.subarray(0, end).toString('latin1'))?.[1];
      if (length !== undefined && received.length >= end + 4 + Number(length)) socket.end();
    });
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(bytes));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = received.toString('latin1');
      const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
      const m = /^HTTP\/1\.1 ([0-9]{3}) /.exec(head);
      if (!m) return resolve({ status: 0, issue: `closed without an HTTP answer (${received.length} bytes: ${JSON.stringify(text.slice(0, 120))})` });
      const status = Number(m[1]);
      const type = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1] ?? null;
      let body = text.slice(head.length + 4);
      // Bytes after a request's end are a second, pipelined request with its own answer: judge the first answer only.
      const length = /\r\ncontent-length: *([0-9]+)/i.exec(head)?.[1];
      if (length !== undefined) body = body.slice(0, Number(length));
      // A chunked answer (a served request): the first chunk is enough to judge it.
      else if (/\r\ntransfer-encoding: *chunked/i.test(head)) body = body.slice(body.indexOf('\r\n') + 2, body.indexOf('\r\n', body.indexOf('\r\n') + 2));
      const issue = problem(status, type, body);
      resolve({ status, ...(issue ? { issue: `raw: ${issue}` } : {}) });
    });
  });
}

export async function fuzzHttp(o: { seed: number; count: number; frames: number; deadline: number }): Promise<HttpResult> {
  // A short request timeout: truncated raw requests are cut (408) soon instead of holding a slot 30 s.
  const relay = await testRelay({ requestTimeoutMs: 2000 });
  const started = Date.now();
  const out: HttpResult = { sent: 0, raw: 0, frames: 0, seconds: 0, stoppedByTime: false, statuses: {}, findings: [] };
  let next = 0;
  try {
    const worker = async () => {
      for (;;) {
        if (Date.now() > o.deadline) {
          out.stoppedByTime = true;
          return;
        }
        const index = next++;
        if (index >= o.count) return;
        const rng = Rng.forInput(o.seed, 'http', index);
        const raw = rng.chance(0.1);
        const r = raw ? await sendRaw(relay.port, rawRequest(rng)) : await sendFetch(fetchRequest(rng, relay.url));
        if (r.status === -1) continue;
        out.sent++;
        if (raw) out.raw++;
        out.statuses[r.status] = (out.statuses[r.status] ?? 0) + 1;
        if (r.issue) out.findings.push(`request ${index} (seed ${o.seed}): ${r.issue}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await fuzzStream(relay.url, o, out);
  } finally {
    out.seconds = (Date.now() - started) / 1000;
    await relay.close();
  }
  return out;
}

/**
 * Mutated frames on a real stream: each one of at least 5 bytes must get its answer frame (ok,
 * or an error frame carrying a known code); a shorter one closes the stream with 1003.
 */
async function fuzzStream(url: string, o: { seed: number; frames: number; deadline: number }, out: HttpResult): Promise<void> {
  const seeds = TARGETS.find((t) => t.name === 'relay stream frame')!.seeds;
  let client = await StreamClient.open(url);
  try {
    for (let index = 0; index < o.frames; index++) {
      if (Date.now() > o.deadline) {
        out.stoppedByTime = true;
        return;
      }
      const bytes = generate(Rng.forInput(o.seed, 'stream', index), seeds);
      out.frames++;
      const issue = await streamExchange(client, bytes);
      if (issue) out.findings.push(`stream frame ${index} (seed ${o.seed}, ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}): ${issue}`);
      if (client.ws.readyState !== client.ws.OPEN) client = await StreamClient.open(url);
    }
  } finally {
    await client.close();
  }
}

async function streamExchange(client: StreamClient, bytes: Uint8Array): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ANSWER_MS)));
  try {
    if (bytes.length < FRAME_HEADER) {
      const closed = new Promise<number>((resolve) => client.ws.once('close', (code: number) => resolve(code)));
      client.ws.send(bytes);
      const code = await Promise.race([closed, late]);
      return code === 1003 ? undefined : `a ${bytes.length}-byte frame: ${code === 'late' ? 'no close' : `closed with ${code}`}, expected 1003`;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const answer = await Promise.race([client.request(view.getUint8(4), bytes.subarray(FRAME_HEADER)), late]);
    if (answer === 'late') return `no answer within ${ANSWER_MS} ms`;
    if (answer.status === 0) return undefined;
    if (answer.status !== 1) return `answer status ${answer.status}`;
    let code: unknown;
    try {
      code = (JSON.parse(Buffer.from(answer.payload).toString('utf8')) as { error?: { code?: unknown } }).error?.code;
    } catch {
      return 'an error frame whose payload is not JSON';
    }
    if (code === 'INTERNAL') return 'INTERNAL error frame';
    return typeof code === 'string' && Object.hasOwn(RELAY_ERROR_STATUS, code) ? undefined : `an error frame without a known code: ${String(code)}`;
  } finally {
    clearTimeout(timer);
  }
}
