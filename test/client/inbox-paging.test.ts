// The SDK follows the relay's listing pages: with 1,005 messages under Carol's introduction tag (more than
// one page of 1,000) read() of the newest by an id prefix lists every page and finds it on page 2,
// and her inbox holds every one. RelayClient.listAll against the real relay (smaller pages, the page bound)
// and against relays that answer a cursor that does not advance or never ends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { hex } from '@scure/base';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { RelayClient, LIST_MAX_PAGES, type ListedEntry } from '../../src/client/relay-client.ts';
import { H } from '../../src/core/hash.ts';
import { introEpochOf, introSecret, tagOfSecret } from '../../src/core/objects/index.ts';
import { sealHeader } from '../../src/envelope/envelope.ts';
import { decodeAddress } from '../../src/identity/address.ts';
import type { UnlockedIdentity } from '../../src/identity/identity.ts';
import { fingerprintOf, mailboxIdOf } from '../../src/identity/keys.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const FILLERS = 1004;
const TEXT = 'The newest of 1,005 messages. -- Alice';

function identity(): UnlockedIdentity {
  const keyPair = IdentityKeyPair.generate();
  const publicKey = keyPair.publicKey.serialize();
  return { keyPair, publicKey, registrationId: 1, mailbox: mailboxIdOf(publicKey) };
}

