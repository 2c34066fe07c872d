// Everyday use as processes (#15): `satpost relays list|add|remove` on a user's own relays,
// `wallet history` rows that say what they paid for (and no drafts), `outbox` states and prices
// of recipient-pays messages, `inbox` times and previews. A devnet, two relay processes, and
// users as separate processes on separate data directories.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, devPost, json, run, startDevnet, startRelay, type Listening, type Run } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1'];

type Who = 'alice' | 'carol' | 'dave' | 'erin';
interface Sent { id: string; state: string; price: number; mode: string; fundingTxid?: string }
interface Entry { id: string; mode: string; state: string; depositedAt: number; sentAt?: number }
interface Purpose { kind: string; messageId?: string; contact?: string; direction?: string }
interface Row { txid: string; state: string; net: number; own: boolean; purposes: Purpose[] }
interface RelayStatus { url: string; reachable: boolean; relayId?: string; error?: { code: string } }
interface Change { relays: string[]; address: string; published?: { relays: { url: string; error?: unknown }[] }; note: string }

const errorOf = (r: Run): { code: string; message: string } => {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  return (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
};

/** A 127.0.0.1 port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('satpost everyday use (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-everyday-'));
  const dir = (who: Who) => join(root, who);
  const as = (who: Who, args: string[]) => run([...args, '--data-dir', dir(who)], baseEnv({ SATPOST_PASSPHRASE: `${who} pw` }));
  let devnet: Listening;
  let relay: Listening;
  let relay2: Listening | undefined;
  const mine = (blocks = 1) => devPost<unknown>(devnet.url, '/dev/mine', { blocks });

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(join(root, 'relay'), devnet.url);
  });
  after(async () => {
    for (const p of [relay2, relay, devnet]) {
      if (!p || p.child.exitCode !== null) continue;
      p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('relays list, add and remove: checked URLs, a relay that must answer, never the last, prekeys republished, the new address', async () => {
    json(await as('dave', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']));
    const r1 = `${relay.url}/`;
    const configRelays = () => (JSON.parse(readFileSync(join(dir('dave'), 'config.json'), 'utf8')) as { relays: string[] }).relays;
    const before = json<{ address: string }>(await as('dave', ['address', '--json'])).address;

    const listed = json<{ relays: RelayStatus[] }>(await as('dave', ['relays', 'list', '--json'])).relays;
    assert.equal(listed.length, 1);
    assert.deepEqual({ url: listed[0]!.url, reachable: listed[0]!.reachable }, { url: r1, reachable: true });
    assert.match(listed[0]!.relayId!, /^[0-9a-f]{64}$/);

    // Refusals: nothing is saved by any of them.
    assert.equal(errorOf(await as('dave', ['relays', 'add', 'ftp://relay.example', '--json'])).code, 'BAD_RELAY_URL');
    assert.equal(errorOf(await as('dave', ['relays', 'add', 'not a url', '--json'])).code, 'BAD_RELAY_URL');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = errorOf(await as('dave', ['relays', 'add', dead, '--json']));
    assert.equal(unreachable.code, 'RELAY_UNREACHABLE');
    assert.match(unreachable.message, /did not answer its information document .*nothing was changed/);
    // Something that answers HTTP but is no relay (the devnet's Esplora API).
    const notRelay = errorOf(await as('dave', ['relays', 'add', devnet.url, '--json']));
    assert.ok(['BAD_RELAY_ANSWER', 'RELAY_UNREACHABLE'].includes(notRelay.code), notRelay.code);
    assert.equal(errorOf(await as('dave', ['relays', 'add', relay.url, '--json'])).code, 'RELAY_EXISTS');
    const last = await as('dave', ['relays', 'remove', relay.url]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /^error \[LAST_RELAY\]: .* is your only relay: .*; add the new relay first \(`satpost relays add URL`\), then remove this one\n$/);
    assert.equal(errorOf(await as('dave', ['relays', 'remove', dead, '--json'])).code, 'UNKNOWN_RELAY');
    assert.deepEqual(configRelays(), [r1]);
    assert.equal(json<{ address: string }>(await as('dave', ['address', '--json'])).address, before);

    // Add a second relay: published at both, a new address carrying both hints.
    relay2 = await startRelay(join(root, 'relay2'), devnet.url);
    const r2 = `${relay2.url}/`;
    const added = json<Change>(await as('dave', ['relays', 'add', relay2.url, '--json']));
    assert.deepEqual(added.relays, [r1, r2]);
    assert.deepEqual(configRelays(), [r1, r2]);
    assert.notEqual(added.address, before);
    assert.deepEqual(added.published!.relays.map((r) => [r.url, r.error]), [[r1, undefined], [r2, undefined]]);
    assert.match(added.note, /contacts keep the address they have/);
    assert.equal(json<{ address: string }>(await as('dave', ['address', '--json'])).address, added.address, 'address prints the new one');
    const erinInit = await as('erin', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']);
    json(erinInit);
    const shown = json<{ contact: { relayHints: string[] } }>(await as('erin', ['contact', 'add', 'dave', added.address, '--json'])).contact;
    assert.deepEqual(shown.relayHints, [r1, r2], 'the address carries both relays as hints');

    // The second relay goes down: list says so (text and JSON), exit 0.
    relay2.child.kill('SIGTERM');
    await relay2.exited;
    const down = await as('dave', ['relays', 'list']);
    assert.equal(down.code, 0, down.stderr);
    const lines = down.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, new RegExp(`^${r1.replace(/[.]/g, '\\.')}  reachable  [0-9a-f]{16}…`));
    assert.match(lines[1]!, new RegExp(`^${r2.replace(/[.]/g, '\\.')}  UNREACHABLE  \\[RELAY_UNREACHABLE\\] `));
    assert.deepEqual(json<{ relays: RelayStatus[] }>(await as('dave', ['relays', 'list', '--json'])).relays.map((r) => r.reachable), [true, false]);

    // Remove the dead one: back to one relay, the address back to its first form.
    const removed = await as('dave', ['relays', 'remove', relay2.url]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`^removed ${relay2.url.replace(/[.]/g, '\\.')}; your relays: ${r1.replace(/[.]/g, '\\.')}\\n  ${r1.replace(/[.]/g, '\\.')}: prekeys published \\([0-9]+ one-time\\)\\nyour new address \\(give it to your contacts\\):\\n${before}\\nnote: your contacts keep`));
    assert.deepEqual(configRelays(), [r1]);
  });

  it('an insecure relay URL is refused outside regtest before any connection', async () => {
    const init = await run(['init', '--network', 'signet', '--relay', 'https://127.0.0.1:1', '--chain', 'https://127.0.0.1:1', '--data-dir', join(root, 'signet'), '--json'], baseEnv({ SATPOST_PASSPHRASE: 'pw', SATPOST_SCRYPT_LOG2N: undefined }));
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const r = await run(['relays', 'add', 'http://relay.example.org', '--data-dir', join(root, 'signet'), '--json'], baseEnv({ SATPOST_PASSPHRASE: 'pw' }));
    assert.equal(errorOf(r).code, 'INSECURE_RELAY_URL');
  });

  it('history says what each row paid for, with no drafts; outbox and inbox of recipient-pays messages; inbox times and previews', async () => {
    const [ai, ci] = await Promise.all([
      as('alice', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
      as('carol', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
    ]);
    const aliceAddr = json<{ address: string }>(ai).address;
    const carolAddr = json<{ address: string }>(ci).address;
    json(await as('alice', ['contact', 'add', 'carol', carolAddr, '--json']));
    json(await as('carol', ['contact', 'add', 'alice', aliceAddr, '--json']));
    for (const who of ['alice', 'carol'] as const) {
      await devPost(devnet.url, '/dev/faucet', { address: json<{ address: string }>(await as(who, ['wallet', 'address', '--json'])).address, sats: 1_234_567 });
    }
    await mine();

    // Sender-pays with a text that needs cleaning for a one-line preview.
    const messy = 'first line\nsecond\tline\u0007 with a bell\u202e and a long tail that goes on past sixty characters';
    const sp = json<{ sent: Sent }>(await as('alice', ['send', 'carol', messy, ...LIMITS, '--json'])).sent;
    const rp = json<{ sent: Sent }>(await as('alice', ['send', 'carol', 'pay to read me', '--mode', 'recipient-pays', ...LIMITS, '--json'])).sent;
    assert.equal(rp.state, 'deposited');
    await mine();

    // Outbox: no price on the recipient-pays line; stored, not yet delivered.
    const out1 = await as('alice', ['outbox']);
    assert.equal(out1.code, 0, out1.stderr);
    const rpLine = out1.stdout.split('\n').find((l) => l.startsWith(rp.id.slice(0, 12)))!;
    assert.equal(rpLine, `${rp.id.slice(0, 12)}  to carol  recipient-pays  deposited`);
    const spLine = out1.stdout.split('\n').find((l) => l.startsWith(sp.id.slice(0, 12)))!;
    assert.match(spLine, / {2}sender-pays {2}[0-9,]+ sat \(price [0-9,]+ sat \+ funding fee [0-9,]+ sat\) {2}funded$/);

    // Inbox before reading: times, no preview.
    const inbox1 = await as('carol', ['inbox']);
    assert.equal(inbox1.code, 0, inbox1.stderr);
    const entryLines = inbox1.stdout.trimEnd().split('\n');
    assert.equal(entryLines.length, 2, inbox1.stdout);
    for (const l of entryLines) assert.match(l, /^[0-9a-f]{12} {2}(just now|[0-9]+ min ago) {2}from alice {2}/);
    const listed = json<{ messages: Entry[] }>(await as('carol', ['inbox', '--json'])).messages;
    const now = Date.now();
    for (const e of listed) assert.ok(e.depositedAt > now - 10 * 60_000 && e.depositedAt <= now, `depositedAt ${e.depositedAt}`);

    // Carol reads both (she pays for the recipient-pays one).
    assert.equal((await as('carol', ['read', sp.id])).code, 0);
    await mempoolHolds(devnet.url); // the relay's claim of the sender-pays contract
    await mine();
    const reading = as('carol', ['read', rp.id, '--json']);
    await mempoolHolds(devnet.url); // Carol's funding
    await mine();
    json(await reading);
    await mine(); // the relay's claim

    const inbox2 = await as('carol', ['inbox']);
    const after = inbox2.stdout.trimEnd().split('\n');
    const spAt = after.findIndex((l) => l.startsWith(sp.id.slice(0, 12)));
    assert.match(after[spAt]!, / read {2}until /);
    assert.equal(after[spAt + 1], '    "first line second line with a bell and a long tail that goe…"');
    const rpAt = after.findIndex((l) => l.startsWith(rp.id.slice(0, 12)));
    assert.equal(after[rpAt + 1], '    "pay to read me"');

    // Outbox: the recipient-pays message is delivered once the relay lists it unlocked.
    const outbox = json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages;
    assert.equal(outbox.find((m) => m.id === rp.id)!.state, 'delivered');
    assert.equal(outbox.find((m) => m.id === sp.id)!.state, 'delivered');

    // A payment to an address (Carol's wallet), confirmed.
    const carolWallet = json<{ address: string }>(await as('carol', ['wallet', 'address', '--json'])).address;
    const paid = json<{ sent: { txid: string } }>(await as('alice', ['wallet', 'send', carolWallet, '12345', '--fee-rate', '2', '--json'])).sent;
    await mine();

    // History: every row says what it was for; no draft (abandoned) rows.
    const aliceRows = json<{ history: Row[] }>(await as('alice', ['wallet', 'history', '--json'])).history;
    assert.equal(aliceRows.filter((h) => h.state === 'abandoned').length, 0);
    assert.deepEqual(aliceRows.map((h) => h.purposes.map((p) => p.kind).join(',')), ['receive', 'message', 'send']);
    assert.deepEqual(aliceRows[2]!.purposes, [{ kind: 'send', to: [{ address: carolWallet, amount: 12_345 }] }]);
    assert.equal(aliceRows[2]!.txid, paid.txid);
    assert.deepEqual(aliceRows[1]!.purposes[0], { kind: 'message', messageId: sp.id, contact: 'carol', direction: 'to' });
    assert.equal(aliceRows[1]!.txid, sp.fundingTxid);
    const carolRows = json<{ history: Row[] }>(await as('carol', ['wallet', 'history', '--json'])).history;
    assert.deepEqual(carolRows.map((h) => h.purposes[0]), [{ kind: 'receive' }, { kind: 'message', messageId: rp.id, contact: 'alice', direction: 'from' }, { kind: 'receive' }]);
    const text = await as('alice', ['wallet', 'history']);
    const [faucet, funding, payment] = text.stdout.trimEnd().split('\n');
    assert.match(payment!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +-12,[0-9]{3} sat  sent 12,345 sat to ${carolWallet} \\(fee [0-9,]+ sat\\)  ${paid.txid}$`));
    assert.match(faucet!, /^\d{4}-\d\d-\d\d \d\d:\d\d  +\+1,234,567 sat {2}received {2}[0-9a-f]{64}$/);
    assert.match(funding!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  +-[0-9,]+ sat  message ${sp.id.slice(0, 12)} to carol \\(fee [0-9,]+ sat\\)  ${sp.fundingTxid}$`));
    const carolText = (await as('carol', ['wallet', 'history'])).stdout;
    assert.match(carolText, new RegExp(`paid to read message ${rp.id.slice(0, 12)} from alice`));
  });
});

/** Re-asks the devnet until its mempool holds a transaction (each check a real request; no sleep decides the outcome). */
async function mempoolHolds(chain: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (((await (await fetch(`${chain}/mempool/txids`)).json()) as string[]).length > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no transaction reached the mempool within 60 s');
}
