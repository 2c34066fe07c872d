// Key derivation spaces of a relay: per-quote contract keys and channel keys never meet, the
// indexes stop with a typed refusal before they would overflow, and quotes issued under the
// old layout (quote keys on the channel keys' account) keep their keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { CHANNEL_AUTH_HEADER, ChannelAuthCodec, NO_CHANNEL, signChannelAuth } from '../../src/channels/index.ts';
import { CHANNEL_KEY_BASE } from '../../src/relay/channels.ts';
import { MIGRATIONS, RelayStore } from '../../src/relay/store.ts';
import { openDb } from '../../src/store/sqlite.ts';
import { MAX_INDEX } from '../../src/wallet/keys.ts';
import { RelaySite, errorOf, openRelayFile, getQuote, hexOf, newIdentity, offer, postQuote, rnd } from './helpers.ts';

/** Sets a counter in one of the relay's files while the relay is down. */
function setCounter(site: RelaySite, file: 'relay.sqlite' | 'wallet.sqlite', sql: string, value: number): void {
  const db = openRelayFile(site.config.dataDir, file, { passphrase: site.config.passphrase });
  try {
    db.prepare(sql).run(value);
  } finally {
    db.close();
  }
}
const QUOTE_COUNTER = "UPDATE meta SET value = ? WHERE key = 'next_contract_index'";
const CHANNEL_COUNTER = "INSERT INTO counters (name, value) VALUES ('contract', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value";

/** A channel key request signed by a fresh payer key (channel key requests need a ChannelAuth). */
async function channelKey(site: RelaySite): Promise<Response> {
  const url = site.relay!.url;
  const relayId = hex.decode(((await (await fetch(`${url}/.well-known/satpost`)).json()) as { relayId: string }).relayId);
  const priv = secp256k1.utils.randomSecretKey();
  const auth = signChannelAuth({ op: 'key', channelId: NO_CHANNEL, timestamp: Date.now(), nonce: rnd(16) }, relayId, { privkey: priv, pubkey: secp256k1.getPublicKey(priv, true) });
  return fetch(`${url}/v1/channel/key`, {
    method: 'POST', headers: { 'content-type': 'application/json', [CHANNEL_AUTH_HEADER]: hex.encode(ChannelAuthCodec.encode(auth)) }, body: '{}',
  });
}

test('contract and channel key indexes never overlap', { timeout: 60_000 }, async () => {
  const site = new RelaySite();
  try {
    await site.start();
    await site.stop();
    // As if 2^30 quotes had been issued: the next quote index is the first channel key index.
    setCounter(site, 'relay.sqlite', QUOTE_COUNTER, CHANNEL_KEY_BASE);
    const relay = await site.start();
    const q = await getQuote(relay.url, offer(newIdentity().mailbox, 100));
    const res = await channelKey(site);
    assert.equal(res.status, 200);
    const ch = (await res.json()) as { keyIndex: number; relayPubkey: string };
    assert.equal(ch.keyIndex, CHANNEL_KEY_BASE, 'the channel key has the index the quote key has');
    assert.notEqual(hexOf(q.contractPubkey), ch.relayPubkey, 'and still another key: they are derived in separate accounts');
  } finally {
    await site.close();
  }
});

test('quote and channel key indexes stop with KEYS_EXHAUSTED before they would overflow', { timeout: 60_000 }, async () => {
  const site = new RelaySite();
  try {
    await site.start();
    await site.stop();
    setCounter(site, 'relay.sqlite', QUOTE_COUNTER, MAX_INDEX);
    setCounter(site, 'wallet.sqlite', CHANNEL_COUNTER, MAX_INDEX - CHANNEL_KEY_BASE);
    const relay = await site.start();
    const mailbox = newIdentity().mailbox;
    await getQuote(relay.url, offer(mailbox, 100)); // the last index, 2^31 - 1
    const refused = await errorOf(await postQuote(relay.url, offer(mailbox, 100)));
    assert.deepEqual([refused.status, refused.code], [503, 'KEYS_EXHAUSTED']);
    const last = (await (await channelKey(site)).json()) as { keyIndex: number };
    assert.equal(last.keyIndex, MAX_INDEX);
    const none = await errorOf(await channelKey(site));
    assert.deepEqual([none.status, none.code], [503, 'KEYS_EXHAUSTED']);
  } finally {
    await site.close();
  }
});

test('quotes stored before quote keys had their own account keep their key account', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-keys-'));
  const path = join(dir, 'relay.sqlite');
  try {
    // A relay.sqlite as the previous layout wrote it (migrations 1-2), with one quote.
    const old = openDb({ path, migrations: MIGRATIONS.slice(0, 2) });
    const quoteId = rnd(16);
    old.prepare(`INSERT INTO quotes (quote_id, mailbox, mode, size, amount, locktime, contract_index, k, hk, expires_at, valid_until, encoded)
                 VALUES (?, ?, 'recipient-pays', 10, 1000, 500, 7, ?, ?, 0, 0, ?)`).run(quoteId, rnd(32), rnd(32), rnd(32), rnd(10));
    old.prepare("UPDATE meta SET value = 8 WHERE key = 'next_contract_index'").run();
    old.close();
    const store = new RelayStore({ path, synchronous: 'NORMAL', batchMax: 10 });
    try {
      const q = store.getQuote(quoteId)!;
      assert.deepEqual([q.contractIndex, q.keyAccount], [7, 0], 'the old quote still names its key on account 0');
      assert.equal(store.allocateContractIndex(), 8, 'new quotes go on counting');
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
