// The send path skips the wallet's chain scan while the tip is unchanged (Wallet.syncIfStale):
// a payment from someone else is spendable only once confirmed, and its block moves the tip, so
// the next send scans and finds it without an explicit sync.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { NETWORKS } from '../../src/core/network.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { addressToScript } from '../../src/wallet/address.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

describe('sending with coins that arrived after the last wallet scan', { timeout: 120_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-fresh-');
  const open: Client[] = [];

  before(async () => {
    chain = await startChain();
    const backend = new DevnetBackend(chain.devnet);
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false, lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url,
    });
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('a payment confirmed after the last scan funds the next send; unconfirmed it does not', async () => {
    const make = async (name: string) => {
      const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: name, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
      open.push(client);
      return client;
    };
    const alice = await make('alice');
    const carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    assert.equal((await alice.balance()).confirmed, 0, 'scanned at this tip: nothing yet');
    // Paid in the mempool, same tip: not spendable yet, whether the send scans or not.
    chain.devnet.faucet(addressToScript(alice.walletAddress(), NETWORKS.regtest), 100_000);
    const send = () => alice.send('carol', { text: 'paid with fresh coins' }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
    await assert.rejects(send(), (e: unknown) => ClientError.is(e, 'INSUFFICIENT_FUNDS'));
    // The block that confirms it moves the tip: the send scans again and spends it.
    chain.devnet.mine(1);
    const sent = await send();
    assert.equal(sent.state, 'funded');
    assert.equal(sent.via ?? 'chain', 'chain');
    assert.match(sent.fundingTxid ?? '', /^[0-9a-f]{64}$/);
  });
});
