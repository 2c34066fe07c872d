/**
 * The story's relay network: three relay daemons (src/relay/daemon.ts) in this process, each
 * with its own data dir, HTTP on 127.0.0.1 port 0 and libp2p on port 0. The first starts
 * alone; the other two bootstrap from its multiaddr and find each other through its topology
 * announcements (p2pMinPeers), so the mesh is a triangle. Each quotes from its own price
 * schedule; their wallets start empty and earn.
 */
import { join } from 'node:path';
import { hex } from '@scure/base';
import { pino } from 'pino';
import { QuoteCodec, assertQuoteSigned, type Quote } from '../core/objects/index.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import { OFFER_TOPIC } from '../core/wire/p2p.ts';
import { DEFAULTS, finish, type RelayConfig } from '../relay/config.ts';
import { startRelay, type RelayHandle } from '../relay/daemon.ts';
import { Wallet } from '../wallet/index.ts';
import { unlockDataKey } from '../store/data-key.ts';
import { openPartyDb } from '../watch/index.ts';
import { DemoError } from './errors.ts';

export interface RelaySpec {
  name: string;
  /** Price schedule: base per message (the per-KiB and per-day parts are the same for all three). */
  priceBaseSats: number;
}

/** Relay 1 starts the network; Carol's relay is 2; 3 is the cheapest, so Alice's SDK picks it. */
export const RELAY_SPECS: readonly RelaySpec[] = [
  { name: 'Dave', priceBaseSats: 1_500 },
  { name: 'Erin', priceBaseSats: 1_200 },
  { name: 'Bob', priceBaseSats: 900 },
];
/** Per 16 KiB block of size class: a text message is one block. */
export const PRICE_PER_BLOCK_SATS = 50;
export const PRICE_PER_DAY_SATS = 100;

export interface DemoRelay {
  name: string;
  config: RelayConfig;
  handle: RelayHandle;
  /** The URL quotes carry (no trailing slash). */
  url: string;
}

export const relayPassphrase = (name: string): string => `${name} relay demo passphrase`;

/** Gossipsub heartbeat and topology debounce short enough for a demo (defaults: 1 s, 100 ms). */
const P2P_TUNING = { heartbeatMs: 100, topologyDebounceMs: 20 };

function configOf(spec: RelaySpec, root: string, chainUrl: string, bootstrap: string[]): RelayConfig {
  return finish({
    ...DEFAULTS,
    name: `${spec.name}'s relay`,
    port: 0,
    dataDir: join(root, `relay-${spec.name.toLowerCase()}`),
    chainUrl,
    passphrase: relayPassphrase(spec.name),
    priceBaseSats: spec.priceBaseSats,
    pricePerBlockSats: PRICE_PER_BLOCK_SATS,
    pricePerDaySats: PRICE_PER_DAY_SATS,
    logLevel: 'silent',
    // Every demo client deposits from 127.0.0.1: one depositor, as large as one tag's unpaid allowance.
    depositorUnpaidMaxMessages: DEFAULTS.mailboxUnpaidMaxMessages,
    depositorUnpaidMaxBytes: DEFAULTS.mailboxUnpaidMaxBytes,
    p2pPort: 0,
    bootstrap,
    p2pMinPeers: 2,
    topologyRepublishSecs: 2,
    // Only deadlines, as long as a busy machine may need: an offer is answered once all three
    // relays have quoted or declined, a tag query or lookup once every relay has answered.
    offerWindowMs: 10_000,
    queryBudgetMs: 10_000,
  });
}

/**
 * Starts one relay; `started` is called at once so that a failure later still stops it.
 * Its chain is an EsploraBackend over HTTP, as a separate relay process would have.
 */
export async function startDemoRelay(spec: RelaySpec, o: { root: string; chainUrl: string; bootstrap: string[]; scrypt: ScryptParams }): Promise<DemoRelay> {
  const config = configOf(spec, o.root, o.chainUrl, o.bootstrap);
  const handle = await startRelay(config, { log: pino({ level: 'silent' }), walletScrypt: o.scrypt, p2p: P2P_TUNING });
  return { name: spec.name, config, handle, url: handle.url.replace(/\/+$/, '') };
}

export function multiaddrOf(r: DemoRelay): string {
  const addr = r.handle.network.info().multiaddrs?.[0];
  if (addr === undefined) throw new DemoError('NETWORK_NOT_FORMED', `${r.name}'s relay has no libp2p address`);
  return addr;
}

export function peerCount(r: DemoRelay): number {
  return r.handle.network.parts?.node.libp2p.getPeers().length ?? 0;
}

/**
 * The network is ready when every relay is connected to the two others, every relay's
 * topology holds all three with their links (tag queries are forwarded along it), and
 * offers gossiped from any relay reach every other along gossipsub mesh links.
 */
export function networkFormed(relays: readonly DemoRelay[]): boolean {
  const n = relays.length;
  const parts = relays.map((r) => r.handle.network.parts);
  if (parts.some((p) => p === undefined)) return false;
  if (relays.some((r) => peerCount(r) !== n - 1)) return false;
  const topologyComplete = parts.every((p) => {
    const t = p!.topology.topology();
    return t.size === n && [...t.values()].every((links) => links.length === n - 1);
  });
  if (!topologyComplete) return false;
  const peerIds = new Map(parts.map((p, i) => [p!.node.peerId.toString(), i]));
  return parts.every((p, start) => {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length > 0) {
      for (const peer of parts[todo.pop()!]!.node.meshPeers(OFFER_TOPIC)) {
        const j = peerIds.get(peer);
        if (j !== undefined && !seen.has(j)) {
          seen.add(j);
          todo.push(j);
        }
      }
    }
    return p !== undefined && seen.size === n;
  });
}

/** Polls `ready` (state read from the running relays) until it holds or `timeoutMs` passes. */
export async function pollUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!ready()) {
    if (performance.now() - started > timeoutMs) throw new DemoError('NETWORK_NOT_FORMED', `${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now() - started;
}

/** Ids (hex) of the quotes a relay has issued and still keeps. */
export function quoteIds(r: DemoRelay): Set<string> {
  return new Set(issuedQuotes(r).map((q) => hex.encode(q.quoteId)));
}

/**
 * Every quote the relay issued and still keeps, read from its store (the relay keeps each
 * signed quote next to its k until it is deposited or lapses). Each one's signature is
 * checked, as Alice's SDK checks the ones it receives.
 */
export function issuedQuotes(r: DemoRelay): Quote[] {
  const rows = r.handle.store.db.prepare('SELECT encoded FROM quotes').all() as { encoded: Uint8Array }[];
  const ed = nodeEd25519();
  return rows.map((row) => {
    const q = QuoteCodec.decode(new Uint8Array(row.encoded));
    assertQuoteSigned(q, ed);
    return q;
  });
}

/**
 * What a stopped relay's wallet holds, read from its wallet.sqlite (unlocked with its
 * passphrase and data key) after a sync with the chain: the relay's earnings, since it started empty.
 */
export async function relayHoldings(r: DemoRelay, chainUrl: string): Promise<number> {
  const db = openPartyDb(join(r.config.dataDir, 'wallet.sqlite'), unlockDataKey(r.config.dataDir, r.config.passphrase));
  try {
    const wallet = Wallet.open({ db, passphrase: r.config.passphrase, network: 'regtest', backend: new EsploraBackend({ baseUrl: chainUrl, network: 'regtest' }) });
    try {
      await wallet.sync();
      const b = wallet.balance();
      return b.confirmed + b.unconfirmed + b.immature + b.reserved;
    } finally {
      wallet.close();
    }
  } finally {
    db.close();
  }
}
