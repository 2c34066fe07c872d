/**
 * The whole story over the real parts, in one process: a devnet served as an Esplora API on
 * 127.0.0.1, three relay daemons joined in a libp2p relay network, Alice and Carol through
 * the Client SDK with their own data directories, two messages (one per payment mode) paid on
 * chain, then many over payment channels (act 3, ./channels.ts), and the exact sats accounting
 * from wallet balances. `runDemo` leaves nothing running: every
 * relay, server, client and database it opened is closed before it returns or throws. The
 * caller owns `dir`.
 */
import { join } from 'node:path';
import { Devnet } from '../chain/devnet/devnet.ts';
import { startDevnetServer } from '../chain/devnet/server.ts';
import { Client } from '../client/index.ts';
import { NETWORKS } from '../core/network.ts';
import { expected } from '../core/errors.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import { decodeAddress } from '../identity/address.ts';
import { addressToScript } from '../wallet/index.ts';
import { DEFAULT_CHANNEL_MESSAGES, channelsAct, type ChannelActOutcome } from './channels.ts';
import { DemoError } from './errors.ts';
import { recipientPays, senderPays, type MessageOutcome } from './messages.ts';
import { Narrator, sats, type LineSink, type TxFigure } from './narrator.ts';
import { RELAY_SPECS, multiaddrOf, networkFormed, peerCount, pollUntil, relayHoldings, startDemoRelay, type DemoRelay } from './relays.ts';
import { holdings, mineBlock, relayAt, type World } from './world.ts';

export const MESSAGE_1 = 'Hi Carol, the keys are under the blue pot. -- Alice';
export const MESSAGE_2 = 'PS: the cat eats at seven.';
/** What the faucet gives Alice and Carol each. */
export const FUNDING_SATS = 100_000;
/**
 * Passphrase hardening of the demo's throw-away identities and wallets: 2^14 instead of the
 * default 2^17, so the unlocks cost milliseconds on a busy machine. Real data dirs keep the default.
 */
export const DEMO_SCRYPT: ScryptParams = { log2N: 14, r: 8, p: 1 };
/** The demo's throw-away passphrases (tests reopen the data dirs with them). */
export const userPassphrase = (name: string): string => `${name} demo passphrase`;
/** How long the three relays may take to connect and form the mesh on a busy machine. */
const NETWORK_TIMEOUT_MS = 30_000;

export interface Accounting {
  alicePaid: number;
  carolPaid: number;
  /** By relay name: what its wallet gained (it started empty). */
  relayEarned: Record<string, number>;
  /** Every fee of the story's transactions (acts 1-3). */
  fees: number;
}

export interface DemoResult {
  chainUrl: string;
  carolAddress: string;
  relays: { name: string; url: string; price: number }[];
  messages: MessageOutcome[];
  txs: TxFigure[];
  /** Act 3: payment channels. */
  channels: ChannelActOutcome;
  accounting: Accounting;
}

export interface DemoOptions {
  out: LineSink;
  /** An empty directory for every data dir of the story (the caller removes it). */
  dir: string;
  /** Sender-pays messages over Alice's channel in act 3 (a tenth as many recipient-pays over Carol's); default 1,000. */
  channelMessages?: number;
}

export const SHUTDOWN_LINE = 'shut down: clients, relays, devnet server and chain closed';

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const count = opts.channelMessages ?? DEFAULT_CHANNEL_MESSAGES;
  if (!Number.isSafeInteger(count) || count < 1) throw new DemoError('BAD_OPTION', expected('channelMessages', 'an integer >= 1', count));
  const n = new Narrator(opts.out);
  const closers: (() => unknown)[] = [];
  let result: DemoResult;
  try {
    result = await story(opts.dir, count, n, closers);
  } catch (err) {
    await closeAll(n, closers);
    throw err;
  }
  // A failed close after a good story still fails the run: something was left open.
  const failures = await closeAll(n, closers);
  if (failures.length > 0) throw failures[0];
  return result;
}

