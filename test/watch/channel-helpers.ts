// Channel parties on the devnet: each party's wallet, contract book and channel book in one
// SQLite file (test/watch/helpers.ts Env), messages passed as canonical bytes, as a wire would.
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { p2wpkh } from '@scure/btc-signer';
import { decodeChannelMessage, type ChannelMessage, type NewHtlc } from '../../src/channels/index.ts';
import { encodeChannelMessage } from '../../src/channels/index.ts';
import { ChannelBook, type ChannelRecord } from '../../src/watch/channel-book.ts';
import { PayerChannels } from '../../src/watch/channel-payer.ts';
import { RelayChannels } from '../../src/watch/channel-relay.ts';
import { ChannelWatcher } from '../../src/watch/channel-watcher.ts';
import type { ChannelStatusChange } from '../../src/watch/channel-party.ts';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { Env, FEE_RATE, type Party } from './helpers.ts';

export const MARGIN = 3;

export interface ChParty {
  base: Party;
  book: ChannelBook;
  payer: PayerChannels;
  relay: RelayChannels;
  watcher: ChannelWatcher;
  statuses: ChannelStatusChange[];
  learned: number[];
}

/** Opens (or reopens after a crash) party `name` with its channel book and both channel roles. */
export function chParty(env: Env, name: string): ChParty {
  const base = env.party(name);
  const book = new ChannelBook(base.db);
  const common = { book, wallet: base.wallet, backend: env.backend, feeRate: FEE_RATE };
  const payer = new PayerChannels(common);
  const relay = new RelayChannels({ ...common, minConfirmations: 1 });
  const watcher = new ChannelWatcher({ backend: env.backend, payer, relay });
  const statuses: ChannelStatusChange[] = [];
  const learned: number[] = [];
  watcher.on('status', (s) => statuses.push(s));
  watcher.on('key-learned', (k) => learned.push(k.htlcId));
  watcher.on('problem', (x) => env.problemLog.push(`${name} channels: ${String(x.error)}`));
  // Env.done stops the contract watcher; the channel watcher holds only a tip subscription.
  const stop = base.watcher.stop.bind(base.watcher);
  base.watcher.stop = async () => { await watcher.stop(); await stop(); };
  return { base, book, payer, relay, watcher, statuses, learned };
}

/** Fresh parties Alice (her wallet funded with `sats`) and Bob; `tip`: the height once she is funded. */
export async function fundedPair(env: Env, sats: number): Promise<{ alice: ChParty; bob: ChParty; tip: number }> {
  const alice = chParty(env, 'alice');
  const bob = chParty(env, 'bob');
  await env.fundWallet(alice.base, sats);
  return { alice, bob, tip: env.devnet.tip().height };
}

/** Through the wire: canonical bytes out, decoded back in. */
export function wire<T>(type: ChannelMessage['type'], message: T): T {
  const bytes = encodeChannelMessage({ type, message } as ChannelMessage);
  const back = decodeChannelMessage(bytes);
  assert.equal(back.type, type);
  return back.message as T;
}

export interface Opened { id: string; relayKeyIndex: number }

/** Alice opens a channel to Bob; Bob accepts; one block confirms it for both. */
export async function openChannel(env: Env, alice: ChParty, bob: ChParty, capacity: number, tCh: number): Promise<Opened> {
  const relayKeyIndex = bob.base.wallet.nextContractKeyIndex();
  const relayPubkey = bob.base.wallet.contractKey(relayKeyIndex).pubkey33;
  const { channel, message } = await alice.payer.open({ relayPubkey, capacity, channelLocktime: tCh, claimMargin: MARGIN, feeRate: FEE_RATE });
  assert.equal(channel.status, 'opening');
  const accepted = await bob.relay.accept(wire('open', message), channel.fundingRaw!, relayKeyIndex);
  assert.equal(accepted.status, 'opening');
  env.devnet.mine(1);
  await alice.watcher.poll();
  await bob.watcher.poll();
  assert.equal(alice.book.get(channel.id).status, 'open');
  assert.equal(bob.book.get(channel.id).status, 'open');
  return { id: channel.id, relayKeyIndex };
}

export interface Htlc { terms: NewHtlc; k: Uint8Array; r?: Uint8Array }

/** Deterministic preimages per (tag, i): cheap and distinct. */
export function htlc(tag: string, i: number, mode: NewHtlc['mode'], locktime: number, amount: number): Htlc {
  const k = sha256(new TextEncoder().encode(`${tag} k ${i}`));
  const r = sha256(new TextEncoder().encode(`${tag} r ${i}`));
  const terms: NewHtlc = { mode, hk: sha256(k), amount, locktime, ...(mode === 'sender-pays' ? { hr: sha256(r) } : {}) };
  return mode === 'sender-pays' ? { terms, k, r } : { terms, k };
}

export async function addBoth(alice: ChParty, bob: ChParty, id: string, x: Htlc): Promise<number> {
  const m = await alice.payer.add(id, x.terms);
  await bob.relay.onAdd(wire('add', m));
  return m.htlc.id;
}

export async function settleBoth(alice: ChParty, bob: ChParty, id: string, htlcId: number, x: Htlc): Promise<void> {
  const s = await bob.relay.settle(id, htlcId, x.k, x.r);
  const ack = await alice.payer.onSettle(wire('settle', s));
  await bob.relay.onSettleAck(wire('settle-ack', ack));
}

export async function closeBoth(alice: ChParty, bob: ChParty, id: string): Promise<ChannelRecord> {
  const req = await bob.relay.requestClose(id);
  const signed = await alice.payer.onCloseRequest(wire('close-request', req));
  return bob.relay.completeClose(wire('close-signed', signed));
}

/** Sats transaction `txid` pays to P2WPKH(pubkey) (channel outputs pay the channel keys). */
export function paidTo(env: Env, txid: string, pubkey: Uint8Array): number {
  const tx = env.devnet.getTx(txid);
  assert.ok(tx, `tx ${txid} known`);
  const spk = p2wpkh(pubkey).script;
  return parseTx(tx.raw).outputs.filter((o) => Buffer.from(o.script).equals(spk)).reduce((a, o) => a + o.value, 0);
}

/** Mines one block at a time up to `height`, polling the given parties after each. */
export async function mineTo(env: Env, height: number, ...ps: ChParty[]): Promise<void> {
  while (env.devnet.tip().height < height) {
    env.devnet.mine(1);
    for (const p of ps) await p.watcher.poll();
  }
}

export function txFee(env: Env, txid: string): number {
  const info = env.devnet.getTx(txid);
  assert.ok(info, `tx ${txid} known`);
  return info.fee!;
}
