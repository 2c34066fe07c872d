// Shared set-up for client SDK tests: an in-process devnet served over real HTTP, so the
// client talks to it through its ordinary EsploraBackend.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client as ClientSdk } from '../../src/client/client.ts';
import type { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet/server.ts';
import { NETWORKS } from '../../src/core/network.ts';
import { addressToScript } from '../../src/wallet/address.ts';
import { introEpochOf, introSecret, tagOfSecret } from '../../src/core/objects/index.ts';

export const LIGHT_SCRYPT = { log2N: 10, r: 8, p: 1 };

export interface Chain {
  devnet: Devnet;
  server: DevnetServer;
  url: string;
  /** Pays from the faucet and confirms it in one block. */
  fund(address: string, sats: number): string;
  close(): Promise<void>;
}

export async function startChain(): Promise<Chain> {
  const devnet = Devnet.open({ path: ':memory:' });
  const server = await startDevnetServer({ devnet });
  return {
    devnet,
    server,
    url: server.url,
    fund(address, sats) {
      const txid = devnet.faucet(addressToScript(address, NETWORKS.regtest), sats);
      devnet.mine(1);
      return txid;
    },
    async close() {
      await server.close();
      devnet.close();
    },
  };
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every sat of a client's wallet: confirmed, unconfirmed and reserved. */
export async function holdings(c: Client): Promise<number> {
  const b = await c.balance();
  return b.confirmed + b.unconfirmed + b.reserved;
}

/** Alice and Carol can write to each other: prekeys published, each the other's contact, each funded with `sats`. */
export async function acquaint(chain: Chain, alice: Client, carol: Client, sats = 100_000): Promise<void> {
  await carol.publish();
  await alice.publish();
  await alice.addContact('carol', carol.address());
  await carol.addContact('alice', alice.address());
  chain.fund(alice.walletAddress(), sats);
  chain.fund(carol.walletAddress(), sats);
}

/** An assert.rejects/throws check: a ClientError with this code. */
export function rejectsWith(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/**
 * A standalone relay (127.0.0.1:0, no relay network) on `chain`, data in <dir>/relay, with short
 * contract timelocks and no tip cache (tests mine blocks and quote right after).
 */
export async function startClientTestRelay(chain: Chain, dir: string, overrides: Partial<RelayConfig> = {}): Promise<RelayHandle> {
  const config = finish({
    ...DEFAULTS, port: 0, dataDir: join(dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false, lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url,
    ...overrides,
  });
  const backend = new DevnetBackend(chain.devnet);
  return startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
}

/** A contact's introduction tag of today (hex): what anyone holding her public address can compute. */
export function introTagOf(c: Client, contact: string, now = Date.now()): string {
  const key = Buffer.from(c.contact(contact).identityKey, 'hex');
  return Buffer.from(tagOfSecret(introSecret(new Uint8Array(key), introEpochOf(now)))).toString('hex');
}

/** A devnet, a test relay and two fresh clients (alice, carol) on it, in a temporary directory; close() undoes it all. */
export interface Pair {
  chain: Chain;
  relay: RelayHandle;
  dir: string;
  alice: Client;
  carol: Client;
  close(): Promise<void>;
}

export async function startPair(prefix: string): Promise<Pair> {
  const tmp = tempDir(prefix);
  const chain = await startChain();
  const relay = await startClientTestRelay(chain, tmp.dir);
  const make = async (name: string) =>
    (await ClientSdk.init({ dir: join(tmp.dir, name), passphrase: `${name} pass`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT })).client;
  const alice = await make('alice');
  const carol = await make('carol');
  return {
    chain, relay, dir: tmp.dir, alice, carol,
    async close() {
      await alice.close();
      await carol.close();
      await relay.stop();
      await chain.close();
      tmp.cleanup();
    },
  };
}