/** Runs every closer in reverse order of opening (clients, relays, server, chain), even if one fails. */
async function closeAll(n: Narrator, closers: (() => unknown)[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (err) {
      failures.push(err);
    }
  }
  n.raw('');
  n.raw(failures.length === 0 ? SHUTDOWN_LINE : `shut down with ${failures.length} failed close(s)`);
  return failures;
}

async function story(dir: string, count: number, n: Narrator, closers: (() => unknown)[]): Promise<DemoResult> {
  n.step('The chain: an embedded Bitcoin devnet (regtest rules), served as an Esplora API');
  const devnet = Devnet.open({ path: join(dir, 'chain', 'devnet.sqlite') });
  closers.push(() => devnet.close());
  const server = await startDevnetServer({ devnet });
  closers.push(() => server.close());
  n.say(`devnet listening on ${server.url} (tip height ${devnet.tip().height}); every wallet and relay below talks to it over HTTP`);

  const relays = await startNetwork(dir, server.url, n, closers);
  const w = await startUsers(dir, server.url, devnet, relays, n, closers);
  const before = { alice: await holdings(w.alice), carol: await holdings(w.carol) };
  n.say(`balances: Alice ${sats(before.alice)}, Carol ${sats(before.carol)}; the relays' wallets are empty`);
  if (before.alice !== FUNDING_SATS || before.carol !== FUNDING_SATS) throw new DemoError('ACCOUNTING_MISMATCH', 'the wallets do not hold what the faucet paid');

  const carolAddress = await keyExchange(w);
  n.step('Message 1, sender-pays: Alice pays the relay on delivery');
  const m1 = await senderPays(w, MESSAGE_1);
  n.step('Message 2, recipient-pays: Carol pays the relay to read it');
  const m2 = await recipientPays(w, MESSAGE_2);
  n.step(`Payment channels: ${count.toLocaleString('en-US')} + ${Math.ceil(count / 10).toLocaleString('en-US')} messages, two fundings and two closes on chain`);
  const act3 = await channelsAct(w, relayAt(w, relays.find((r) => r.name === m1.storedAt)!.url), count, [m1, m2]);

  n.step('Summary');
  for (const t of n.txs) n.say(`${t.label.padEnd(36)} ${t.txid}  ${String(t.vsize).padStart(4)} vB  fee ${sats(t.fee)}`);
  const accounting = await account(w, server.url, before, [m1, m2], act3);
  const { alice: a3, carol: c3 } = act3;
  n.say(`Alice paid ${sats(accounting.alicePaid)} = price ${sats(m1.price)} + funding fee ${sats(m1.funding.fee)} (message 1)`);
  n.say(`  + ${sats(a3.paid)} for ${a3.messages.toLocaleString('en-US')} messages over her channel (prices ${sats(a3.relayBalance)} + funding, close and sweep fees ${sats(a3.paid - a3.relayBalance)})`);
  n.say(`Carol paid ${sats(accounting.carolPaid)} = price ${sats(m2.price)} + funding fee ${sats(m2.funding.fee)} (message 2)`);
  n.say(`  + ${sats(c3.paid)} for ${c3.messages.toLocaleString('en-US')} messages over her channel (prices ${sats(c3.relayBalance)} + funding, close and sweep fees ${sats(c3.paid - c3.relayBalance)})`);
  for (const r of relays) {
    const mine = [m1, m2].filter((m) => m.storedAt === r.name);
    const channels = act3.relay === r.name ? ` + channel balances ${sats(a3.relayBalance + c3.relayBalance)} - sweep fees ${sats(a3.relaySweep.fee + c3.relaySweep.fee)}` : '';
    const why = mine.length === 0 ? 'quoted, never the cheapest' : `prices ${sats(sum(mine.map((m) => m.price)))} - claim fees ${sats(sum(mine.map((m) => m.claim.fee)))}${channels}`;
    n.say(`${r.name}'s relay earned ${sats(accounting.relayEarned[r.name]!)} (${why})`);
  }
  n.say(`miners got ${sats(accounting.fees)} in fees; paid = earned + fees, to the sat: nothing was created or lost`);
  n.say(`message 1 (sender-pays):    "${m1.text}"`);
  n.say(`message 2 (recipient-pays): "${m2.text}"`);
  n.say(`act 3: ${vb(act3.vbPerMessage)} vB on chain per message over channels, ${vb(act3.onChainVbPerMessage)} vB per message as contracts`);
  return {
    chainUrl: server.url, carolAddress, relays: relays.map((r) => ({ name: r.name, url: r.url, price: r.config.priceBaseSats })),
    messages: [m1, m2], txs: [...n.txs], channels: act3, accounting,
  };
}

