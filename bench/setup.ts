/**
 * The devnet world the end-to-end benches share: a chain, one real relay started in-process
 * (HTTP on 127.0.0.1, its own wallet and watcher, no p2p) and Client SDKs made on demand, each
 * with its own data directory. `close()` closes the clients, the relay, the chain, then the dir.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../src/chain/devnet/backend.ts';
import { Client } from '../src/client/client.ts';
import { BackendChainPolicy } from '../src/relay/chain-ports.ts';
import { DEFAULTS, finish, type RelayConfig } from '../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../src/relay/daemon.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from '../test/client/helpers.ts';

export interface RelayWorld {
  chain: Chain;
  relay: RelayHandle;
  /** A new client of the relay, initialised in its own directory. */
  client(name: string): Promise<Client>;
  close(): Promise<void>;
}

export async function startRelayWorld(tmpPrefix: string, overrides: Partial<RelayConfig> = {}): Promise<RelayWorld> {
  const tmp = tempDir(tmpPrefix);
  const chain = await startChain();
  const config = finish({
    ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false,
    lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url, ...overrides,
  });
  const backend = new DevnetBackend(chain.devnet);
  const relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
  const clients: Client[] = [];
  return {
    chain,
    relay,
    client: async (name) => {
      const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) await c.close();
      await relay.stop();
      await chain.close();
      tmp.cleanup();
    },
  };
}
