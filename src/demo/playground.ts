/**
 * `npm start`: the playground. An embedded devnet served over HTTP, one local relay (no relay
 * network: quotes come straight from it) and two app instances, Alice's and Carol's, each over
 * its own data directory. With `preset` (what `npm start` does) both identities exist already,
 * unlocked, funded and in each other's contacts, so a newcomer writes from one tab to the other
 * at once; without it (the browser tests) each app starts at its first-run screen.
 * `instantBlocks` mines a block right after every transaction the devnet accepts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Devnet } from '../chain/devnet/devnet.ts';
import { startDevnetServer, type DevnetServer } from '../chain/devnet/server.ts';
import { Client } from '../client/index.ts';
import { NETWORKS } from '../core/network.ts';
import { DEFAULTS, finish } from '../relay/config.ts';
import { startRelay, type RelayHandle } from '../relay/daemon.ts';
import { addressToScript } from '../wallet/index.ts';
import { startAppServer, type AppServer } from '../app/server.ts';
import { DEMO_SCRYPT, FUNDING_SATS, userPassphrase } from './run.ts';

export interface PlaygroundOptions {
  /** An empty directory for the chain, the relay and both users (the caller removes it). */
  dir: string;
  /** Identities made, funded and introduced before the apps start. */
  preset?: boolean;
  /** Mine a block after every accepted transaction (default true). */
  instantBlocks?: boolean;
  /** App ports (default any free one). */
  ports?: [number, number];
}

export interface Playground {
  devnet: Devnet;
  chainUrl: string;
  relay: RelayHandle;
  relayUrl: string;
  alice: AppServer;
  carol: AppServer;
  /** Stops the relay (its URL stays; requests fail) and starts it again on the same port. */
  stopRelay(): Promise<void>;
  startRelay(): Promise<void>;
  close(): Promise<void>;
}

function relayConfig(dir: string, chainUrl: string, port: number) {
  return finish({
    ...DEFAULTS,
    name: 'playground relay',
    port,
    dataDir: join(dir, 'relay'),
    chainUrl,
    passphrase: 'playground relay passphrase',
    p2p: false,
    logLevel: 'silent',
    priceBaseSats: 500,
    depositorUnpaidMaxMessages: DEFAULTS.mailboxUnpaidMaxMessages,
    depositorUnpaidMaxBytes: DEFAULTS.mailboxUnpaidMaxBytes,
  });
}

export async function startPlayground(o: PlaygroundOptions): Promise<Playground> {
  const closers: (() => unknown)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch {
        // Keep closing the rest.
      }
    }
  };
  try {
    mkdirSync(o.dir, { recursive: true });
    const devnet = Devnet.open({ path: join(o.dir, 'devnet.sqlite') });
    closers.push(() => devnet.close());
    if (o.instantBlocks !== false) {
      // A block right after each accepted transaction (a turn later, so the submitter sees it unconfirmed first).
      const submit = devnet.submitTx.bind(devnet);
      let pending = false;
      devnet.submitTx = (raw) => {
        const txid = submit(raw);
        if (!pending) {
          pending = true;
          setImmediate(() => {
            pending = false;
            try {
              devnet.mine(1);
            } catch {
              // Closed meanwhile.
            }
          });
        }
        return txid;
      };
    }
    const server: DevnetServer = await startDevnetServer({ devnet });
    closers.push(() => server.close());
    const chainUrl = server.url.replace(/\/+$/, '');
    const log = pino({ level: 'silent' });
    let relay = await startRelay(relayConfig(o.dir, chainUrl, 0), { log, walletScrypt: DEMO_SCRYPT });
    const relayPort = relay.port;
    let relayUp = true;
    closers.push(() => (relayUp ? relay.stop() : undefined));
    const relayUrl = relay.url.replace(/\/+$/, '');
    const app = async (name: string, port: number | undefined) => {
      const dataDir = join(o.dir, name.toLowerCase());
      const a = await startAppServer({ dataDir, chainUrl, relays: [relayUrl], scrypt: DEMO_SCRYPT, network: 'regtest', ...(port !== undefined ? { port } : {}) });
      closers.push(() => a.close());
      return a;
    };
    const alice = await app('Alice', o.ports?.[0]);
    const carol = await app('Carol', o.ports?.[1]);
    if (o.preset) {
      const made: Client[] = [];
      for (const [name, a] of [['Alice', alice], ['Carol', carol]] as const) {
        const { client } = await Client.init({ dir: join(o.dir, name.toLowerCase()), passphrase: userPassphrase(name), network: 'regtest', chainUrl, relays: [relayUrl], scrypt: DEMO_SCRYPT });
        await client.publish();
        devnet.faucet(addressToScript(client.walletAddress(), NETWORKS.regtest), FUNDING_SATS);
        a.state.adopt(client);
        made.push(client);
      }
      devnet.mine(1);
      const [ca, cc] = made as [Client, Client];
      await ca.addContact('Carol', cc.address());
      await cc.addContact('Alice', ca.address());
    }
    return {
      devnet, chainUrl, relay, relayUrl, alice, carol,
      stopRelay: async () => {
        relayUp = false;
        await relay.stop();
      },
      startRelay: async () => {
        relay = await startRelay(relayConfig(o.dir, chainUrl, relayPort), { log, walletScrypt: DEMO_SCRYPT });
        relayUp = true;
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