/** Relay 1 alone, then 2 and 3 bootstrapping from its multiaddr; waits until the mesh is whole. */
async function startNetwork(root: string, chainUrl: string, n: Narrator, closers: (() => unknown)[]): Promise<DemoRelay[]> {
  n.step('The relay network: three relay daemons, each with its own wallet, store and libp2p node');
  const relays: DemoRelay[] = [];
  for (const spec of RELAY_SPECS) {
    const bootstrap = relays.length === 0 ? [] : [multiaddrOf(relays[0]!)];
    const r = await startDemoRelay(spec, { root, chainUrl, bootstrap, scrypt: DEMO_SCRYPT });
    closers.push(() => r.handle.stop());
    relays.push(r);
    const price = `price ${sats(spec.priceBaseSats)} + ${r.config.pricePerBlockSats}/16 KiB + ${r.config.pricePerDaySats}/day`;
    n.say(`${r.name}'s relay listening on ${r.url}, libp2p ${multiaddrOf(r)}`);
    n.say(`  ${price}; ${bootstrap.length === 0 ? 'it starts the network' : `bootstraps from ${relays[0]!.name}'s multiaddr`}; peers now: ${peerCount(r)}`);
  }
  const ms = await pollUntil(() => networkFormed(relays), NETWORK_TIMEOUT_MS, 'the relay mesh (all connected, topology exchanged, offer mesh spanning)');
  n.say(`the relays found each other in ${(ms / 1000).toFixed(1)} s: ${relays.map((r) => `${r.name} ${peerCount(r)} peers`).join(', ')};`);
  n.say('  topology announcements exchanged and the gossipsub offer mesh spans all three');
  return relays;
}

/** Alice and Carol through the SDK, each in her own data directory, funded by the faucet. */
async function startUsers(root: string, chainUrl: string, devnet: Devnet, relays: DemoRelay[], n: Narrator, closers: (() => unknown)[]): Promise<World> {
  n.step('Alice and Carol: the Client SDK, each with her own data directory, identity and wallet');
  const make = async (name: string, relay: DemoRelay) => {
    const { client } = await Client.init({
      dir: join(root, name.toLowerCase()), passphrase: userPassphrase(name), network: 'regtest', chainUrl, relays: [relay.url], scrypt: DEMO_SCRYPT,
    });
    closers.push(() => client.close());
    n.say(`${name}: data dir ${client.dataDir}, her relay ${relay.name}'s (${relay.url})`);
    return client;
  };
  const alice = await make('Alice', relays[0]!);
  const carol = await make('Carol', relays[1]!);
  n.say(`(throw-away identities: the passphrase key derivation is scrypt 2^${DEMO_SCRYPT.log2N}, not the default 2^17)`);
  const w: World = { n, devnet, relays, alice, carol };
  for (const [name, c] of [['Alice', alice], ['Carol', carol]] as const) {
    const addr = c.walletAddress();
    n.say(`the faucet pays ${name} ${sats(FUNDING_SATS)} at ${addr}: txid ${devnet.faucet(addressToScript(addr, NETWORKS.regtest), FUNDING_SATS)}`);
  }
  mineBlock(w, 'both faucet payments');
  return w;
}

/** Carol publishes her prekey bundle at her relay and shares her address; Alice adds her. */
async function keyExchange(w: World): Promise<string> {
  const { n, alice, carol } = w;
  n.step('Key exchange: Carol publishes her Signal prekeys and her shareable address');
  const published = await carol.publish();
  for (const p of published.relays) {
    if (p.error) throw new DemoError('STORY_MISMATCH', `Carol's prekeys were refused by ${p.url}: ${p.error.message}`);
    n.say(`Carol publishes her prekey bundle at ${relayAt(w, p.url).name}'s relay: signed prekey, ${p.oneTimePreKeys} one-time prekeys, ${p.kyberPreKeys} Kyber prekeys`);
  }
  const address = carol.address();
  const hints = decodeAddress(address, { expectNetwork: 'regtest' }).relayHints;
  n.say(`Carol's address: ${address}`);
  n.say(`  (bech32m: her identity key and her relay ${hints.map((h) => relayAt(w, h).name).join(', ')}; fingerprint ${carol.fingerprint().slice(0, 23)}…)`);
  await alice.addContact('carol', address);
  await carol.addContact('alice', alice.address());
  n.say("Alice adds her as contact \"carol\" (checksum; her introduction tag of the day = H(H(identity key, day)), the one tag tied to her address); Carol adds Alice from Alice's address");
  n.say("On the first message Alice's SDK fetches Carol's bundle from that relay and checks Carol's signatures on it (PQXDH session)");
  return address;
}

/**
 * The exact sats from wallet balances: each payer's loss is its contract plus its funding
 * fee; each relay's gain, the contracts it claimed less its claim fees; and losses = gains + fees.
 * The relays are stopped first and their wallets read back from disk.
 */
async function account(w: World, chainUrl: string, before: { alice: number; carol: number }, [m1, m2]: [MessageOutcome, MessageOutcome], act3: ChannelActOutcome): Promise<Accounting> {
  // The faucet's top-ups for act 3 are income, not payments.
  const alicePaid = before.alice + act3.topUps.alice - (await holdings(w.alice));
  const carolPaid = before.carol + act3.topUps.carol - (await holdings(w.carol));
  const checks: [string, number, number][] = [
    ['Alice paid', alicePaid, m1.price + m1.funding.fee + act3.alice.paid],
    ['Carol paid', carolPaid, m2.price + m2.funding.fee + act3.carol.paid],
  ];
  const channelEarnings = (name: string) =>
    name === act3.relay ? act3.alice.relayBalance - act3.alice.relaySweep.fee + act3.carol.relayBalance - act3.carol.relaySweep.fee : 0;
  for (const r of w.relays) await r.handle.stop();
  w.n.say('the relays stop; each relay wallet is reopened from its data dir and synced with the chain');
  const relayEarned: Record<string, number> = {};
  for (const r of w.relays) {
    relayEarned[r.name] = await relayHoldings(r, chainUrl);
    const claimed = [m1, m2].filter((m) => m.storedAt === r.name);
    checks.push([`${r.name}'s relay earned`, relayEarned[r.name]!, sum(claimed.map((m) => m.price - m.claim.fee)) + channelEarnings(r.name)]);
  }
  for (const [what, got, want] of checks) {
    if (got !== want) throw new DemoError('ACCOUNTING_MISMATCH', `${what}: the wallet says ${got} sats, the transactions say ${want}`);
  }
  for (const [name, c, side] of [['Alice', w.alice, act3.alice], ['Carol', w.carol, act3.carol]] as const) {
    // The payer's channel book never releases the wallet's lock on a channel funding (src/watch/channel-payer.ts),
    // so a closed and swept channel still shows its capacity there: that much, and nothing else, is tolerated.
    const locked = (await c.balance()).lockedInContracts;
    if (locked !== 0 && locked !== side.capacity) throw new DemoError('ACCOUNTING_MISMATCH', `${name} still counts ${locked} sats in contracts`);
  }
  const fees = sum(w.n.txs.map((t) => t.fee));
  const earned = sum(Object.values(relayEarned));
  if (alicePaid + carolPaid !== earned + fees) {
    throw new DemoError('ACCOUNTING_MISMATCH', `paid ${alicePaid + carolPaid} sats, earned ${earned} + fees ${fees}: they do not add up`);
  }
  return { alicePaid, carolPaid, relayEarned, fees };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const vb = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