function rejectsWith(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/** A JSON server on 127.0.0.1:0 answering a listing with what `listAnswer` says. */
async function fakeRelay(listAnswer: (query: URLSearchParams) => unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const u = new URL(req.url!, 'http://x');
      const body = listAnswer(u.searchParams);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

describe('client inbox over a listing of several pages', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-paging-');
  const open: Client[] = [];
  let alice: Client;
  let carol: Client;
  const bulk = identity();
  const fillerIds = new Set<string>();

  const make = async (name: string) => {
    const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT });
    open.push(client);
    return client;
  };

  /** A recipient's introduction tag of today: what a first contact (or a flood of them) goes under. */
  const introTag = (recipientKey: Uint8Array): Uint8Array => tagOfSecret(introSecret(recipientKey, introEpochOf(Date.now())));

  /** One recipient-pays message from `bulk` with a real sealed header, through the relay's HTTP quote and deposit. */
  const deposit = async (rc: RelayClient, recipientKey: Uint8Array): Promise<string> => {
    const mailbox = introTag(recipientKey);
    const c = rnd(64);
    const q = await rc.quote({ offerId: rnd(16), tag: mailbox, mode: 'recipient-pays', size: c.length, maxFee: 5000, retentionSecs: 3600, createdAt: Date.now() });
    const sealedHeader = sealHeader({ sender: { identity: bulk }, recipient: { identityKey: recipientKey }, hc: H(c), hk: q.hk, relayId: q.relayId, tag: mailbox, mode: 'recipient-pays', now: Date.now() });
    const { receipt } = await rc.deposit({ quoteId: q.quoteId, tag: mailbox, sealedHeader, body: c, hr: undefined, funding: undefined });
    return hex.encode(receipt.messageId);
  };

  before(async () => {
    chain = await startChain();
    // Durability is not under test here: NORMAL commits 1,000 deposits faster.
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false, chainUrl: chain.url, synchronous: 'NORMAL',
      // The fillers are 1,005 unpaid messages from one address.
      mailboxUnpaidMaxMessages: 2000, depositorUnpaidMaxMessages: 2000,
    });
    const backend = new DevnetBackend(chain.devnet);
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
    alice = await make('alice');
    carol = await make('carol');
    await carol.publish();
    await alice.addContact('carol', carol.address());
    await carol.addContact('alice', alice.address());
    chain.fund(alice.walletAddress(), 100_000);
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await chain.close();
    tmp.cleanup();
  });

  it('inbox holds all 1,005 messages and read() finds and reads the newest, on page 2', async () => {
    const rc = new RelayClient(relay.url);
    const carolKey = decodeAddress(carol.address()).identityKey;
    for (let i = 0; i < FILLERS; i += 25) {
      const batch = Array.from({ length: Math.min(25, FILLERS - i) }, () => deposit(rc, carolKey));
      for (const id of await Promise.all(batch)) fillerIds.add(id);
    }
    const sent = await alice.send('carol', { text: TEXT }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
    chain.devnet.mine(1);
    // The relay's own order puts Alice's message past the first page of 1,000.
    const order = relay.store.list(introTag(carolKey), Date.now(), 2000).map((m) => hex.encode(m.id));
    assert.equal(order.length, FILLERS + 1);
    assert.ok(order.indexOf(sent.id) >= 1000, `Alice's message is at position ${order.indexOf(sent.id)}`);

    // Never listed before, and asked for by a prefix (no fetch by id): read() lists every page to find it.
    const read = await carol.read(sent.id.slice(0, 16));
    assert.deepEqual(read.message, { kind: 'text', text: TEXT });
    assert.equal(read.from, 'alice');

    const { entries, problems } = await carol.inbox();
    assert.deepEqual(problems, []);
    assert.equal(entries.length, FILLERS + 1);
    assert.deepEqual(new Set(entries.map((e) => e.id)), new Set([...fillerIds, sent.id]));
    const fillers = entries.filter((e) => e.id !== sent.id);
    assert.ok(fillers.every((e) => e.state === 'new' && e.from === fingerprintOf(bulk.publicKey) && !e.verified));
    assert.equal(entries.find((e) => e.id === sent.id)!.state, 'read');
  });

  it('listAll follows smaller pages, and stops with TOO_MANY_PAGES past maxPages', async () => {
    const dave = identity();
    const rc = new RelayClient(relay.url);
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add(await deposit(rc, dave.publicKey));
    const auth = [introTag(dave.publicKey)];

    const pages: ListedEntry[][] = [];
    for await (const p of rc.listAll(auth, { limit: 3 })) pages.push(p);
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
    assert.deepEqual(new Set(pages.flat().map((e) => e.id)), ids);
    const whole: ListedEntry[] = [];
    for await (const p of rc.listAll(auth)) whole.push(...p);
    assert.deepEqual(pages.flat().map((e) => e.id), whole.map((e) => e.id), 'the same order as one big page');

    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of rc.listAll(auth, { limit: 3, maxPages: 2 })) seen.push(p.length);
      })(),
      (err: unknown) => {
        rejectsWith('TOO_MANY_PAGES')(err);
        assert.equal((err as ClientError).relay, relay.url);
        assert.equal((err as ClientError).details?.pages, 2);
        return true;
      },
    );
    assert.deepEqual(seen, [3, 3], 'the pages within the bound were handed over first');

    // The relay's refusal of a bad cursor arrives typed.
    await assert.rejects(rc.listPage(auth, { after: 'nonsense' }), rejectsWith('BAD_REQUEST'));
    await assert.rejects(rc.listPage(auth, { limit: 1001 }), rejectsWith('BAD_REQUEST'));
  });

  it('refuses a relay whose cursor does not advance or is malformed, and bounds one that never ends', async () => {
    const tag = rnd(32);
    const entry = (n: number) => ({ id: n.toString(16).padStart(64, '0'), tag: hex.encode(tag), size: 1, mode: 'recipient-pays', state: 'stored', createdAt: n, expiresAt: n + 1 });
    const drain = async (rc: RelayClient) => {
      let pages = 0;
      for await (const _ of rc.listAll([tag])) pages++;
      return pages;
    };
    const stuck = await fakeRelay(() => ({ messages: [entry(5)], next: `5.${entry(5).id}` }));
    const garbled = await fakeRelay(() => ({ messages: [entry(5)], next: 'five' }));
    const endless = await fakeRelay((q) => {
      const n = q.has('after') ? Number(q.get('after')!.split('.')[0]) + 1 : 1;
      return { messages: [entry(n)], next: `${n}.${entry(n).id}` };
    });
    try {
      await assert.rejects(drain(new RelayClient(stuck.url)), (err: unknown) => rejectsWith('BAD_RELAY_ANSWER')(err) && /went from/.test((err as Error).message));
      await assert.rejects(drain(new RelayClient(garbled.url)), (err: unknown) => rejectsWith('BAD_RELAY_ANSWER')(err) && /malformed "next"/.test((err as Error).message));
      let pages = 0;
      await assert.rejects(
        (async () => {
          for await (const _ of new RelayClient(endless.url).listAll([tag])) pages++;
        })(),
        rejectsWith('TOO_MANY_PAGES'),
      );
      assert.equal(pages, LIST_MAX_PAGES);
    } finally {
      for (const s of [stuck, garbled, endless]) await new Promise((r) => s.server.close(r));
    }
  });
});
