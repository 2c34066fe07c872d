/**
 * One constructor that wires a relay: keys from the data dir, the store, the service,
 * the HTTP and stream adapters, metrics, the retention sweeper. `stop()` shuts down in
 * order: stop accepting, answer what was accepted (flush the writer), close sockets,
 * close the database.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import { NETWORKS } from '../core/network.ts';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import {
  BackendChainPolicy, ChainNotWired, NoChain, RecipientPaysOnly, SeedContractKeys,
  type ChainPolicy, type FundingVerifier, type Unlocker,
} from './chain-ports.ts';
import { buildHttp } from './http.ts';
import { RelayMetrics } from './metrics.ts';
import { RateLimiter } from './rate-limit.ts';
import { RelayService } from './service.ts';
import { RelayStore } from './store.ts';
import { StreamServer } from './ws.ts';

export interface RelayOverrides {
  chain?: ChainPolicy;
  funding?: FundingVerifier;
  unlocker?: Unlocker;
  log?: Logger;
  now?: () => number;
}

export interface RelayHandle {
  url: string;
  port: number;
  service: RelayService;
  store: RelayStore;
  stop(): Promise<void>;
}

/** A 32-byte secret kept in `path` (mode 0600), created on first start. */
export function loadOrCreateSecret(path: string): Uint8Array {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new RelayError('BAD_CONFIG', `${path}: expected 64 lowercase hex characters`);
    return new Uint8Array(Buffer.from(text, 'hex'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = new Uint8Array(randomBytes(32));
  // 'wx': never overwrite a key another process created in the meantime.
  writeFileSync(path, Buffer.from(secret).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return secret;
}

export async function startRelay(config: RelayConfig, o: RelayOverrides = {}): Promise<RelayHandle> {
  if (config.dataDir === '') throw new RelayError('BAD_CONFIG', '"dataDir" expected a directory, got ""');
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const log = o.log ?? pino({ level: config.logLevel, base: { svc: 'relay' } }, pino.destination(2));
  const nodeSecret = loadOrCreateSecret(join(config.dataDir, 'node-key'));
  const contractSeed = loadOrCreateSecret(join(config.dataDir, 'contract-seed'));
  const dbPath = join(config.dataDir, 'relay.sqlite');
  // The database holds every unreleased k: owner-only, like the keys (SQLite gives its
  // -wal and -shm files the database file's mode).
  closeSync(openSync(dbPath, 'a', 0o600));
  chmodSync(dbPath, 0o600);
  const store = new RelayStore({ path: dbPath, synchronous: config.synchronous, batchMax: config.writeBatchMax });
  const chain = o.chain ?? (config.chainUrl ? new BackendChainPolicy(new EsploraBackend({ baseUrl: config.chainUrl, network: config.network })) : new NoChain());
  const metrics = new RelayMetrics(store);
  const limiter = new RateLimiter(config.rateLimitBurst, config.rateLimitPerSec);
  const service = new RelayService({
    config, store, nodeSecret, ed: nodeEd25519(), aead: nodeAead,
    contractKeys: new SeedContractKeys(contractSeed, NETWORKS[config.network].coinType),
    chain, funding: o.funding ?? new RecipientPaysOnly(), unlocker: o.unlocker ?? new ChainNotWired(), metrics,
    ...(o.now ? { now: o.now } : {}),
  });
  const app = await buildHttp({ config, service, metrics, limiter, log });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (cause) {
    store.db.close();
    throw new RelayError('BAD_CONFIG', `cannot listen on ${config.host}:${config.port}: ${(cause as Error).message}`, { cause });
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // With port 0 the URL quotes carry is known only now; nothing could reach the service before.
  if (config.publicUrl === '') service.url = url;
  const bound = { ...config, port };
  const stream = new StreamServer(app.server, { config: bound, service, limiter, log });

  let sweeping: Promise<unknown> = Promise.resolve();
  const sweeper = setInterval(() => {
    sweeping = sweeping.then(() => service.sweep()).then(
      (n) => { if (n > 0) log.info({ deleted: n }, 'retention sweep'); },
      (err: unknown) => log.error({ err }, 'retention sweep failed'),
    );
  }, config.sweepIntervalSecs * 1000);
  sweeper.unref();

  log.info({ url, relayId: Buffer.from(service.relayId).toString('hex'), modes: service.info().acceptedModes }, 'relay listening');

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      clearInterval(sweeper);
      stream.stopAccepting();
      await stream.idle();
      await sweeping;
      await store.writer.drain();
      await stream.close();
      await app.close();
      await store.close();
      log.info('relay stopped');
    })());
  return { url, port, service, store, stop };
}
