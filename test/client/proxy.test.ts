// Issue 14: every client connection (relay HTTP, relay WebSocket, Esplora chain HTTP) goes
// through the configured SOCKS5 proxy. A real microsocks (Debian package `microsocks`) binds
// its outgoing connections to 127.0.0.2, and the relay and the chain are reached through TCP
// forwarders that note each connection's source address: anything from elsewhere bypassed
// the proxy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from '../../src/client/client.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { ProxyError } from '../../src/net/socks5.ts';
import { Transport } from '../../src/net/transport.ts';
import type { RelayHandle } from '../../src/relay/daemon.ts';
import { LIGHT_SCRYPT, acquaint, rejectsWith, startChain, startClientTestRelay, tempDir, type Chain } from './helpers.ts';

const PROXY_SOURCE = '127.0.0.2';

/** A TCP forwarder to 127.0.0.1:`port` that records where each connection came from. */
async function forwarder(port: number): Promise<{ port: number; sources: string[]; close(): Promise<void> }> {
  const sources: string[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((down) => {
    sources.push(down.remoteAddress ?? '?');
    const up = connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => { down.destroy(); up.destroy(); });
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sources,
    close: () => new Promise((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A free TCP port on 127.0.0.1 (microsocks takes a port number, not 0). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; gives up after `ms`. */
async function accepting(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
  }
}

export async function startMicrosocks(args: string[] = []): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  if (spawnSync('sh', ['-c', 'command -v microsocks']).status !== 0) {
    throw new Error('microsocks is not installed: install it with `apt-get install -y microsocks` (Debian/Ubuntu) to run the SOCKS5 tests');
  }
  const port = await freePort();
  const child: ChildProcess = spawn('microsocks', ['-i', '127.0.0.1', '-p', String(port), '-b', PROXY_SOURCE, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await accepting(port, 10_000);
  return {
    url: `socks5h://127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('client connections through a SOCKS5 proxy', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  let proxy: Awaited<ReturnType<typeof startMicrosocks>>;
  let relayFwd: Awaited<ReturnType<typeof forwarder>>;
  let chainFwd: Awaited<ReturnType<typeof forwarder>>;
  const tmp = tempDir('satpost-proxy-');
  const open: Client[] = [];

  before(async () => {
    proxy = await startMicrosocks();
    chain = await startChain();
    relay = await startClientTestRelay(chain, tmp.dir);
    relayFwd = await forwarder(Number(new URL(relay.url).port));
    chainFwd = await forwarder(Number(new URL(chain.url).port));
  });
  after(async () => {
    for (const c of open) await c.close();
    await relayFwd?.close();
    await chainFwd?.close();
    await relay?.stop();
    await chain?.close();
    await proxy?.stop();
    tmp.cleanup();
  });

  it('every client connection goes through the SOCKS5 proxy', async () => {
    // "localhost": a host name, so the proxy resolves it (socks5h).
    const relayUrl = `http://localhost:${relayFwd.port}`;
    const chainUrl = `http://localhost:${chainFwd.port}`;
    // The forwarders do tell a direct connection apart.
    await new RelayClient(relayUrl).info();
    assert.deepEqual(relayFwd.sources, ['127.0.0.1']);
    relayFwd.sources.length = 0;

    const make = async (name: string) => {
      const { client } = await Client.init({
        dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl, relays: [relayUrl], scrypt: LIGHT_SCRYPT, proxy: proxy.url,
      });
      open.push(client);
      return client;
    };
    const alice = await make('alice');
    const carol = await make('carol');
    await acquaint(chain, alice, carol);

    // A live subscription (WebSocket), a send, and a read: relay HTTP, relay WebSocket and chain HTTP.
    const ac = new AbortController();
    const watched = carol.watch({ signal: ac.signal });
    const first = watched.next();
    const sent = await alice.send('carol', { text: 'through the proxy' }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
    assert.equal((await first).value!.id, sent.id);
    ac.abort();
    assert.equal((await watched.next()).done, true);
    chain.devnet.mine(1);
    const read = await carol.read(sent.id);
    assert.deepEqual(read.message, { kind: 'text', text: 'through the proxy' });

    assert.ok(relayFwd.sources.length >= 3, `relay connections seen: ${relayFwd.sources.length}`);
    assert.ok(chainFwd.sources.length >= 1, `chain connections seen: ${chainFwd.sources.length}`);
    assert.deepEqual(new Set(relayFwd.sources), new Set([PROXY_SOURCE]), 'every relay connection came from the proxy');
    assert.deepEqual(new Set(chainFwd.sources), new Set([PROXY_SOURCE]), 'every chain connection came from the proxy');
  });

  it('hands host names to the proxy unresolved, and reports its refusal typed', async () => {
    // No resolver here knows this name: only the proxy's answer (host unreachable) can come back.
    const onion = new RelayClient(`http://${'a'.repeat(56)}.onion`, { transport: new Transport(proxy.url) });
    await assert.rejects(onion.info(), (err: unknown) => rejectsWith('RELAY_UNREACHABLE')(err) && ProxyError.is((err as Error).cause, 'PROXY_CONNECT_REFUSED'));
    // An IPv4 literal goes as such.
    relayFwd.sources.length = 0;
    await new RelayClient(`http://127.0.0.1:${relayFwd.port}`, { transport: new Transport(proxy.url) }).info();
    assert.deepEqual(relayFwd.sources, [PROXY_SOURCE]);
  });

  it('speaks username/password (RFC 1929) to a proxy that requires it', async () => {
    const locked = await startMicrosocks(['-u', 'satpost', '-P', 'hunter2']);
    try {
      relayFwd.sources.length = 0;
      const url = `http://localhost:${relayFwd.port}`;
      const info = await new RelayClient(url, { transport: new Transport(`socks5h://satpost:hunter2@127.0.0.1:${locked.port}`) }).info();
      assert.equal(typeof info.relayId, 'string');
      assert.deepEqual(relayFwd.sources, [PROXY_SOURCE]);
      // Wrong credentials: refused by the proxy, typed, and nothing reaches the relay.
      await assert.rejects(
        new RelayClient(url, { transport: new Transport(`socks5h://satpost:wrong@127.0.0.1:${locked.port}`) }).info(),
        (err: unknown) => rejectsWith('RELAY_UNREACHABLE')(err) && ProxyError.is((err as Error).cause, 'PROXY_AUTH_REFUSED'),
      );
      assert.deepEqual(relayFwd.sources, [PROXY_SOURCE]);
    } finally {
      await locked.stop();
    }
  });
});
