// Standing terms (docs/protocol.md "Standing terms") against a real relay (127.0.0.1:0, its own
// wallet and channel watcher) and a devnet over HTTP: sends over an open channel ask the
// channel's relay alone for a quote (no offer to the network) and pay the terms' price; terms
// that lapse mid-stream are fetched afresh and the next send still goes over the channel; a quote
// above the relay's own terms is refused (TERMS_EXCEEDED) and the send takes the network path;
// recipient-pays is quoted the same way and read over the recipient's own channel.
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import type { MailContext } from '../../src/client/mail-context.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { checkQuoteAgainstTerms } from '../../src/client/send.ts';
import { nobleEd25519 } from '../../src/core/ed25519.ts';
import { standingPrice, verifyStandingTerms, type Offer, type Quote } from '../../src/core/objects/index.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish, priceOf, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { LIGHT_SCRYPT, rejectsWith, startChain, tempDir, type Chain } from './helpers.ts';

const RETENTION_DAYS = 0.1;
const SEND = { mode: 'sender-pays', maxFee: 10_000, retentionDays: RETENTION_DAYS } as const;
const TERMS_SECS = 60;

describe('standing terms: sends over a channel skip the network offer', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  let config: RelayConfig;
  const tmp = tempDir('satpost-terms-');
  const open: Client[] = [];
  // One clock for the relay and both clients, moved forward to make terms lapse.
  let skew = 0;
  const now = () => Date.now() + skew;

  before(async () => {
    chain = await startChain();
    config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false,
      lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url, channelTermsSecs: TERMS_SECS,
    });
    const backend = new DevnetBackend(chain.devnet);
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT, now });
  });
  after(async () => {
    mock.restoreAll();
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  const make = async (name: string) => {
    const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT, now });
    open.push(client);
    return client;
  };
  const ctxOf = (c: Client) => (c as unknown as { ctx: MailContext }).ctx;

  it('pays the terms price with one quote per message, refreshes lapsed terms, refuses a quote above them', async () => {
    const alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    chain.fund(alice.walletAddress(), 1_000_000);
    const ch = await alice.openChannel(relay.url, { sats: 300_000, blocks: 200 });
    chain.devnet.mine(1);
    await alice.syncContracts();
    await relay.channels!.watcher.poll();
    assert.equal((await alice.channels())[0]!.status, 'open');

    // The route itself: a ChannelAuth is required.
    const bare = await fetch(`${relay.url}/v1/channel/${ch.id}/terms`);
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { error: { code: string } }).error.code, 'CHANNEL_AUTH_REQUIRED');

    const offers = mock.method(RelayClient.prototype, 'offerToNetwork');
    const quotes = mock.method(RelayClient.prototype, 'quote');
    const channels = ctxOf(alice).channels;
    const retentionSecs = Math.round(RETENTION_DAYS * 86_400);
    const send = async (i: number) => {
      const sent = await alice.send('carol', { text: `standing ${i}` }, SEND);
      assert.equal(sent.via, 'channel', `message ${i} goes over the channel`);
      assert.equal(sent.channelId, ch.id);
      assert.equal(sent.state, 'paid');
      return sent;
    };

    for (let i = 0; i < 3; i++) {
      const sent = await send(i);
      const terms = await channels.standingTerms(ch.id, chain.devnet.tip().height);
      assert.ok(verifyStandingTerms(terms, nobleEd25519));
      assert.equal(hex.encode(terms.channelId), ch.id);
      assert.equal(sent.price, standingPrice(terms, sent.size, retentionSecs), 'the price of the terms');
      assert.equal(sent.price, priceOf(config, sent.size, retentionSecs));
    }
    assert.equal(offers.mock.callCount(), 0, 'no offer to the network');
    assert.equal(quotes.mock.callCount(), 3, 'one quote per message');
    assert.equal(channels.termsFetched, 1, 'the terms are fetched once while they hold');

    // The terms lapse mid-stream: the next send fetches them afresh and still goes over the channel.
    const first = await channels.standingTerms(ch.id, chain.devnet.tip().height);
    skew += (TERMS_SECS + 1) * 1000;
    await send(3);
    assert.equal(channels.termsFetched, 2, 'lapsed terms are fetched again');
    const second = await channels.standingTerms(ch.id, chain.devnet.tip().height);
    assert.ok(second.validUntil > first.validUntil && second.validUntil > now());
    await send(4);
    assert.equal(channels.termsFetched, 2);
    assert.equal(offers.mock.callCount(), 0, 'still no offer to the network');

    // The relay raises its price while its terms hold: its quote exceeds them, is refused, and the
    // send offers the message to the network (here a standalone relay: its own quote, at the new price).
    config.priceBaseSats += 100;
    const sent = await alice.send('carol', { text: 'above the terms' }, SEND);
    assert.equal(channels.termsRefusals.length, 1);
    const refusal = channels.termsRefusals[0]!;
    assert.ok(ClientError.is(refusal, 'TERMS_EXCEEDED'));
    assert.equal(refusal.details?.limit, standingPrice(second, sent.size, retentionSecs));
    assert.equal(refusal.details?.price, priceOf(config, sent.size, retentionSecs));
    assert.equal(offers.mock.callCount(), 1, 'the refused quote sent the message to the network path');
    assert.equal(sent.price, priceOf(config, sent.size, retentionSecs), 'the network path took the market price');
    assert.equal(channels.termsFetched, 2);
    // The refused terms were dropped: the next send fetches the relay's current terms and uses them again.
    const after = await send(6);
    assert.equal(channels.termsFetched, 3);
    assert.equal(after.price, priceOf(config, after.size, retentionSecs));
    assert.equal(offers.mock.callCount(), 1);

    // Carol reads every one: the messages are where her relay serves them.
    const { entries } = await carol.inbox();
    assert.equal(entries.length, 7);
  });

  // Both hold a channel with the relay: the sender's account quotes the message (no network offer),
  // the recipient's pays the read (the relay settles in the add's answer), nothing goes on chain.
  it('recipient-pays: quoted by the sender\'s account relay within its terms, read paid over the recipient\'s channel', async () => {
    mock.restoreAll();
    const dan = await make('dan');
    const erin = await make('erin');
    await erin.publish();
    await dan.addContact('erin', erin.address());
    await erin.addContact('dan', dan.address());
    chain.fund(dan.walletAddress(), 500_000);
    chain.fund(erin.walletAddress(), 500_000);
    const danCh = await dan.openChannel(relay.url, { sats: 200_000, blocks: 200 });
    const erinCh = await erin.openChannel(relay.url, { sats: 200_000, blocks: 200 });
    chain.devnet.mine(1);
    await dan.syncContracts();
    await erin.syncContracts();
    await relay.channels!.watcher.poll();

    const offers = mock.method(RelayClient.prototype, 'offerToNetwork');
    const quotes = mock.method(RelayClient.prototype, 'quote');
    const tip = chain.devnet.tip().height;
    const retentionSecs = Math.round(RETENTION_DAYS * 86_400);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const sent = await dan.send('erin', { text: `pay to read ${i}` }, { ...SEND, mode: 'recipient-pays' });
      assert.equal(sent.relay, relay.url);
      assert.equal(sent.state, 'deposited');
      const terms = await ctxOf(dan).channels.standingTerms(danCh.id, tip);
      assert.equal(sent.price, standingPrice(terms, sent.size, retentionSecs), "within the sender's terms");
      ids.push(sent.id);
    }
    assert.equal(offers.mock.callCount(), 0, 'no offer to the network');
    assert.equal(quotes.mock.callCount(), 2, 'one quote per message, at the account relay');

    await erin.inbox();
    for (const id of ids) {
      const read = await erin.read(id);
      assert.equal(read.channelId, erinCh.id, "paid over the recipient's channel");
      assert.equal(read.state, 'read');
    }
    const erinSide = (await erin.channels()).find((c) => c.id === erinCh.id)!;
    assert.equal(erinSide.inFlight, 0, 'settled in the answers');
    assert.equal(chain.devnet.mempoolTxids().length, 0, 'nothing on chain');
    assert.equal(chain.devnet.tip().height, tip);
    assert.equal(offers.mock.callCount(), 0, 'no offer made by the read either');

    // channel: false is the payer without an account: the message goes to the network.
    await dan.send('erin', { text: 'no account' }, { ...SEND, mode: 'recipient-pays', channel: false });
    assert.equal(offers.mock.callCount(), 1);
  });

  it('checkQuoteAgainstTerms: TERMS_EXCEEDED above the price or the retention, BAD_RELAY_ANSWER from another relay', () => {
    const relayId = new Uint8Array(32).fill(1);
    const terms = {
      relayId, relayUrl: 'http://r', network: 'regtest' as const, channelId: new Uint8Array(32).fill(2), payerPubkey: Uint8Array.of(2, ...new Uint8Array(32).fill(3)),
      baseSats: 500, perBlockSats: 32, perDaySats: 10, maxRetentionSecs: 86_400, issuedAt: 0, validUntil: 1, validUntilHeight: 1, signature: new Uint8Array(64),
    };
    const offer = { size: 16_384, retentionSecs: 3600 } as Offer;
    const quote = (amount: number, id = relayId) => ({ amount, relayId: id, relayUrl: 'http://r' }) as Quote;
    checkQuoteAgainstTerms(quote(542), terms, offer);
    checkQuoteAgainstTerms(quote(400), terms, offer);
    assert.throws(() => checkQuoteAgainstTerms(quote(543), terms, offer), (e) => rejectsWith('TERMS_EXCEEDED')(e) && (e as ClientError).details?.limit === 542);
    assert.throws(() => checkQuoteAgainstTerms(quote(100), terms, { ...offer, retentionSecs: 90_000 }), rejectsWith('TERMS_EXCEEDED'));
    assert.throws(() => checkQuoteAgainstTerms(quote(100, new Uint8Array(32)), terms, offer), rejectsWith('BAD_RELAY_ANSWER'));
  });
});
