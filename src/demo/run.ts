/**
 * The whole story on the embedded chain, in one process: a devnet served over Esplora HTTP,
 * Alice and Carol with their own data directories, Bob the relay, two messages, one paid by
 * each mode, and the exact sats accounting. `runDemo` leaves nothing running: every server,
 * database and wallet it opened is closed before it returns or throws. The caller owns `dir`.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { Devnet } from '../chain/devnet/devnet.ts';
import { startDevnetServer, type DevnetServer } from '../chain/devnet/server.ts';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import { bytesEqual } from '../core/hash.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { decodeAddress, encodeAddress } from '../identity/address.ts';
import { verifyBundle } from '../identity/bundle.ts';
import { fingerprintOf } from '../identity/keys.ts';
import type { Wallet } from '../wallet/index.ts';
import { DEVNET_RELAY_POLICY, DemoRelay } from './bob.ts';
import { DemoError } from './errors.ts';
import { recipientPays, senderPays, type MessageOutcome } from './messages.ts';
import { Narrator, sats, type LineSink, type TxFigure } from './narrator.ts';
import { createPerson, createWallet, type Person } from './people.ts';
import { holdings, mineAndSync, type World } from './world.ts';

export const MESSAGE_1 = 'Hi Carol, the keys are under the blue pot. -- Alice';
export const MESSAGE_2 = 'PS: the cat eats at seven.';
/** What the faucet gives Alice and Carol each. */
export const FUNDING_SATS = 100_000;
/**
 * Passphrase hardening of the demo's throw-away wallets and identities: 2^14 instead of the
 * default 2^17, so five unlocks cost milliseconds on a busy machine. Real data dirs keep the default.
 */
const DEMO_SCRYPT: ScryptParams = { log2N: 14, r: 8, p: 1 };
/** Bob is in-process; this names him in quotes and address hints until the relay daemon serves him. */
const BOB_URL = 'http://bob.relay.invalid/';

export interface Accounting {
  alicePaid: number;
  carolPaid: number;
  bobEarned: number;
  /** Every fee of the four transactions. */
  fees: number;
}

export interface DemoResult {
  chainUrl: string;
  carolAddress: string;
  messages: MessageOutcome[];
  txs: TxFigure[];
  accounting: Accounting;
}

export interface DemoOptions {
  out: LineSink;
  /** An empty directory for every data dir of the story (the caller removes it). */
  dir: string;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const n = new Narrator(opts.out);
  const closers: (() => unknown)[] = [];
  let result: DemoResult;
  try {
    result = await story(opts, n, closers);
  } catch (err) {
    await closeAll(n, closers);
    throw err;
  }
  // A failed close after a good story still fails the run: something was left open.
  const failures = await closeAll(n, closers);
  if (failures.length > 0) throw failures[0];
  return result;
}

/** Runs every closer in reverse order (wallets and databases, then the server, then its chain), even if one fails. */
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
  n.raw(failures.length === 0 ? 'shut down: devnet server closed, every wallet and database closed' : `shut down with ${failures.length} failed close(s)`);
  return failures;
}

async function story(opts: DemoOptions, n: Narrator, closers: (() => unknown)[]): Promise<DemoResult> {
  n.step('The chain: an embedded Bitcoin devnet (regtest rules), served as an Esplora API');
  const devnet = Devnet.open({ path: join(opts.dir, 'chain', 'devnet.sqlite') });
  closers.push(() => devnet.close());
  const server: DevnetServer = await startDevnetServer({ devnet });
  closers.push(() => server.close());
  n.say(`devnet listening on ${server.url} (tip height ${devnet.tip().height}); every wallet below talks to it over HTTP`);
  const chain = () => new EsploraBackend({ baseUrl: server.url, network: 'regtest' });
  const chainOf = { alice: chain(), carol: chain(), bob: chain() };

  const now = () => Date.now();
  const alice = createPerson({ root: opts.dir, name: 'Alice', backend: chainOf.alice, scrypt: DEMO_SCRYPT, now: now() });
  closers.push(() => alice.close());
  const carol = createPerson({ root: opts.dir, name: 'Carol', backend: chainOf.carol, scrypt: DEMO_SCRYPT, now: now() });
  closers.push(() => carol.close());
  const bobWallet = createWallet({ dir: join(opts.dir, 'bob'), name: 'Bob', backend: chainOf.bob, scrypt: DEMO_SCRYPT });
  closers.push(() => bobWallet.close());
  const random = (len: number) => new Uint8Array(randomBytes(len));
  const ed = nodeEd25519();
  const bob = new DemoRelay({ wallet: bobWallet, backend: chainOf.bob, url: BOB_URL, nodeSecret: random(32), ed, aead: nodeAead, random, now });
  n.say(`Alice, Carol and Bob create BIP84 wallets, each in its own data directory under ${opts.dir}`);
  n.say(`Bob is a relay in this process (node id ${hex.encode(bob.relayId).slice(0, 16)}…); the networked relay daemon and the relay network come next`);
  const w: World = { n, devnet, chainOf, alice, carol, bob, bobWallet, ed, aead: nodeAead, random, now, margins: DEVNET_RELAY_POLICY };

  for (const p of [alice, carol]) {
    const addr = p.wallet.newReceiveAddress();
    n.say(`the faucet pays ${p.name} ${sats(FUNDING_SATS)} at ${addr.address}: txid ${devnet.faucet(addr.script, FUNDING_SATS)}`);
  }
  await mineAndSync(w, 'both faucet payments');
  const before = { alice: holdings(alice.wallet), carol: holdings(carol.wallet), bob: holdings(bobWallet) };
  n.say(`balances: Alice ${sats(before.alice)}, Carol ${sats(before.carol)}, Bob ${sats(before.bob)}`);
  if (before.alice !== FUNDING_SATS || before.carol !== FUNDING_SATS || before.bob !== 0) {
    throw new DemoError('ACCOUNTING_MISMATCH', 'the wallets do not hold what the faucet paid');
  }

  const carolAddress = keyExchange(w);

  n.step('Message 1, sender-pays: Alice pays Bob on delivery');
  const m1 = await senderPays(w, MESSAGE_1);
  n.step('Message 2, recipient-pays: Carol pays Bob to read it');
  const m2 = await recipientPays(w, MESSAGE_2);

  n.step('Summary');
  const accounting = account(w, before, [m1, m2]);
  for (const t of n.txs) n.say(`${t.label.padEnd(32)} ${t.txid}  ${String(t.vsize).padStart(4)} vB  fee ${sats(t.fee)}`);
  n.say(`Alice paid ${sats(accounting.alicePaid)} = contract ${sats(m1.amount)} + funding fee ${sats(m1.funding.fee)}`);
  n.say(`Carol paid ${sats(accounting.carolPaid)} = contract ${sats(m2.amount)} + funding fee ${sats(m2.funding.fee)}`);
  n.say(`Bob earned ${sats(accounting.bobEarned)} = contracts ${sats(m1.amount + m2.amount)} - claim fees ${sats(m1.claim.fee + m2.claim.fee)}`);
  n.say(`miners got ${sats(accounting.fees)} in fees; nothing was created or lost`);
  n.say(`message 1 (sender-pays):    "${m1.text}"`);
  n.say(`message 2 (recipient-pays): "${m2.text}"`);
  return { chainUrl: server.url, carolAddress, messages: [m1, m2], txs: [...n.txs], accounting };
}

