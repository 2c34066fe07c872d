import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { startDevnetServer } from '../../src/chain/devnet/server.ts';
import { EsploraBackend } from '../../src/chain/esplora/backend.ts';
import { ChainError } from '../../src/chain/backend.ts';
import { runBackendCompliance } from './backend-compliance.ts';
import { addressOf } from './fixtures.ts';

runBackendCompliance('EsploraBackend over the devnet HTTP server', async () => {
  const devnet = Devnet.open({ path: ':memory:' });
  const server = await startDevnetServer({ devnet });
  // The chain controls go through the server's /dev/ endpoints, so they are tested too.
  const dev = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as T;
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(json)}`);
    return json;
  };
  return {
    backend: new EsploraBackend({ baseUrl: server.url, network: 'regtest', pollIntervalMs: 10 }),
    mine: async (blocks) => (await dev<{ hashes: string[] }>('/dev/mine', { blocks })).hashes,
    mineOn: async (parent, blocks) => (await dev<{ hashes: string[] }>('/dev/mine-on', { parent, blocks })).hashes,
    invalidate: async (hash) => void (await dev('/dev/invalidate', { hash })),
    faucet: async (script, sats) => (await dev<{ txid: string }>('/dev/faucet', { address: addressOf(script), sats })).txid,
    close: async () => {
      await server.close();
      devnet.close();
    },
  };
});

describe('EsploraBackend tip', () => {
  it('asks for the tip block only when the tip hash changed', async () => {
    const devnet = Devnet.open({ path: ':memory:' });
    const server = await startDevnetServer({ devnet });
    const paths: string[] = [];
    const counting: typeof fetch = (input, init) => {
      paths.push(new URL(String(input)).pathname);
      return fetch(input, init);
    };
    try {
      const backend = new EsploraBackend({ baseUrl: server.url, network: 'regtest', fetch: counting });
      const first = await backend.getTip();
      assert.deepEqual(await backend.getTip(), first);
      assert.deepEqual(paths, ['/blocks/tip/hash', `/block/${first.hash}`, '/blocks/tip/hash']);
      devnet.mine(1);
      const next = await backend.getTip();
      assert.equal(next.height, first.height + 1);
      assert.equal(paths.at(-1), `/block/${next.hash}`);
    } finally {
      await server.close();
      devnet.close();
    }
  });
});

describe('EsploraBackend failures', () => {
  it('turns an unreachable server into BACKEND_UNAVAILABLE', async () => {
    // A port that was just free: bind, read it, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const backend = new EsploraBackend({ baseUrl: `http://127.0.0.1:${port}`, network: 'regtest' });
    await assert.rejects(backend.getTip(), (e: unknown) => ChainError.is(e, 'BACKEND_UNAVAILABLE'));
  });

  it('turns a caller abort and a 5xx into BACKEND_UNAVAILABLE, garbage JSON too', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/fee-estimates') return void res.writeHead(200).end('not json');
      if (req.url === '/blocks/tip/hash') return void res.writeHead(503).end('overloaded');
      // never answers /tx/...: the caller aborts
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const backend = new EsploraBackend({ baseUrl: `http://127.0.0.1:${port}/`, network: 'regtest' });
      await assert.rejects(backend.getFeeEstimates(), (e: unknown) => ChainError.is(e, 'BACKEND_UNAVAILABLE'));
      await assert.rejects(backend.getTip(), (e: unknown) => ChainError.is(e, 'BACKEND_UNAVAILABLE') && /503/.test((e as Error).message));
      const ctl = new AbortController();
      const pending = backend.getTxStatus('ab'.repeat(32), ctl.signal);
      ctl.abort();
      await assert.rejects(pending, (e: unknown) => ChainError.is(e, 'BACKEND_UNAVAILABLE') && /aborted/.test((e as Error).message));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('uses the injected fetch and keeps the base URL path', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/api/fee-estimates') return void res.writeHead(200).end('{"1":2.5}');
      res.writeHead(404).end('Not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const urls: string[] = [];
      const recording: typeof fetch = (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      };
      const backend = new EsploraBackend({ baseUrl: `http://127.0.0.1:${port}/api/`, network: 'signet', fetch: recording });
      assert.equal(backend.network, 'signet');
      assert.deepEqual(await backend.getFeeEstimates(), { '1': 2.5 });
      assert.deepEqual(urls, [`http://127.0.0.1:${port}/api/fee-estimates`]);
      await assert.rejects(backend.getTxStatus('ab'.repeat(32)), (e: unknown) => ChainError.is(e, 'NOT_FOUND'));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
