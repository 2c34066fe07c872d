// The SDK's channel payer against a real relay (127.0.0.1:0, in-process devnet): open, 20
// sender-pays messages unlocked by r and settled back to the payer, 5 recipient-pays messages
// settled in the add's answer, cooperative close with the relay's balance exact to the sat.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { ClientChannels } from '../../src/client/channels.ts';
import { ClientError } from '../../src/client/errors.ts';
import { messageIdOf } from '../../src/core/objects/index.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { ChannelBook } from '../../src/watch/channel-book.ts';
import { PayerChannels } from '../../src/watch/channel-payer.ts';
import { openPartyDb } from '../../src/watch/party-db.ts';
import { LIGHT_SCRYPT, deposit, depositFor, getQuote, newIdentity, offer, rnd, testRelay, type TestRelay } from '../relay/helpers.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

describe('SDK channels', { timeout: 180_000 }, () => {
  let relay: TestRelay;
  let dir: string;
  let payer: PayerChannels;
  let sdk: ClientChannels;
  let close: () => void;
  before(async () => {
    relay = await testRelay({ maxRetentionSecs: 3600, p2p: false });
    dir = mkdtempSync(join(tmpdir(), 'satpost-client-ch-'));
    const db = openPartyDb(join(dir, 'alice.sqlite'));
    const backend = new DevnetBackend(relay.devnet);
    const wallet = Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend, scrypt: LIGHT_SCRYPT });
    relay.devnet.faucet(wallet.newReceiveAddress().script, 1_000_000);
    relay.devnet.mine(1);
    await wallet.sync();
    payer = new PayerChannels({ book: new ChannelBook(db), wallet, backend, feeRate: 2 });
    sdk = new ClientChannels(payer, async () => (await backend.getTip()).height);
    close = () => { wallet.close(); db.close(); };
  });
  after(async () => {
    close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('open, 20 sender-pays + 5 recipient-pays messages, close: balances exact', async () => {
    await assert.rejects(sdk.open(relay.url, { sats: 5_000 }), (e: unknown) => ClientError.is(e) && e.code === 'CHANNEL_TERMS');
    const opened = await sdk.open(relay.url, { sats: 400_000, blocks: 500 });
    assert.equal(opened.status, 'opening');
    relay.devnet.mine(1);
    await payer.pass(await new DevnetBackend(relay.devnet).getTip());
    await relay.channels!.watcher.poll();
    assert.equal(sdk.usable(relay.url, 1_000)?.id, opened.id);

    const carol = newIdentity();
    let paid = 0;
    for (let i = 0; i < 20; i++) {
      const q = await getQuote(relay.url, offer(carol.mailbox, 100, { mode: 'sender-pays', retentionSecs: 3600 }));
      const r = rnd(32);
      await sdk.pay(opened.id, { mode: 'sender-pays', hk: q.hk, hr: sha(r), amount: q.amount, locktime: q.locktime });
      await deposit(relay.url, depositFor(q, rnd(100), { hr: sha(r), payerPubkey: payer.book.get(opened.id).state.payerPubkey }));
      const ans = (await (await fetch(`${relay.url}/v1/unlock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: hex.encode(messageIdOf(q.hk)), r: hex.encode(r) }) })).json()) as { state: string; k: string };
      assert.equal(ans.state, 'unlocked');
      assert.deepEqual(sha(hex.decode(ans.k)), q.hk);
      paid += q.amount;
    }
    assert.equal((await sdk.sync(opened.id)).length, 20, 'every settle reaches the payer');
    assert.equal((await sdk.sync(opened.id)).length, 0, 'nothing left to acknowledge');
    assert.equal(payer.book.htlcs(opened.id).filter((h) => h.status === 'settled' && h.k && h.r).length, 20, 'the payer holds every k and r');

    for (let i = 0; i < 5; i++) {
      const q = await getQuote(relay.url, offer(carol.mailbox, 100, { mode: 'recipient-pays', retentionSecs: 3600 }));
      await deposit(relay.url, depositFor(q, rnd(100)));
      const { k } = await sdk.pay(opened.id, { mode: 'recipient-pays', hk: q.hk, amount: q.amount, locktime: q.locktime });
      assert.ok(k && Buffer.from(sha(k)).equals(Buffer.from(q.hk)), 'k in the add answer');
      paid += q.amount;
    }
    assert.equal(sdk.list().length, 1, 'the refused open funded nothing');
    const before = sdk.list()[0]!;
    assert.equal(before.relayBalance, paid);
    assert.equal(before.inFlight, 0);
    assert.equal(before.payerBalance, 400_000 - paid);

    const closed = await sdk.close(opened.id);
    assert.equal(closed.status, 'closing-cooperative');
    relay.devnet.mine(1);
    await relay.channels!.watcher.poll();
    const relaySide = relay.channels!.view(opened.id);
    assert.equal(relaySide.status, 'closed-cooperative');
    assert.equal(relaySide.relayBalance, paid, 'the relay closes with exactly the 25 prices');
  });
});
