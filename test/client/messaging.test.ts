// Send, inbox and read through the SDK over a real relay (127.0.0.1:0, its own wallet and
// contract watcher) and a real devnet reached over HTTP: both payment modes, a refund past T,
// a crash between deposit and funding, and the refusals a user meets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { ClientError } from '../../src/client/errors.ts';
import { RelayClient } from '../../src/client/relay-client.ts';
import { hex } from '@scure/base';
import { randomBytes } from 'node:crypto';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { LIGHT_SCRYPT, acquaint, introTagOf, holdings, startChain, tempDir, type Chain } from './helpers.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const SEND = { maxFee: 5_000, retentionDays: 0.1 } as const;
const TEXT_1 = 'Hi Carol, the keys are under the blue pot. -- Alice';
const TEXT_2 = 'PS: the cat eats at seven.';

function rejectsWith(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ClientError, `expected ClientError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('client messaging over a relay', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  const tmp = tempDir('satpost-msg-');
  const open: Client[] = [];
  let alice: Client;
  let carol: Client;
  const carolMailbox = (): string => introTagOf(alice, 'carol');
  const mine = async (n = 1) => {
    chain.devnet.mine(n);
  };

  const make = async (name: string, o: { failpoint?: (n: string) => void } = {}) => {
    const { client } = await Client.init({
      dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [relay.url], scrypt: LIGHT_SCRYPT,
      ...(o.failpoint ? { failpoint: o.failpoint } : {}),
    });
    open.push(client);
    return client;
  };

  before(async () => {
    chain = await startChain();
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false,
      lockBlocks: 30, claimMarginBlocks: 3, chainUrl: chain.url,
    });
    const backend = new DevnetBackend(chain.devnet);
    // No tip cache: the tests mine dozens of blocks at once and quote right after.
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
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

  it('publishes prekeys to the relay and reports the pool it holds', async () => {
    const dave = await make('dave');
    const out = await dave.publish();
    assert.equal(out.relays.length, 1);
    assert.equal(out.relays[0]!.oneTimePreKeys, 100);
    assert.equal(out.relays[0]!.kyberPreKeys, 20);
  });

  it('sender-pays: Alice funds on sending, Carol reads with r, Alice sees the delivery', async () => {
    const before = await holdings(alice);
    const sent = await alice.send('carol', { text: TEXT_1 }, { mode: 'sender-pays', ...SEND });
    assert.equal(sent.state, 'funded');
    assert.equal(sent.to, 'carol');
    assert.match(sent.fundingTxid!, /^[0-9a-f]{64}$/);
    assert.ok(sent.price > 0 && sent.price <= SEND.maxFee);
    await mine();

    const { entries } = await carol.inbox();
    assert.equal(entries.length, 1);
    const e = entries[0]!;
    assert.deepEqual(
      { id: e.id, from: e.from, verified: e.verified, mode: e.mode, price: e.price, state: e.state },
      { id: sent.id, from: 'alice', verified: true, mode: 'sender-pays', price: 0, state: 'new' },
    );
    const read = await carol.read(e.id.slice(0, 12));
    assert.deepEqual(read.message, { kind: 'text', text: TEXT_1 });
    assert.equal(read.state, 'read');
    // Reading again answers from the inbox, paying nothing.
    assert.deepEqual((await carol.read(e.id)).message, read.message);

    await mine();
    await alice.syncContracts();
    assert.equal(alice.outbox().find((m) => m.id === sent.id)!.state, 'delivered');
    const funding = (await alice.history()).find((h) => h.txid === sent.fundingTxid)!;
    assert.ok(funding.fee! > 0);
    assert.equal(before - (await holdings(alice)), sent.price + funding.fee!, 'Alice paid exactly the price and the funding fee');
  });

  it('recipient-pays: PRICE_TOO_HIGH below the price, then Carol pays, waits for the confirmation and reads', async () => {
    const sent = await alice.send('carol', { text: TEXT_2 }, { mode: 'recipient-pays', ...SEND });
    assert.equal(sent.state, 'deposited');
    const e = (await carol.inbox()).entries.find((x) => x.id === sent.id)!;
    assert.equal(e.price, sent.price);
    assert.equal(e.state, 'new');
    await assert.rejects(carol.read(e.id, { maxPrice: sent.price - 1 }), (err: unknown) => {
      rejectsWith('PRICE_TOO_HIGH')(err);
      assert.equal((err as ClientError).details?.price, sent.price);
      return true;
    });
    const before = await holdings(carol);
    const progress: string[] = [];
    const read = await carol.read(e.id, {
      maxPrice: sent.price,
      pollMs: 200,
      onProgress: (line) => {
        progress.push(line);
        if (progress.length === 2) void mine(); // the payment is broadcast: confirm it
      },
    });
    assert.deepEqual(read.message, { kind: 'text', text: TEXT_2 });
    assert.ok(progress.some((l) => l.includes('to confirm')), progress.join('\n'));
    const paid = before - (await holdings(carol));
    const funding = (await carol.history()).find((h) => h.own && h.net === -paid)!;
    assert.ok(funding, `a funding of ${paid} sats in Carol's history`);
    assert.equal(paid, sent.price + funding.fee!, 'Carol paid exactly the price and the funding fee');
  });

  it('reading a stranger\'s recipient-pays message pays nothing without payUnknownSender', async () => {
    // Mallory is no contact of Carol's: depositing recipient-pays mail costs her nothing.
    const mallory = await make('mallory');
    await mallory.addContact('carol', carol.address());
    const sent = await mallory.send('carol', { text: 'pay me' }, { mode: 'recipient-pays', ...SEND });
    const e = (await carol.inbox()).entries.find((x) => x.id === sent.id)!;
    assert.equal(e.verified, false);
    const before = await holdings(carol);
    // Were a payment started anyway, the read is stopped there (it would wait for a confirmation).
    const ac = new AbortController();
    const lines: string[] = [];
    await assert.rejects(carol.read(e.id, { maxPrice: sent.price, signal: ac.signal, onProgress: (line) => (lines.push(line), ac.abort()) }), rejectsWith('UNKNOWN_SENDER'));
    assert.deepEqual(lines, [], 'no payment was started');
    assert.equal(await holdings(carol), before, 'nothing left her wallet');
    const entry = (await carol.inbox()).entries.find((x) => x.id === sent.id)!;
    assert.equal(entry.state, 'new', 'the message is still there to read once she says so');
    const progress: string[] = [];
    const read = await carol.read(e.id, {
      maxPrice: sent.price, payUnknownSender: true, pollMs: 200,
      onProgress: (line) => {
        progress.push(line);
        if (progress.length === 2) void mine(); // the payment is broadcast: confirm it
      },
    });
    assert.deepEqual(read.message, { kind: 'text', text: 'pay me' });
  });

  it('watch() yields a message deposited while it runs, once', async () => {
    const ac = new AbortController();
    const seen = carol.watch({ signal: ac.signal });
    const first = seen.next();
    const sent = await alice.send('carol', { text: 'live' }, { mode: 'recipient-pays', ...SEND });
    const got = await first;
    assert.equal(got.done, false);
    assert.equal(got.value!.id, sent.id);
    assert.equal(got.value!.from, 'alice');
    assert.equal(got.value!.state, 'new');
    ac.abort();
    assert.equal((await seen.next()).done, true);
  });

  it('refunds a sender-pays message nobody read once T has passed', async () => {
    const before = await holdings(alice);
    const sent = await alice.send('carol', { file: { name: 'a.txt', mediaType: 'text/plain', data: new TextEncoder().encode('never read') } }, { mode: 'sender-pays', ...SEND });
    await mine();
    await alice.syncContracts();
    const tip = chain.devnet.tip().height;
    await mine(sent.locktime - tip);
    await alice.syncContracts(); // broadcasts the stored refund
    await mine();
    await alice.syncContracts();
    const refunded = alice.outbox().find((m) => m.id === sent.id)!;
    assert.equal(refunded.state, 'refunded');
    assert.equal(refunded.content?.kind === 'file' && new TextDecoder().decode(refunded.content.data), 'never read', 'a file sent is kept too');
    const history = await alice.history();
    const funding = history.find((h) => h.txid === sent.fundingTxid)!;
    const refund = history.find((h) => h.txid !== funding.txid && h.received < sent.price && h.received > sent.price - 500)!;
    assert.ok(refund, 'the refund paid the contract back to the wallet');
    const refundFee = sent.price - refund.received;
    assert.ok(refundFee > 0 && refundFee < 500, `refund fee ${refundFee}`);
    assert.equal(before - (await holdings(alice)), funding.fee! + refundFee, 'only the funding and refund fees are lost');
  });

  it('a crash between deposit and funding: resume() funds the deposited message', async () => {
    let crash = true;
    const erin = await make('erin', {
      failpoint: (n) => {
        if (crash && n === 'after-deposit') throw new Error('simulated crash');
      },
    });
    await erin.addContact('carol', carol.address());
    chain.fund(erin.walletAddress(), 50_000);
    await assert.rejects(erin.send('carol', { text: 'crash test' }, { mode: 'sender-pays', ...SEND }), /simulated crash/);
    assert.equal(erin.outbox()[0]!.state, 'deposited');
    await erin.close();
    crash = false;
    const again = await Client.open({ dir: join(tmp.dir, 'erin'), passphrase: 'pw-erin' });
    open.push(again);
    const { sends } = await again.resume();
    assert.deepEqual(sends.map((s) => s.error), [undefined]);
    const m = again.outbox()[0]!;
    assert.equal(m.state, 'funded');
    assert.match(m.fundingTxid!, /^[0-9a-f]{64}$/);
    // What she wrote is kept with the sent message, across the crash and the reopen.
    assert.deepEqual(m.content, { kind: 'text', text: 'crash test' });
  });

  it('a send aborted at each step, then the same send again, is finished once and paid once', async () => {
    let abortAt: string | undefined;
    let ac = new AbortController();
    const gina = await make('gina', { failpoint: (n) => n === abortAt && ac.abort() });
    await gina.addContact('carol', carol.address());
    chain.fund(gina.walletAddress(), 50_000);
    await mine();
    for (const step of ['after-draft', 'after-seal', 'after-deposit']) {
      const text = { text: `aborted ${step}` };
      const before = await holdings(gina);
      const listed = (await carol.inbox()).entries.map((e) => e.id);
      ac = new AbortController();
      abortAt = step;
      await assert.rejects(gina.send('carol', text, { mode: 'sender-pays', ...SEND, signal: ac.signal }), (err: unknown) => {
        rejectsWith('SEND_INTERRUPTED')(err);
        assert.deepEqual(Object.keys((err as ClientError).details!), [step === 'after-draft' ? 'draft' : 'id']);
        return true;
      });
      abortAt = undefined;
      const again = await gina.send('carol', text, { mode: 'sender-pays', ...SEND });
      assert.equal(again.repeat, 'finished', step);
      assert.equal(again.state, 'funded', step);
      assert.equal(gina.outbox().filter((m) => m.id === again.id).length, 1);
      assert.equal(gina.outbox().length, ['after-draft', 'after-seal', 'after-deposit'].indexOf(step) + 1, `${step}: one message per intent`);
      await mine();
      const fresh = (await carol.inbox()).entries.map((e) => e.id).filter((id) => !listed.includes(id));
      assert.deepEqual(fresh, [again.id], `${step}: the relay holds it once`);
      const funding = (await gina.history()).find((h) => h.txid === again.fundingTxid)!;
      assert.equal(before - (await holdings(gina)), again.price + funding.fee!, `${step}: paid once`);
    }
  });

  it('read() of a full id not listed here yet asks only for what was stored after the last listing and stops once that message is stored; a prefix asks until a round finds nothing new', async () => {
    // A spy, not a mock: every listing still goes to the real relay; the calls and the ids listed are counted.
    const listPage = RelayClient.prototype.listPage;
    let lists = 0;
    const listed: string[] = [];
    RelayClient.prototype.listPage = async function (this: RelayClient, ...args: Parameters<RelayClient['listPage']>) {
      lists++;
      const page = await listPage.apply(this, args);
      listed.push(...page.messages.map((m) => m.id));
      return page;
    };
    try {
      await carol.inbox();
      const older = carol.storedInbox().map((e) => e.id);
      assert.ok(older.length > 0, 'earlier tests left messages under her introduction tag');
      const first = await alice.send('carol', { text: 'read by its full id' }, { mode: 'sender-pays', ...SEND });
      const second = await alice.send('carol', { text: 'read by a prefix' }, { mode: 'sender-pays', ...SEND });
      await mine();
      lists = 0;
      listed.length = 0;
      assert.deepEqual((await carol.read(first.id)).message, { kind: 'text', text: 'read by its full id' });
      const byId = lists;
      assert.deepEqual(listed.sort(), [first.id, second.id].sort(), 'only the messages stored after her last listing were listed');
      // The second was listed by the same round: the prefix read finds it stored, asking nobody.
      assert.equal(carol.storedInbox().find((e) => e.id === second.id)?.state, 'new');
      const third = await alice.send('carol', { text: 'read by a prefix' }, { mode: 'sender-pays', ...SEND, again: true });
      await mine();
      lists = 0;
      assert.deepEqual((await carol.read(third.id.slice(0, 16))).message, { kind: 'text', text: 'read by a prefix' });
      const byPrefix = lists;
      assert.ok(byId > 0 && byId < byPrefix, `a full id took ${byId} listing(s), a prefix ${byPrefix}: the full id must stop after the round that found it`);
      // Nothing was lost by stopping early: the next inbox() lists every message.
      const { entries } = await carol.inbox();
      for (const m of [first, second, third]) assert.ok(entries.some((e) => e.id === m.id), `message ${m.id} is in the inbox`);
    } finally {
      RelayClient.prototype.listPage = listPage;
    }
  });

  it('inbox leaves out a message whose sealed header does not open, naming it as a problem', async () => {
    const rc = new RelayClient(relay.url);
    const mailbox = hex.decode(carolMailbox());
    const quote = await rc.quote({ offerId: rnd(16), tag: mailbox, mode: 'recipient-pays', size: 300, maxFee: 5000, retentionSecs: 3600, createdAt: Date.now() });
    await rc.deposit({ quoteId: quote.quoteId, tag: mailbox, sealedHeader: rnd(200), body: rnd(300), hr: undefined, funding: undefined });
    const before = (await carol.inbox()).entries.length;
    const { entries, problems } = await carol.inbox();
    assert.equal(entries.length, before, 'the forged message is not in the inbox');
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.error instanceof ClientError && problems[0]!.error.code === 'BAD_RELAY_ANSWER');
    assert.match((problems[0]!.error as Error).message, /sealed header fails/);
  });

  it('refuses an unknown contact, an unaffordable message and a price above maxFee', async () => {
    await assert.rejects(alice.send('nobody', { text: 'x' }), rejectsWith('UNKNOWN_CONTACT'));
    const poor = await make('poor');
    await poor.addContact('carol', carol.address());
    await assert.rejects(poor.send('carol', { text: 'x' }, { mode: 'sender-pays', ...SEND }), rejectsWith('INSUFFICIENT_FUNDS'));
    assert.deepEqual(poor.outbox(), [], 'nothing was deposited');
    await assert.rejects(alice.send('carol', { text: 'x' }, { mode: 'recipient-pays', maxFee: 10, retentionDays: 0.1 }), (err: unknown) => {
      rejectsWith('NO_ACCEPTABLE_QUOTE')(err);
      assert.ok(typeof (err as ClientError).details?.cheapest === 'number');
      return true;
    });
    await assert.rejects(carol.read('abcdef'), rejectsWith('MESSAGE_NOT_FOUND'));
  });
});
