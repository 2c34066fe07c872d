// A client that never finishes its request is cut off after requestTimeoutMs (408), so a
// slow or stalled sender cannot hold a connection and its buffers open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { testRelay } from './helpers.ts';

test('a request body that never completes gets 408 and the connection is closed', async () => {
  const relay = await testRelay({ requestTimeoutMs: 300 });
  try {
    const { port } = new URL(relay.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // Headers promise 100 bytes; only 10 ever come.
    socket.write('POST /v1/quote HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789');
    const started = Date.now();
    await closed;
    assert.match(received, /^HTTP\/1\.1 408 /, 'the relay answers Request Timeout');
    assert.ok(Date.now() - started >= 250, 'not cut off before the configured timeout');
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