/** Carol publishes her prekeys at Bob and shares her address; Alice decodes it and checks the bundle. */
function keyExchange(w: World): string {
  const { n, alice, carol, bob } = w;
  n.step('Key exchange: Carol publishes her Signal prekeys and her shareable address');
  bob.publishBundle(carol.prekeys.buildBundle(w.now()));
  const carolAddress = encodeAddress({ network: 'regtest', identityKey: carol.identity.publicKey, relayHints: [bob.url] });
  n.say(`Carol's address: ${carolAddress}`);
  n.say(`Carol's identity fingerprint: ${fingerprintOf(carol.identity.publicKey)}`);
  const decoded = decodeAddress(carolAddress, { expectNetwork: 'regtest' });
  const bundle = bob.fetchBundle(decoded.mailbox);
  verifyBundle(bundle, decoded.mailbox);
  if (!bytesEqual(bundle.identityKey, decoded.identityKey)) throw new DemoError('BAD_RELAY_ANSWER', "the fetched bundle is not Carol's");
  w.carolBundle = bundle;
  n.say(`Alice decodes the address (checksum, mailbox = H(identity key)) and fetches Carol's bundle from ${decoded.relayHints[0]}`);
  n.say(`Alice verifies the bundle: signed prekey, Kyber prekeys and ${bundle.oneTimePreKeys.length} one-time prekey signed by Carol's identity key`);
  n.say(`Carol knows Alice's identity too (fingerprint ${fingerprintOf(alice.identity.publicKey)})`);
  return carolAddress;
}

/** The exact sats: each payer's loss is its contract plus its funding fee; Bob's gain, the contracts less his claim fees. */
function account(w: World, before: { alice: number; carol: number; bob: number }, [m1, m2]: [MessageOutcome, MessageOutcome]): Accounting {
  const wallets: [string, Wallet, number, number][] = [
    ['Alice paid', w.alice.wallet, before.alice - holdings(w.alice.wallet), m1.amount + m1.funding.fee],
    ['Carol paid', w.carol.wallet, before.carol - holdings(w.carol.wallet), m2.amount + m2.funding.fee],
    ['Bob earned', w.bobWallet, holdings(w.bobWallet) - before.bob, m1.claim.amount + m2.claim.amount],
  ];
  for (const [what, , got, want] of wallets) {
    if (got !== want) throw new DemoError('ACCOUNTING_MISMATCH', `${what}: the wallet says ${got} sats, the transactions say ${want}`);
  }
  for (const p of [w.alice, w.carol] as Person[]) {
    if (p.wallet.balance().lockedInContracts !== 0) throw new DemoError('ACCOUNTING_MISMATCH', `${p.name} still counts sats in contracts`);
  }
  const fees = m1.funding.fee + m2.funding.fee + m1.claim.fee + m2.claim.fee;
  const [alicePaid, carolPaid, bobEarned] = wallets.map((x) => x[2]) as [number, number, number];
  if (alicePaid + carolPaid !== bobEarned + fees) throw new DemoError('ACCOUNTING_MISMATCH', 'sats paid and earned do not add up to the fees');
  return { alicePaid, carolPaid, bobEarned, fees };
}

