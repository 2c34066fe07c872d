// A client that never finishes its request is cut off after requestTimeoutMs (408), so a
// slow or stalled sender cannot hold a connection and its buffers open; what never becomes a
// request (oversized headers, a stall, non-HTTP bytes) is answered in the relay's own JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { testRelay } from './helpers.ts';

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Opens a raw TCP connection, lets `send` write to it, and resolves with what came back once the relay closed it. */
function rawExchange(url: string, send: (socket: Socket) => void): Promise<RawAnswer> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  // A reset while the test still writes is part of being cut off; what arrived before it counts.
  socket.on('error', () => {});
  socket.on('connect', () => send(socket));
  return new Promise((resolve) =>
    socket.on('close', () => {
      const end = received.indexOf('\r\n\r\n');
      const head = end < 0 ? received : received.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 ([0-9]{3}) /.exec(head)?.[1] ?? 0), headers: head, body: end < 0 ? '' : received.slice(end + 4) });
    }),
  );
}

function relayErrorCode(a: RawAnswer): string {
  assert.match(a.headers, /\r\ncontent-type: application\/json/i, a.headers);
  return (JSON.parse(a.body) as { error: { code: string } }).error.code;
}

/** Sends `request` raw to a fresh relay and asserts the relay's own refusal: `status` with JSON {error: {code}}. */
async function assertRawRefusal(config: { requestTimeoutMs: number }, request: string, status: number, code: string): Promise<void> {
  const relay = await testRelay(config);
  try {
    const answer = await rawExchange(relay.url, (s) => s.write(request));
    assert.equal(answer.status, status, answer.headers);
    assert.equal(relayErrorCode(answer), code);
  } finally {
    await relay.close();
  }
}

test('a request body that never completes gets 408 and the connection is closed', async () => {
  const relay = await testRelay({ requestTimeoutMs: 300 });
  try {
    const started = Date.now();
    // Headers promise 100 bytes; only 10 ever come.
    const answer = await rawExchange(relay.url, (s) =>
      s.write('POST /v1/quote HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789'),
    );
    assert.equal(answer.status, 408, 'the relay answers Request Timeout');
    assert.equal(relayErrorCode(answer), 'REQUEST_TIMEOUT', 'in the relay\'s own error format, not Fastify\'s');
    assert.ok(Date.now() - started >= 250, 'not cut off before the configured timeout');
  } finally {
    await relay.close();
  }
});

test('stalled headers attack: a client that never ends its headers gets 408 REQUEST_TIMEOUT in the relay\'s format', () =>
  assertRawRefusal({ requestTimeoutMs: 500 }, 'GET /.well-known/satpost HTTP/1.1\r\nHost: relay\r\n', 408, 'REQUEST_TIMEOUT'));

test('slow body attack: a body dripped a byte at a time is cut at requestTimeoutMs, not served when it finally completes', async () => {
  const relay = await testRelay({ requestTimeoutMs: 500 });
  try {
    // 300 bytes at one per 25 ms would take 7.5 s, fifteen times the timeout: a relay that
    // bounds only the headers reads it all and answers it (400 BAD_ENCODING for these bytes).
    const length = 300;
    let sent = 0;
    const answer = await rawExchange(relay.url, (s) => {
      s.write(`POST /v1/quote HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
      const drip = setInterval(() => {
        if (!s.writable || sent === length) return clearInterval(drip);
        s.write('x');
        sent++;
      }, 25);
      s.on('close', () => clearInterval(drip));
    });
    assert.equal(answer.status, 408, `answered ${answer.headers.split('\r\n')[0]} after ${sent} of ${length} body bytes`);
    assert.equal(relayErrorCode(answer), 'REQUEST_TIMEOUT');
    assert.ok(sent < length, 'the body was cut before it completed');
  } finally {
    await relay.close();
  }
});

test('oversized headers attack: a 32 KB header gets 431 with the relay\'s JSON error HEADERS_TOO_LARGE', () =>
  assertRawRefusal({ requestTimeoutMs: 5000 }, `GET /.well-known/satpost HTTP/1.1\r\nHost: relay\r\nX-Filler: ${'a'.repeat(32 * 1024)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'));

test('non-HTTP bytes get 400 BAD_REQUEST in the relay\'s format', () => assertRawRefusal({ requestTimeoutMs: 5000 }, 'HELLO RELAY\r\n\r\n', 400, 'BAD_REQUEST'));

test('missing Host attack (found by npm run fuzz): an HTTP/1.1 request without Host gets 400 BAD_REQUEST in the relay\'s format, not Node\'s bare 400', () =>
  assertRawRefusal({ requestTimeoutMs: 5000 }, 'GET /.well-known/satpost HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'));

test('over-long path parameter attack (found by npm run fuzz): answered with the relay\'s BAD_REQUEST, not Fastify\'s FST_ERR_MAX_PARAM_LENGTH', async () => {
  const relay = await testRelay({ requestTimeoutMs: 5000 });
  try {
    for (const path of [`/v1/prekeys/${'ab'.repeat(64)}`, '/v1/channel/%E0%A4%A']) {
      const res = await fetch(`${relay.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST', path);
    }
  } finally {
    await relay.close();
  }
});

test('a complete request within the timeout is served normally', async () => {
  const relay = await testRelay({ requestTimeoutMs: 300 });
  try {
    const res = await fetch(`${relay.url}/.well-known/satpost`);
    assert.equal(res.status, 200);
  } finally {
    await relay.close();
  }
});
