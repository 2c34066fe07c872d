// The relay's answer about a channel still opening comes from the chain at the time of asking
// (RelayChannels.refresh, behind GET /v1/channel/:id), not from the last watcher pass: a payer
// whose funding just confirmed is not told 'opening' and sent to the chain for a block's lag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Env, FEE_RATE } from './helpers.ts';
import { MARGIN, chParty, wire } from './channel-helpers.ts';

test('refresh: a channel still opening is checked against the chain now, with no watcher pass', async () => {
  const env = new Env(true);
  try {
    const alice = chParty(env, 'alice');
    const bob = chParty(env, 'bob');
    await env.fundWallet(alice.base, 1_000_000);
    const relayKeyIndex = bob.base.wallet.nextContractKeyIndex();
    const relayPubkey = bob.base.wallet.contractKey(relayKeyIndex).pubkey33;
    const { channel, message } = await alice.payer.open({ relayPubkey, capacity: 200_000, channelLocktime: env.devnet.tip().height + 300, claimMargin: MARGIN, feeRate: FEE_RATE });
    await bob.relay.accept(wire('open', message), channel.fundingRaw!, relayKeyIndex);
    assert.equal((await bob.relay.refresh(channel.id)).status, 'opening', 'unconfirmed: still opening');
    env.devnet.mine(1);
    assert.equal(bob.book.get(channel.id).status, 'opening', 'no pass has run');
    assert.equal((await bob.relay.refresh(channel.id)).status, 'open', 'confirmed now: open at once');
    assert.equal((await bob.relay.refresh(channel.id)).status, 'open', 'asking again changes nothing');
  } finally {
    await env.done();
  }
});
