// A sender who pays is never turned away because of unpaid mail: the SDK's on-chain sender-pays
// send, refused as unpaid by a relay whose unpaid allowance spam filled, funds first and deposits
// with its funding. Real relay (127.0.0.1:0), real devnet over HTTP, real clients.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import type { RelayHandle } from '../../src/relay/daemon.ts';
import { LIGHT_SCRYPT, introTagOf, startChain, startClientTestRelay, tempDir, type Chain } from './helpers.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const SEND = { maxFee: 5_000, retentionDays: 0.1 } as const;

describe('sending through a mailbox full of unpaid mail', { timeout: 120_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-unpaid-');
  const open: Client[] = [];
  const make = async (name: string) => {
    const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
    open.push(client);
    return client;
  };

  before(async () => {
    chain = await startChain();
    relay = await startClientTestRelay(chain, tmp.dir, { mailboxUnpaidMaxMessages: 2 });
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('a paying sender gets through a mailbox whose unpaid allowance spam filled', async () => {
    const alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    await carol.addContact('alice', alice.address());
    chain.fund(alice.walletAddress(), 100_000);

    // Free recipient-pays deposits fill Carol's unpaid allowance.
    const spammer = new RelayClient(relay.url);
    const mailbox = hex.decode(introTagOf(alice, 'carol'));
    const spam = async () => {
      const quote = await spammer.quote({ offerId: rnd(16), tag: mailbox, mode: 'recipient-pays', size: 300, maxFee: 5000, retentionSecs: 3600, createdAt: Date.now() });
      await spammer.deposit({ quoteId: quote.quoteId, tag: mailbox, sealedHeader: rnd(200), body: rnd(300), hr: undefined, funding: undefined });
    };
    await spam();
    await spam();
    await assert.rejects(spam(), (err: unknown) => err instanceof ClientError && err.code === 'UNPAID_QUOTA_FULL');

    const sent = await alice.send('carol', { text: 'paid for' }, { mode: 'sender-pays', channel: false, ...SEND });
    assert.equal(sent.state, 'funded');
    assert.equal(relay.store.mailboxUsage(mailbox).paid.count, 1, 'stored as paid mail');
    chain.devnet.mine(1);
    const { entries } = await carol.inbox();
    assert.deepEqual(entries.map((e) => e.id), [sent.id]);
    assert.deepEqual((await carol.read(sent.id)).message, { kind: 'text', text: 'paid for' });
  });
});
