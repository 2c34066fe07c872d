// Message tags end to end (docs/protocol.md "Tags"): a first message goes under the recipient's
// introduction tag; once her reply (carrying her seed) is read, every message goes under a fresh
// tag of that seed; failed sends give their index back; and messages a relay lost do not hide the
// ones after them: the sender's resync through the introduction tag moves the recipient's window
// over the gap, and everything the relay kept is found.
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hex } from '@scure/base';
import type { Client } from '../../src/client/client.ts';
import { Client as ClientClass } from '../../src/client/client.ts';
import type { RelayHandle } from '../../src/relay/daemon.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { LIGHT_SCRYPT, acquaint, introTagOf, rejectsWith, startChain, startClientTestRelay, tempDir, type Chain } from './helpers.ts';

const SEND = { maxFee: 5_000, retentionDays: 0.1 } as const;

describe('message tags', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-tags-');
  const open: Client[] = [];
  let alice: Client;
  let carol: Client;

  const make = async (name: string): Promise<Client> => {
    const { client } = await ClientClass.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
    open.push(client);
    return client;
  };
  /** The tag the relay stored message `id` under (hex). */
  const tagOf = (id: string): string => {
    const row = relay.store.db.prepare('SELECT mailbox FROM messages WHERE id = ?').get(hex.decode(id)) as { mailbox: Buffer } | undefined;
    assert.ok(row, `the relay holds ${id}`);
    return Buffer.from(row.mailbox).toString('hex');
  };
  const inboxIds = async (c: Client): Promise<Set<string>> => new Set((await c.inbox()).entries.map((e) => e.id));

  before(async () => {
    chain = await startChain();
    relay = await startClientTestRelay(chain, tmp.dir, { mailboxUnpaidMaxMessages: 200, depositorUnpaidMaxMessages: 200 });
    alice = await make('alice');
    carol = await make('carol');
    await acquaint(chain, alice, carol);
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('first contact under the introduction tag, then a fresh tag per message once the reply is read; failed sends leave no gap', async () => {
    const first = await alice.send('carol', { text: 'hello Carol' }, { mode: 'sender-pays', ...SEND });
    assert.equal(tagOf(first.id), introTagOf(alice, 'carol'), 'before any reply: her introduction tag');
    const again = await alice.send('carol', { text: 'still there?' }, { mode: 'sender-pays', ...SEND });
    assert.equal(tagOf(again.id), introTagOf(alice, 'carol'), 'still no seed of hers: the introduction tag again');
    chain.devnet.mine(1); // the relay releases k once the funding is confirmed

    assert.ok((await inboxIds(carol)).has(first.id));
    await carol.read(first.id, { waitMs: 20_000 });
    const reply = await carol.send('alice', { text: 'hi Alice' }, { mode: 'sender-pays', ...SEND });
    const replyTag = tagOf(reply.id);
    assert.notEqual(replyTag, introTagOf(carol, 'alice'), "Carol read Alice's seed: her reply goes under it, not under Alice's introduction tag");
    chain.devnet.mine(1);

    assert.ok((await inboxIds(alice)).has(reply.id), 'Alice finds the reply under her own seed');
    await alice.read(reply.id, { waitMs: 20_000 });
    const tags = new Set([tagOf(first.id), replyTag]);
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await alice.send('carol', { text: `message ${i}` }, { mode: 'recipient-pays', ...SEND });
      const t = tagOf(m.id);
      assert.notEqual(t, introTagOf(alice, 'carol'), 'after her reply: never the introduction tag');
      assert.ok(!tags.has(t), 'a tag is used once');
      tags.add(t);
      sent.push(m.id);
    }
    // More failed sends than the recipient's window is wide: each gives its index back.
    for (let i = 0; i < 10; i++) await assert.rejects(alice.send('carol', { text: `too cheap ${i}` }, { mode: 'recipient-pays', maxFee: 1, retentionDays: 0.1 }), rejectsWith('NO_ACCEPTABLE_QUOTE'));
    const after = await alice.send('carol', { text: 'after the failures' }, { mode: 'recipient-pays', ...SEND });
    assert.ok(!tags.has(tagOf(after.id)));
    const found = await inboxIds(carol);
    for (const id of [...sent, after.id, again.id]) assert.ok(found.has(id), `Carol finds ${id}`);
  });

  it('messages a relay lost do not hide the later ones: the resync through the introduction tag moves the window over the gap', async () => {
    // Alice's index runs ahead of what Carol acknowledged (she has not written since): after
    // TAG_RESYNC_AFTER indices Alice writes to the introduction tag again, telling her index.
    const bulk: string[] = [];
    let resync: string | undefined;
    for (let i = 0; i < 40 && resync === undefined; i++) {
      const m = await alice.send('carol', { text: `bulk ${i}` }, { mode: 'recipient-pays', ...SEND });
      if (tagOf(m.id) === introTagOf(alice, 'carol')) resync = m.id;
      else bulk.push(m.id);
    }
    assert.ok(resync !== undefined, 'Alice fell back to the introduction tag');
    assert.ok(bulk.length > 12, `${bulk.length} messages under tags before the resync`);
    // The relay loses the first nine: more than the window Carol asks for past her last find.
    const lost = bulk.slice(0, 9);
    for (const id of lost) relay.store.db.prepare('DELETE FROM messages WHERE id = ?').run(hex.decode(id));
    const kept = bulk.slice(9);

    let found = await inboxIds(carol);
    assert.ok(found.has(resync), 'the resync message is found under the introduction tag');
    assert.ok(kept.every((id) => !found.has(id)), 'past the gap, the window does not reach the rest yet');

    // Reading it tells Carol Alice's index: the window jumps there and the skipped indices are asked for as gaps.
    chain.fund(carol.walletAddress(), 50_000);
    chain.devnet.mine(1);
    let mined = false;
    await carol.read(resync, {
      pollMs: 100,
      waitMs: 30_000,
      onProgress: (line) => {
        // The payment is broadcast: confirm it.
        if (!mined && line.includes('to confirm')) {
          mined = true;
          chain.devnet.mine(1);
        }
      },
    });
    found = await inboxIds(carol);
    for (const id of kept) assert.ok(found.has(id), `found after the resync: ${id}`);
    for (const id of lost) assert.ok(!found.has(id), 'what the relay lost stays lost (and is not invented)');
  });

  it('a relay of satpost 0.1 (no tag routes) is named as outdated, not taken for an empty inbox', async () => {
    // What a 0.1 relay answers for a route it does not have.
    const old = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route' } }));
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}`;
      await assert.rejects(new RelayClient(url).listPage([new Uint8Array(32)]), (err: unknown) => {
        rejectsWith('RELAY_OUTDATED')(err);
        assert.match((err as Error).message, /satpost 0\.1/);
        return true;
      });
    } finally {
      await new Promise((r) => old.close(r));
    }
  });
});
