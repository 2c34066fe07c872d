// The typed relay client against a real relay and against servers that misbehave.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientError } from '../../src/client/errors.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { newIdentity, offer, testRelay, type TestRelay } from '../relay/helpers.ts';

function rejectsWith(code: string, check?: (e: ClientError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err);
    return true;
  };
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('RelayClient', { timeout: 60_000 }, () => {
  let relay: TestRelay;
  before(async () => {
    relay = await testRelay();
  });
  after(() => relay.close());

  it('reads the information document and a signed quote', async () => {
    const c = new RelayClient(`${relay.url}/`);
    const info = await c.info();
    assert.equal(info.relayId, Buffer.from(relay.service.relayId).toString('hex'));
    const carol = newIdentity();
    const q = await c.quote(offer(carol.mailbox, 1000));
    assert.deepEqual(q.tag, carol.mailbox);
  });

  it("surfaces the relay's refusal code, message and extra fields", async () => {
    const c = new RelayClient(relay.url);
    await assert.rejects(c.quote(offer(newIdentity().mailbox, 1000, { maxFee: 1 })), rejectsWith('FEE_TOO_LOW', (e) => {
      assert.equal(e.relay, relay.url);
      assert.equal(typeof e.details?.price, 'number');
      assert.match(e.message, /^relay http:\/\/127\.0\.0\.1:\d+: "maxFee" expected at least/);
    }));
    await assert.rejects(c.fetchPrekeys(newIdentity().mailbox), rejectsWith('NO_BUNDLE'));
  });

  it('RELAY_UNREACHABLE for a closed port and for a relay that never answers; CANCELLED on abort', async () => {
    const closed = await serve(() => undefined);
    await new Promise<void>((r) => closed.server.close(() => r()));
    await assert.rejects(new RelayClient(closed.url).info(), rejectsWith('RELAY_UNREACHABLE', (e) => assert.match(e.message, /ECONNREFUSED/)));

    const silent = await serve(() => undefined);
    try {
      await assert.rejects(new RelayClient(silent.url, { timeoutMs: 200 }).info(), rejectsWith('RELAY_UNREACHABLE', (e) => assert.match(e.message, /no answer within 200 ms/)));
      const ac = new AbortController();
      const pending = new RelayClient(silent.url).info(ac.signal);
      ac.abort();
      await assert.rejects(pending, rejectsWith('CANCELLED'));
    } finally {
      silent.server.closeAllConnections();
      await new Promise<void>((r) => silent.server.close(() => r()));
    }
  });

  it('BAD_RELAY_ANSWER for an error without a code and for a malformed object', async () => {
    const bad = await serve((req, res) => {
      if (req.url === '/.well-known/satpost') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('oops');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([2, 1, 2, 3]));
    });
    try {
      await assert.rejects(new RelayClient(bad.url).info(), rejectsWith('BAD_RELAY_ANSWER', (e) => assert.match(e.message, /HTTP 500 without a JSON error body/)));
      await assert.rejects(new RelayClient(bad.url).quote(offer(newIdentity().mailbox, 10)), rejectsWith('BAD_RELAY_ANSWER', (e) => assert.match(e.message, /malformed object/)));
    } finally {
      await new Promise<void>((r) => bad.server.close(() => r()));
    }
  });
});
