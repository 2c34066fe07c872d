// Payment channels through the Client SDK against a real relay (127.0.0.1:0, its own wallet and
// channel watcher) and a devnet reached over HTTP: Alice pays 20 sender-pays messages over her
// channel that Carol reads (k with no transaction on chain), Carol reads 5 recipient-pays
// messages over hers, both close cooperatively with every sat accounted for; a channel too small
// falls back to the chain; a crash between the channel add and the deposit is resumed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { cooperativeCloseTx } from '../../src/channels/index.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { ChannelBook } from '../../src/watch/channel-book.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';
import { unlockDataKey } from '../../src/store/data-key.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const SEND = { maxFee: 10_000, retentionDays: 0.1 } as const;

function rejectsWith(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

interface EsploraTx { fee: number; vout: { value: number; scriptpubkey: string }[] }

describe('payment channels through the Client SDK', { timeout: 240_000 }, () => {
  let chain: Chain;
  const relays: RelayHandle[] = [];
  const tmp = tempDir('satpost-sdkch-');
  const open: Client[] = [];
  const tx = async (txid: string) => (await (await fetch(`${chain.url}/tx/${txid}`)).json()) as EsploraTx;
  const spender = async (txid: string, vout: number) => (await (await fetch(`${chain.url}/tx/${txid}/outspend/${vout}`)).json()) as { spent: boolean; txid?: string };
  const holdings = async (c: Client) => {
    const b = await c.balance();
    return b.confirmed + b.unconfirmed + b.reserved;
  };

  const relayAt = async (name: string, extra: Partial<RelayConfig> = {}) => {
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, name), rateLimitBurst: 0, logLevel: 'silent', p2p: false,
      lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url, ...extra,
    });
    const backend = new DevnetBackend(chain.devnet);
    const r = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
    relays.push(r);
    return r;
  };
  const make = async (name: string, relay: RelayHandle, o: { failpoint?: (n: string) => void } = {}) => {
    const { client } = await Client.init({
      dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT,
      ...(o.failpoint ? { failpoint: o.failpoint } : {}),
    });
    open.push(client);
    return client;
  };
  /** One block, then both sides' watchers: the payer's 'open' at 1 confirmation, the relay's at its `confirmations`. */
  const confirm = async (relay: RelayHandle, ...clients: Client[]) => {
    chain.devnet.mine(1);
    for (const c of clients) await c.syncContracts();
    await relay.channels!.watcher.poll();
  };

  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    for (const c of open) await c.close();
    for (const r of relays) await r.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('20 sender-pays and 5 recipient-pays messages over channels, both closed cooperatively, exact to the sat', async () => {
    const relay = await relayAt('relay-1');
    const alice = await make('alice', relay);
    const carol = await make('carol', relay);
    await carol.publish();
    await alice.addContact('carol', carol.address());
    await carol.addContact('alice', alice.address());
    chain.fund(alice.walletAddress(), 1_000_000);
    chain.fund(carol.walletAddress(), 1_000_000);

    // Refusals before anything is funded: the relay's capacity terms, an unknown id.
    await assert.rejects(alice.openChannel(relay.url, { sats: 5_000 }), (e: unknown) => rejectsWith('CHANNEL_TERMS')(e) && (e as ClientError).details?.terms !== undefined);
    await assert.rejects(alice.closeChannel('abcd1234'), rejectsWith('UNKNOWN_CHANNEL'));

    const aliceBefore = await holdings(alice);
    const opened = await alice.openChannel(relay.url, { sats: 300_000, blocks: 200 });
    assert.equal(opened.status, 'opening');
    assert.equal(opened.relay, relay.url);
    assert.equal(opened.relayTold, true);
    assert.equal(opened.blocksLeft, 200);
    const fundingFee = (await tx(opened.fundingTxid)).fee;
    await confirm(relay, alice);
    assert.equal((await alice.channels())[0]!.status, 'open');
    const aliceTxs = (await alice.history()).length;

    let prices = 0;
    for (let i = 0; i < 20; i++) {
      const sent = await alice.send('carol', { text: `message ${i}` }, { mode: 'sender-pays', ...SEND });
      assert.equal(sent.via, 'channel', `message ${i} goes over the channel`);
      assert.equal(sent.channelId, opened.id);
      assert.equal(sent.state, 'paid');
      assert.equal(sent.fundingTxid, undefined);
      prices += sent.price;
    }
    const ch = (await alice.channels())[0]!;
    assert.equal(ch.inFlight, 20);
    assert.equal(ch.inFlightSats, prices);

    const { entries } = await carol.inbox();
    assert.equal(entries.length, 20);
    for (const e of entries) {
      const read = await carol.read(e.id);
      assert.match(read.message.kind === 'text' ? read.message.text : '', /^message [0-9]+$/);
      assert.equal(read.from, 'alice');
    }
    assert.equal((await alice.history()).length, aliceTxs, 'no transaction on chain for the 20 messages');

    // Carol's reads left 20 settles at the relay that Alice has not taken: a send still goes over the channel.
    const next = await alice.send('carol', { text: 'message 20' }, { mode: 'sender-pays', ...SEND });
    assert.equal(next.via, 'channel', 'pending settles do not send a message to the chain');
    prices += next.price;
    await carol.read(next.id);
    assert.equal((await alice.history()).length, aliceTxs, 'no transaction on chain for the 21 messages');

    const synced = await alice.syncChannels();
    assert.deepEqual(synced.map((s) => [s.id, s.settled, s.failed]), [[opened.id, 21, 0]]);
    assert.deepEqual(alice.outbox().map((m) => m.state), Array(21).fill('delivered'), 'every settle makes its message delivered');
    assert.equal((await alice.syncChannels())[0]!.settled, 0, 'nothing left to take');

    // Carol's channel, and 5 recipient-pays messages read over it.
    const carolBefore = await holdings(carol);
    const carolCh = await carol.openChannel(relay.url, { sats: 100_000, blocks: 200 });
    const carolFundingFee = (await tx(carolCh.fundingTxid)).fee;
    await confirm(relay, carol);
    const carolTxs = (await carol.history()).length;
    const rpIds: string[] = [];
    for (let i = 0; i < 5; i++) rpIds.push((await alice.send('carol', { text: `to pay ${i}` }, { mode: 'recipient-pays', ...SEND })).id);
    await carol.inbox();
    let carolPaid = 0;
    for (const id of rpIds) {
      const read = await carol.read(id);
      assert.equal(read.channelId, carolCh.id, 'read over the channel');
      assert.match(read.message.kind === 'text' ? read.message.text : '', /^to pay [0-9]$/);
      carolPaid += read.price;
    }
    assert.equal((await carol.history()).length, carolTxs, 'no transaction on chain for the 5 reads');
    const cs = (await carol.channels())[0]!;
    assert.equal(cs.relayBalance, carolPaid);
    assert.equal(cs.inFlight, 0);

    // Cooperative closes; the relay's balances are exactly the prices.
    const aliceClosed = await alice.closeChannel(opened.id.slice(0, 12));
    const carolClosed = await carol.closeChannel(carolCh.id);
    assert.equal(aliceClosed.status, 'closing-cooperative');
    assert.equal(carolClosed.status, 'closing-cooperative');
    assert.equal((await alice.closeChannel(opened.id)).closeTxid, aliceClosed.closeTxid, 'a second close resends the same signed close');
    await confirm(relay, alice, carol);
    assert.equal(relay.channels!.view(opened.id).relayBalance, prices);
    assert.equal(relay.channels!.view(carolCh.id).relayBalance, carolPaid);
    assert.equal(relay.channels!.view(opened.id).status, 'closed-cooperative');
    // The watchers swept each payer's close output to its wallet; one more block confirms the sweeps.
    chain.devnet.mine(1);
    for (const [who, c, before, capacity, paid, fee] of [
      ['alice', alice, aliceBefore, 300_000, prices, fundingFee],
      ['carol', carol, carolBefore, 100_000, carolPaid, carolFundingFee],
    ] as const) {
      const s = (await c.channels())[0]!;
      assert.equal(s.status, 'closed-cooperative', who);
      const close = await tx(s.closeTxid!);
      const db = openPartyDb(join(tmp.dir, who, 'wallet.sqlite'), unlockDataKey(join(tmp.dir, who), `pw-${who}`));
      const rec = new ChannelBook(db).get(s.id);
      db.close();
      const expectedFee = cooperativeCloseTx(rec.state, paid).layout.fee;
      assert.equal(close.fee, expectedFee, `${who}: the close pays the fee its state implies`);
      const payerOut = capacity - paid - expectedFee;
      const outs = close.vout.map((o) => o.value).sort((a, b) => a - b);
      assert.deepEqual(outs, [paid, payerOut].sort((a, b) => a - b), `${who}: relay gets the prices, the payer capacity - prices - close fee`);
      const vout = close.vout.findIndex((o) => o.value === payerOut);
      const sweep = await spender(s.closeTxid!, vout);
      assert.ok(sweep.spent && sweep.txid === rec.sweepTxid, `${who}: the payer's output is swept`);
      const sweepFee = (await tx(sweep.txid!)).fee;
      assert.equal(await holdings(c), before - fee - paid - expectedFee - sweepFee, `${who}: wallet = before - funding fee - prices - close fee - sweep fee`);
      assert.equal((await c.balance()).lockedInContracts, 0, `${who}: the closed channel is no longer counted as locked in contracts`);
    }
  });

  it('falls back to the chain when the channel cannot pay, and with channel: false', async () => {
    const relay = await relayAt('relay-2', { priceBaseSats: 6_000 });
    const alice = await make('alice-2', relay);
    const carol = await make('carol-2', relay);
    await carol.publish();
    await alice.addContact('carol', carol.address());
    chain.fund(alice.walletAddress(), 200_000);
    const ch = await alice.openChannel(relay.url, { sats: 10_000, blocks: 200 });
    // While opening, the channel carries nothing: the message goes on chain.
    const early = await alice.send('carol', { text: 'too early' }, { mode: 'sender-pays', ...SEND });
    assert.equal(early.via, 'chain');
    await confirm(relay, alice);
    const first = await alice.send('carol', { text: 'over the channel' }, { mode: 'sender-pays', ...SEND });
    assert.equal(first.via, 'channel');
    const second = await alice.send('carol', { text: 'the channel is too small now' }, { mode: 'sender-pays', ...SEND });
    assert.equal(second.via, 'chain');
    assert.equal(second.state, 'funded');
    assert.match(second.fundingTxid!, /^[0-9a-f]{64}$/);
    assert.equal((await alice.channels())[0]!.inFlight, 1, 'the refused payment left the channel as it was');
    const forced = await alice.send('carol', { text: 'x' }, { mode: 'sender-pays', ...SEND, maxFee: 6_100, channel: false });
    assert.equal(forced.via, 'chain');
    assert.equal(ch.capacity, 10_000);
  });

  it('a crash between the channel add and the deposit: resume() resends and deposits', async () => {
    const relay = await relayAt('relay-3');
    let crash = true;
    const erin = await make('erin', relay, {
      failpoint: (n) => {
        if (crash && n === 'after-channel-add') throw new Error('simulated crash');
      },
    });
    const carol = await make('carol-3', relay);
    await carol.publish();
    await erin.addContact('carol', carol.address());
    await carol.addContact('erin', erin.address());
    chain.fund(erin.walletAddress(), 100_000);
    const ch = await erin.openChannel(relay.url, { sats: 50_000, blocks: 200 });
    await confirm(relay, erin);
    await assert.rejects(erin.send('carol', { text: 'after a crash' }, { mode: 'sender-pays', ...SEND }), /simulated crash/);
    assert.equal(erin.outbox()[0]!.state, 'sealed');
    assert.equal(relay.channels!.view(ch.id).inFlight, 1, 'the relay holds the add');
    await erin.close();
    crash = false;
    const again = await Client.open({ dir: join(tmp.dir, 'erin'), passphrase: 'pw-erin' });
    open.push(again);
    const { sends } = await again.resume();
    assert.deepEqual(sends.map((s) => s.error), [undefined]);
    const m = again.outbox()[0]!;
    assert.equal(m.state, 'paid');
    assert.equal(m.via, 'channel');
    assert.equal(relay.channels!.view(ch.id).inFlight, 1, 'resume added nothing twice');
    await carol.inbox();
    const read = await carol.read(m.id);
    assert.equal(read.message.kind === 'text' ? read.message.text : '', 'after a crash');
    const { channels } = await again.resume();
    assert.deepEqual(channels.map((c) => c.settled), [1]);
    assert.equal(again.outbox()[0]!.state, 'delivered');
  });
});
