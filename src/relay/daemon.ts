/**
 * One constructor that wires a relay: keys from the data dir, the relay wallet and its
 * contract book (wallet.sqlite), the store, the payments (contract registration, funding
 * checks, the watcher that claims), the service, the HTTP and stream adapters, metrics,
 * the retention sweeper. `stop()` shuts down in order: stop accepting, answer what was
 * accepted (flush the writer), stop the watcher, close sockets, close the databases.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { ChainBackend } from '../chain/backend.ts';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import type { RelayConfig } from './config.ts';
import { RelayError } from './errors.ts';
import { BackendChainPolicy, NoChain, NoPayments, type ChainPolicy, type Payments } from './chain-ports.ts';
import { ChainPayments } from './payments.ts';
import { openRelayDataKey, openRelayWallet } from './wallet.ts';
import { buildRelayApp } from './app.ts';
import { RelayMetrics } from './metrics.ts';
import { RelayPrekeys } from './prekeys.ts';
import { RelayNetwork, type NetworkTuning } from './network.ts';
import { RateLimiter } from './rate-limit.ts';
import { RelayService } from './service.ts';
import { RelayStore } from './store.ts';
import { StreamServer } from './ws.ts';
import { WorkerSealer, type Sealer } from './sealer.ts';
import type { SealJob } from './seal.ts';
import { ChannelPayments, RelayChannelService } from './channels.ts';

export interface RelayOverrides {
  /** Relay network timing for tests (gossipsub heartbeat, announcement debounce). */
  p2p?: NetworkTuning;
  /** The chain (default: an EsploraBackend at config.chainUrl; none: no payments). */
  backend?: ChainBackend;
  /** Tip source for quotes (default: from the backend). */
  chain?: ChainPolicy;
  /** Replaces the chain-wired payments (tests of the storage path). */
  payments?: Payments;
  log?: Logger;
  now?: () => number;
  /** Key-derivation cost of a new relay wallet's passphrase and data key (tests pass a light one). */
  walletScrypt?: ScryptParams;
  /**
   * 'plaintext' opens relay.sqlite without the data key: only the relay benchmark's baseline
   * for what encryption at rest costs (the CLI has no such switch). Default 'encrypted'.
   */
  storeAtRest?: 'encrypted' | 'plaintext';
  /** Sees every job handed to the sealer before it is sealed (tests count the blobs one k sealed). */
  onSeal?: (job: SealJob) => void;
}

