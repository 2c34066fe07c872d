// The client over a relay network: two relay daemons joined by libp2p on one devnet. Alice's
// offer is quoted by the whole network and the cheaper relay (not one of Carol's) wins; Carol's
// inbox finds the message there through a tag query (signed answers) and reads it.
import { after, before, describe, it, mock } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { ClientError } from '../../src/client/errors.ts';
import type { Offer } from '../../src/core/objects/index.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { decodeAddress, encodeAddress } from '../../src/identity/address.ts';
import { mailboxIdOf } from '../../src/identity/keys.ts';
import { connect, waitTopology, type Relay } from '../p2p/net.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const FAST = { heartbeatMs: 100, topologyDebounceMs: 20 };

describe('client over a relay network', { timeout: 120_000 }, () => {
  let chain: Chain;
  const relays: RelayHandle[] = [];
  const configs: RelayConfig[] = [];
  const tmp = tempDir('satpost-net-');
  const open: Client[] = [];

  before(async () => {
    chain = await startChain();
    const backend = new DevnetBackend(chain.devnet);
    for (const [i, price] of [[0, 900], [1, 500]] as const) {
      const config = finish({
        ...DEFAULTS, port: 0, dataDir: join(tmp.dir, `relay${i}`), rateLimitBurst: 0, logLevel: 'silent', lockBlocks: 30, claimMarginBlocks: 3,
        chainUrl: chain.url, priceBaseSats: price, p2pMinPeers: 0, topologyRepublishSecs: 1, offerWindowMs: 1500, queryBudgetMs: 1500,
      });
      configs.push(config);
      relays.push(await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT, p2p: FAST }));
    }
    const asRelay = (r: RelayHandle, index: number): Relay => {
      const p = r.network.parts!;
      return { index, secret: new Uint8Array(0), node: p.node, queries: p.queries, offers: p.offers, topology: p.topology };
    };
    const net = relays.map(asRelay);
    await connect(net, [[0, 1]]);
    await waitTopology(net);
  });
  after(async () => {
    for (const c of open) await c.close();
    for (const r of relays) await r.stop();
    await chain.close();
    tmp.cleanup();
  });

  /** A client of relay `entry`, closed after the suite. */
  const make = async (name: string, entry = 0): Promise<Client> => {
    const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: name, network: 'regtest', chainUrl: chain.url, relays: [relays[entry]!.url], scrypt: LIGHT_SCRYPT });
    open.push(client);
    return client;
  };

  it('deposits at the cheapest relay of the network and the recipient finds it by a tag query', async () => {
    const alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    await carol.addContact('alice', alice.address());

    const sent = await alice.send('carol', { text: 'over the network' }, { mode: 'recipient-pays', maxFee: 5_000, retentionDays: 0.1 });
    assert.equal(sent.relay, relays[1]!.url, 'the cheaper relay, found through the network, holds it');
    assert.ok(sent.price < 900);

    const { entries, problems } = await carol.inbox();
    assert.deepEqual(problems, []);
    assert.deepEqual(entries.map((e) => [e.id, e.relay, e.from]), [[sent.id, relays[1]!.url, 'alice']]);
  });

  it('finds a prekey bundle through the network when the relays of the address do not hold it', async () => {
    const { client: alice } = await Client.init({ dir: join(tmp.dir, 'alice2'), passphrase: 'a2', network: 'regtest', chainUrl: chain.url, relays: [relays[0]!.url], scrypt: LIGHT_SCRYPT });
    const { client: dave } = await Client.init({ dir: join(tmp.dir, 'dave'), passphrase: 'd', network: 'regtest', chainUrl: chain.url, relays: [relays[1]!.url], scrypt: LIGHT_SCRYPT });
    open.push(alice, dave);
    await dave.publish();
    // An address whose only hint is a relay that never held Dave's keys (say he moved).
    const stale = encodeAddress({ ...decodeAddress(dave.address()), relayHints: [relays[0]!.url] });
    await alice.addContact('dave', stale);
    await assert.rejects(new RelayClient(relays[0]!.url).fetchPrekeys(mailboxIdOf(decodeAddress(stale).identityKey)), (e: unknown) => ClientError.is(e, 'NO_BUNDLE'));
    chain.fund(alice.walletAddress(), 200_000);
    const sent = await alice.send('dave', { text: 'found you' }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
    await dave.addContact('alice', alice.address());
    chain.devnet.mine(1);
    const got = await dave.read(sent.id);
    assert.equal(got.message.kind === 'text' && got.message.text, 'found you');
  });

  // A window far longer than this test may run: only an early answer lets the send finish.
  it('offer collection returns as soon as every expected relay has answered', { timeout: 40_000 }, async () => {
    const windows = configs.map((c) => c.offerWindowMs);
    for (const c of configs) c.offerWindowMs = 60_000;
    try {
      // Entry at the cheaper relay; a max fee under the other's price makes that one decline.
      const alice = await make('alice3', 1);
      const carol = await make('carol3', 1);
      await carol.publish();
      await alice.addContact('carol', carol.address());
      const declined = relays[0]!.network.parts!.offers.stats().declinesSent;
      // The network's answer itself (the client's HTTP timeout is far shorter than the window).
      const offer: Offer = { offerId: randomBytes(16), tag: randomBytes(32), mode: 'recipient-pays', size: 500, maxFee: 800, retentionSecs: 3600, createdAt: Date.now() };
      const got = await new RelayClient(relays[1]!.url).offerToNetwork(offer);
      assert.deepEqual(got?.quotes.map((q) => q.relayUrl), [relays[1]!.url]);
      assert.equal(got.unanswered, 0);
      // And through the SDK: the network's quote is the one taken.
      const sent = await alice.send('carol', { text: 'no waiting' }, { mode: 'recipient-pays', maxFee: 800, retentionDays: 0.1 });
      assert.equal(sent.relay, relays[1]!.url);
      assert.equal(relays[0]!.network.parts!.offers.stats().declinesSent, declined + 2, 'the dearer relay declined rather than stay silent');
    } finally {
      configs.forEach((c, i) => (c.offerWindowMs = windows[i]!));
    }
  });

  // Every relay declines (max fee under both prices): the network's answer is complete and empty.
  // The offer is not made again at the sender's other relay (all relays dropping a seen offerId,
  // it would only wait for the window); each relay is asked directly for the price instead.
  it('a complete answer without an acceptable quote ends the offer: no second entry relay', { timeout: 40_000 }, async () => {
    const windows = configs.map((c) => c.offerWindowMs);
    for (const c of configs) c.offerWindowMs = 60_000;
    const offers = mock.method(RelayClient.prototype, 'offerToNetwork');
    try {
      const alice = await make('alice4', 0);
      const carol = await make('carol4', 1);
      await carol.publish();
      await alice.addContact('carol', carol.address());
      const seen = relays.map((r) => r.network.parts!.offers.stats().offersSeen);
      await assert.rejects(alice.send('carol', { text: 'too cheap' }, { mode: 'recipient-pays', maxFee: 400, retentionDays: 0.1 }), (e: unknown) => {
        assert.ok(ClientError.is(e, 'NO_ACCEPTABLE_QUOTE'), String(e));
        const cheapest = e.details?.cheapest as number;
        assert.ok(cheapest > 400 && cheapest < 900, `the cheaper relay's price, from the relays asked directly (${cheapest})`);
        assert.equal(e.details?.unanswered, undefined, 'every expected relay answered');
        return true;
      });
      assert.equal(offers.mock.callCount(), 1, "offered once, at Carol's relay");
      assert.deepEqual(relays.map((r, i) => r.network.parts!.offers.stats().offersSeen - seen[i]!), [1, 0], 'only the other relay saw it, once');
    } finally {
      offers.mock.restore();
      configs.forEach((c, i) => (c.offerWindowMs = windows[i]!));
    }
  });
});
