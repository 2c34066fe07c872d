// A relay refusing a channel add by its own policy (channelMaxInFlight 1) against a real relay and
// devnet: the add is undone in Alice's persisted book (nothing signed left in flight, the state
// back at the relay's), the message goes on chain with a fresh H(r) (never the refused add's),
// a new Client process over the same data directory resends nothing, the relay is paid once
// for each message (channel balance: the channel message only; the chain: one funding), and
// the channel carries the next message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { ChannelBook } from '../../src/watch/channel-book.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';
import { unlockDataKey } from '../../src/store/data-key.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const SEND = { mode: 'sender-pays', maxFee: 10_000, retentionDays: 0.1 } as const;

describe('a channel add the relay refuses', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-refusal-');
  const open: Client[] = [];

  /** A client's channel book as persisted (a second connection to its wallet file). */
  const bookOf = <T>(name: string, fn: (b: ChannelBook) => T): T => {
    const db = openPartyDb(join(tmp.dir, name, 'wallet.sqlite'), unlockDataKey(join(tmp.dir, name), `pw-${name}`));
    try {
      return fn(new ChannelBook(db));
    } finally {
      db.close();
    }
  };
  /** Alice's transactions that are or may be on chain (an abandoned draft, the affordability check's, is not). */
  const onChain = async (c: Client) => (await c.history()).filter((h) => h.state !== 'abandoned').length;
  const make = async (name: string) => {
    const { client } = await Client.init({
      dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT,
    });
    open.push(client);
    return client;
  };

  before(async () => {
    chain = await startChain();
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false,
      lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url, channelMaxInFlight: 1,
    });
    const backend = new DevnetBackend(chain.devnet);
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('is undone in the payer book, never resent, paid once on chain with a fresh H(r); the channel carries the next message', async () => {
    let alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    chain.fund(alice.walletAddress(), 200_000);
    const ch = await alice.openChannel(relay.url, { sats: 50_000, blocks: 200 });
    chain.devnet.mine(1);
    await alice.syncContracts();
    await relay.channels!.watcher.poll();

    const first = await alice.send('carol', { text: 'over the channel' }, SEND);
    assert.equal(first.via, 'channel');
    const txsBefore = await onChain(alice);

    // The relay holds one HTLC in flight already: its policy refuses the second add.
    const second = await alice.send('carol', { text: 'refused by the channel, paid on chain' }, SEND);
    assert.equal(second.via, 'chain');
    assert.equal(second.state, 'funded');
    const relayView = relay.channels!.view(ch.id);
    assert.equal(relayView.inFlight, 1);
    const secondHk = relay.store.message(hex.decode(second.id))!.hk;
    const depositedHr = relay.store.message(hex.decode(second.id))!.hr!;
    bookOf('alice', (b) => {
      const c = b.get(ch.id);
      assert.equal(c.n, relayView.n, "the payer's state is the relay's again");
      assert.deepEqual(b.htlcs(ch.id).map((h) => h.status), ['in-flight'], 'nothing of the refused add is left signed in flight');
      assert.ok(!b.htlcs(ch.id).some((h) => hex.encode(h.hk) === hex.encode(secondHk)));
      assert.equal(b.messages(ch.id, { direction: 'out', type: 'add' }).length, 1, 'the refused AddHtlc is not in the log of sent updates');
      const refused = b.refusedAdds(ch.id);
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.code, 'TOO_MANY_IN_FLIGHT');
      assert.equal(hex.encode(refused[0]!.hk), hex.encode(secondHk));
      // The chain contract pays another H(r) than the one the relay saw signed in the channel.
      assert.notEqual(hex.encode(refused[0]!.hr!), hex.encode(depositedHr), 'the chain fallback uses a fresh H(r)');
      assert.ok(b.history(ch.id).some((e) => e.event === 'add-refused'));
    });
    assert.equal(await onChain(alice), txsBefore + 1, 'one funding on chain for the refused message');
    // At its limit the relay still answers a resend of the add it took (a payer repairing a lost answer).
    const firstAdd = bookOf('alice', (b) => b.messages(ch.id, { direction: 'out', type: 'add' })[0]!.bytes);
    assert.equal((await relay.channels!.update(firstAdd, relay.store)).channel.n, relayView.n);

    // A new process over the same data directory resends nothing.
    await alice.close();
    alice = await Client.open({ dir: join(tmp.dir, 'alice'), passphrase: 'pw-alice' });
    open.push(alice);
    const resumed = await alice.resume();
    assert.deepEqual(resumed.channels.map((c) => c.error), [undefined]);
    assert.equal(relay.channels!.view(ch.id).n, relayView.n, 'the relay got no update');
    assert.equal(bookOf('alice', (b) => b.get(ch.id).n), relayView.n);

    // Carol reads both: the first over the channel, the second with the fresh r on chain.
    chain.devnet.mine(1);
    await carol.inbox();
    assert.equal((await carol.read(first.id)).message.kind === 'text' ? 'ok' : '', 'ok');
    const read2 = await carol.read(second.id);
    assert.deepEqual(read2.message, { kind: 'text', text: 'refused by the channel, paid on chain' });
    const synced = await alice.syncChannels();
    assert.deepEqual(synced.map((s) => [s.settled, s.failed]), [[1, 0]]);
    assert.equal(relay.channels!.view(ch.id).relayBalance, first.price, 'the channel paid the first message only');

    // The channel carries the next message.
    const third = await alice.send('carol', { text: 'the channel again' }, SEND);
    assert.equal(third.via, 'channel');
    assert.equal(relay.channels!.view(ch.id).inFlight, 1);
    assert.equal(bookOf('alice', (b) => b.get(ch.id).n), relay.channels!.view(ch.id).n);
    await carol.inbox();
    assert.deepEqual((await carol.read(third.id)).message, { kind: 'text', text: 'the channel again' });
    await alice.syncChannels();
    assert.equal(relay.channels!.view(ch.id).relayBalance, first.price + third.price);
    assert.equal(await onChain(alice), txsBefore + 1, 'no other transaction on chain');
  });

  it('recipient-pays: a read whose add the relay refuses is undone and not paid on chain by itself; read again over the channel', async () => {
    const alice = await make('alice-rp');
    const carol = await make('carol-rp');
    await carol.publish();
    await alice.publish();
    await alice.addContact('carol', carol.address());
    await carol.addContact('alice', alice.address());
    chain.fund(carol.walletAddress(), 200_000);
    const ch = await carol.openChannel(relay.url, { sats: 50_000, blocks: 200 });
    chain.devnet.mine(1);
    await carol.syncContracts();
    await relay.channels!.watcher.poll();
    // Carol's own sender-pays message to Alice takes the channel's one slot until Alice reads it.
    const hers = await carol.send('alice', { text: 'from carol' }, SEND);
    assert.equal(hers.via, 'channel');
    const toPay = await alice.send('carol', { text: 'pay to read' }, { ...SEND, mode: 'recipient-pays' });
    const txsBefore = await onChain(carol);
    await carol.inbox();
    // waitMs only bounds how long a read that (wrongly) paid on chain would wait for its confirmation.
    await assert.rejects(carol.read(toPay.id, { waitMs: 10_000 }), (e: unknown) => ClientError.is(e, 'TOO_MANY_IN_FLIGHT'));
    assert.equal(await onChain(carol), txsBefore, 'nothing paid on chain');
    const view = relay.channels!.view(ch.id);
    bookOf('carol-rp', (b) => {
      assert.equal(b.get(ch.id).n, view.n, "the payer's state is the relay's again");
      assert.equal(b.htlcs(ch.id).length, 1, 'only her own message is signed in flight');
      assert.deepEqual(b.refusedAdds(ch.id).map((r) => r.code), ['TOO_MANY_IN_FLIGHT']);
    });

    // Alice reads Carol's message, Carol takes the settle: the slot is free and the read goes over the channel.
    await alice.inbox();
    await alice.read(hers.id);
    assert.deepEqual((await carol.syncChannels()).map((s) => s.settled), [1]);
    const read = await carol.read(toPay.id);
    assert.deepEqual(read.message, { kind: 'text', text: 'pay to read' });
    assert.equal(read.channelId, ch.id);
    assert.equal(relay.channels!.view(ch.id).relayBalance, hers.price + read.price, 'the relay is paid once for each');
    assert.equal(await onChain(carol), txsBefore, 'still nothing on chain');
  });
});