export interface RelayHandle {
  url: string;
  port: number;
  service: RelayService;
  store: RelayStore;
  payments: Payments;
  /** Payment channels (undefined without a chain backend). */
  channels: RelayChannelService | undefined;
  /** The relay network (network.enabled is false with p2p off). */
  network: RelayNetwork;
  /** Set only at the start that created the relay wallet: its recovery phrase, for the operator to write down. */
  recoveryPhrase: string | undefined;
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
  const dbPath = join(config.dataDir, 'relay.sqlite');
  // The database holds every unreleased k: owner-only, like the keys (SQLite gives its
  // -wal and -shm files the database file's mode).
  closeSync(openSync(dbPath, 'a', 0o600));
  chmodSync(dbPath, 0o600);
  const backend = o.backend ?? (config.chainUrl ? new EsploraBackend({ baseUrl: config.chainUrl, network: config.network }) : undefined);
  const scrypt = o.walletScrypt ? { scrypt: o.walletScrypt } : {};
  // Every database of the directory is encrypted with its data key (src/store/data-key.ts).
  const unlock = openRelayDataKey(config, { ...scrypt, log });
  const wallet = openRelayWallet(config, { unlock, ...(backend ? { backend } : {}), ...scrypt });
  const store = new RelayStore({ path: dbPath, synchronous: config.synchronous, batchMax: config.writeBatchMax, ...(o.storeAtRest === 'plaintext' ? {} : { key: unlock.key }) });
  const chain = o.chain ?? (backend ? new BackendChainPolicy(backend) : new NoChain());
  const payments: Payments = o.payments ?? (backend
    ? new ChainPayments({
      backend, relay: wallet.relayContracts(config), keys: wallet.keys,
      onProblem: (p) => log.warn({ contract: p.id, err: p.error }, 'contract watcher problem'),
      ...(o.now ? { now: o.now } : {}),
    })
    : new NoPayments());
  // Payment channels need the chain (fundings, deadlines); their book is in the wallet's party file.
  const ed = nodeEd25519();
  const channels = backend && !o.payments
    ? new RelayChannelService({ config, db: wallet.db, wallet: wallet.wallet, backend, store, log, relayId: ed.publicKey(nodeSecret),
      signer: { nodeSecret, ed, url: () => service.url }, ...(o.now ? { now: o.now } : {}) })
    : undefined;
  const paid: Payments = channels ? new ChannelPayments(payments, channels) : payments;
  const metrics = new RelayMetrics(store, payments);
  channels?.registerMetrics(metrics.registry);
  const limiter = new RateLimiter(config.rateLimitBurst, config.rateLimitPerSec);
  // Sealing and receipt signing on a worker thread: the second core (src/relay/sealer.ts).
  const worker = new WorkerSealer({ nodeSecret, relayId: ed.publicKey(nodeSecret), ed, aead: nodeAead });
  const onSeal = o.onSeal;
  const sealer: Sealer = onSeal ? { seal: (job) => (onSeal(job), worker.seal(job)), close: () => worker.close() } : worker;
  const service = new RelayService({
    config, store, nodeSecret, ed, aead: nodeAead, contractKeys: wallet.keys, chain, payments: paid, metrics, sealer,
    ...(o.now ? { now: o.now } : {}),
  });
  // Resume every pending contract before taking requests; an unreachable chain is retried at the next tip.
  await payments.start().catch((err: unknown) => log.warn({ err }, 'contract watcher: first pass failed'));
  await channels?.start().catch((err: unknown) => log.warn({ err }, 'channel watcher: first pass failed'));
  const prekeys = new RelayPrekeys(store.db, store.writer, { ...config, relayId: ed.publicKey(nodeSecret) }, o.now);
  const network = new RelayNetwork({
    config, nodeSecret, service, store, metrics, log, prekeys, ...(channels ? { channelTerms: () => channels.terms() } : {}),
    ...(o.now ? { now: o.now } : {}), ...(o.p2p ? { tuning: o.p2p } : {}),
  });
  const app = await buildRelayApp({
    config, service, metrics, limiter, log, channels, store, network, prekeys,
    infoExtra: () => ({ p2p: network.info(), ...(channels ? { channels: channels.terms() } : {}) }),
  });
  // What start-up opened, released in order when the relay cannot start after all.
  const release = async (): Promise<void> => {
    await sealer.close();
    await payments.stop();
    await channels?.stop();
    await store.close();
    wallet.close();
  };
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (cause) {
    await release();
    throw new RelayError('BAD_CONFIG', `cannot listen on ${config.host}:${config.port}: ${(cause as Error).message}`, { cause });
  }
  worker.warm();
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // With port 0 the URL quotes carry is known only now; nothing could reach the service before.
  if (config.publicUrl === '') service.url = url;
  if (config.p2p) {
    try {
      await network.start();
    } catch (cause) {
      await app.close();
      await release();
      throw new RelayError('BAD_CONFIG', `cannot start the relay network: ${(cause as Error).message}`, { cause });
    }
  }
  const bound = { ...config, port };
  const stream = new StreamServer(app.server, { config: bound, service, limiter, log, ...(channels ? { channels, store } : {}) });

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
      await payments.stop();
      await channels?.stop();
      await stream.close();
      await network.stop();
      await app.close();
      await sealer.close();
      await store.close();
      wallet.close();
      log.info('relay stopped');
    })());
  return { url, port, service, store, payments, channels, network, recoveryPhrase: wallet.newRecoveryPhrase, stop };
}
