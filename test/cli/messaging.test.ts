// `satpost send | inbox | read | outbox` as users run them: a devnet process, a relay process,
// and Alice and Carol as separate processes on separate data directories. Every assertion is
// on what a person or a script sees (stdout, stderr, exit code) and on the wallets' balances.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, devPost, json, run, startDevnet, startRelay, type Listening } from './helpers.ts';

const TEXT = 'Hi Carol, the keys are under the blue pot. -- Alice';
const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1'];


interface Sent { id: string; state: string; price: number; locktime: number; fundingTxid?: string; mode: string }
interface Entry { id: string; from: string; verified: boolean; mode: string; price: number; state: string; message?: { kind: string; text?: string } }

describe('satpost messaging (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-climsg-'));
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const as = (who: 'alice' | 'carol', args: string[], extra: Record<string, string | undefined> = {}) =>
    run([...args, '--data-dir', dirs[who]], baseEnv({ SATPOST_PASSPHRASE: `${who} pw`, ...extra }));
  let devnet: Listening;
  let relay: Listening;
  const mine = (blocks = 1) => devPost<unknown>(devnet.url, '/dev/mine', { blocks });
  const tip = async () => Number(await (await fetch(`${devnet.url}/blocks/tip/height`)).text());
  const balance = async (who: 'alice' | 'carol') => {
    const b = json<{ balance: { confirmed: number; unconfirmed: number; reserved: number } }>(await as(who, ['wallet', 'balance', '--json'])).balance;
    return b.confirmed + b.unconfirmed + b.reserved;
  };

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(join(root, 'relay'), devnet.url);
  });
  after(async () => {
    for (const p of [relay, devnet]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('init publishes, send and read in both modes, a refund, a crash after the deposit, and the refusals', async () => {
    const [ai, ci] = await Promise.all([
      as('alice', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
      as('carol', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
    ]);
    const aliceInit = json<{ address: string; publishedAt: string[] }>(ai);
    const carolInit = json<{ address: string; publishedAt: string[] }>(ci);
    assert.deepEqual(carolInit.publishedAt, [`${relay.url}/`], 'init published the prekeys at her relay');
    assert.equal(ci.stderr, '');

    const [addC, addA] = await Promise.all([as('alice', ['contact', 'add', 'carol', carolInit.address]), as('carol', ['contact', 'add', 'alice', aliceInit.address])]);
    assert.equal(addC.code, 0, addC.stderr);
    assert.equal(addA.code, 0, addA.stderr);

    // Refusals a person meets first: a name that is no contact, and an empty wallet.
    const unknown = await as('alice', ['send', 'dave', 'hello']);
    assert.deepEqual(unknown, {
      code: 1, stdout: '',
      stderr: 'asking relays for quotes...\nerror [UNKNOWN_CONTACT]: no contact named "dave"; see `satpost contact list`, or add her with `satpost contact add NAME ADDRESS`\n',
    });
    const poor = await as('alice', ['send', 'carol', TEXT, ...LIMITS, '--json']);
    assert.equal(poor.code, 1);
    const poorErr = (JSON.parse(poor.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(poorErr.code, 'INSUFFICIENT_FUNDS');
    assert.deepEqual(json<{ messages: unknown[] }>(await as('alice', ['outbox', '--json'])).messages, [], 'nothing was deposited');

    const [wa, wc] = await Promise.all([as('alice', ['wallet', 'address', '--json']), as('carol', ['wallet', 'address', '--json'])]);
    for (const w of [wa, wc]) await devPost(devnet.url, '/dev/faucet', { address: json<{ address: string }>(w).address, sats: 100_000 });
    await mine();

    // Sender-pays: Alice pays on delivery; Carol reads for free with her receipt secret.
    const sent = json<{ sent: Sent }>(await as('alice', ['send', 'carol', TEXT, ...LIMITS, '--json'])).sent;
    assert.equal(sent.state, 'funded');
    assert.equal(sent.mode, 'sender-pays');
    await mine();
    const inbox = json<{ messages: Entry[] }>(await as('carol', ['inbox', '--json'])).messages;
    assert.equal(inbox.length, 1);
    assert.deepEqual(
      { id: inbox[0]!.id, from: inbox[0]!.from, verified: inbox[0]!.verified, mode: inbox[0]!.mode, price: inbox[0]!.price, state: inbox[0]!.state },
      { id: sent.id, from: 'alice', verified: true, mode: 'sender-pays', price: 0, state: 'new' },
    );
    const read = await as('carol', ['read', sent.id.slice(0, 12)]);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stdout, new RegExp(`^from alice, sent \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z; free to read \\(the sender paid\\)\\n${TEXT.replace(/[.]/g, '\\.')}\\n$`));
    await mine(); // the relay's claim publishing k
    const delivered = json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages;
    assert.equal(delivered.find((m) => m.id === sent.id)!.state, 'delivered');

    // Recipient-pays: Carol pays when she reads, once her payment confirms.
    const rp = json<{ sent: Sent }>(await as('alice', ['send', 'carol', 'PS: the cat eats at seven.', '--mode', 'recipient-pays', ...LIMITS, '--json'])).sent;
    assert.equal(rp.state, 'deposited');
    const tooHigh = await as('carol', ['read', rp.id, '--max-price', String(rp.price - 1)]);
    assert.equal(tooHigh.code, 1);
    assert.match(tooHigh.stderr, new RegExp(`^error \\[PRICE_TOO_HIGH\\]: reading ${rp.id.slice(0, 16)} costs ${rp.price} sats, more than your maximum of ${rp.price - 1}`));
    const carolBefore = await balance('carol');
    const reading = as('carol', ['read', rp.id, '--max-price', String(rp.price), '--json']);
    await waitFor(async () => ((await (await fetch(`${devnet.url}/mempool/txids`)).json()) as string[]).length > 0);
    await mine(); // confirms Carol's payment: the relay releases k
    const rpRead = json<{ message: Entry }>(await reading).message;
    assert.deepEqual(rpRead.message, { kind: 'text', text: 'PS: the cat eats at seven.' });
    await mine();
    const carolHistory = json<{ history: { txid: string; own: boolean; net: number; fee: number | null }[] }>(await as('carol', ['wallet', 'history', '--json'])).history;
    const paid = carolBefore - (await balance('carol'));
    const payment = carolHistory.find((h) => h.own && h.net === -paid)!;
    assert.ok(payment, `Carol's history shows the ${paid} sats she paid`);
    assert.equal(paid, rp.price + payment.fee!, 'Carol paid exactly the price and the funding fee');

    // A crash (SIGKILL) right after the deposit: the next command funds it.
    const crashed = await as('alice', ['send', 'carol', 'after the crash', ...LIMITS, '--json'], { SATPOST_FAILPOINT: 'after-deposit' });
    assert.equal(crashed.code, null, 'killed');
    assert.equal(crashed.stdout, '');
    const afterCrash = json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages.at(-1)!;
    assert.equal(afterCrash.state, 'funded');
    assert.match(afterCrash.fundingTxid!, /^[0-9a-f]{64}$/);

    // Nobody reads it before T: the sender's watcher refunds it; only the two fees are lost.
    await mine();
    const aliceBefore = await balance('alice');
    await mine(afterCrash.locktime - (await tip()));
    assert.equal(json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages.at(-1)!.state, 'funded'); // broadcasts the refund
    await mine();
    const final = json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages.at(-1)!;
    assert.equal(final.state, 'refunded');
    const aliceHistory = json<{ history: { txid: string; received: number }[] }>(await as('alice', ['wallet', 'history', '--json'])).history;
    const refund = aliceHistory.find((h) => h.received < afterCrash.price && h.received > afterCrash.price - 500)!;
    assert.ok(refund, 'the refund paid the contract back');
    assert.equal((await balance('alice')) - aliceBefore, refund.received, 'the refund returned the contract less its fee');
  });
});

/** Re-checks a condition until it holds (each check is a real request, no fixed sleep decides the outcome). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met within 60 s');
}
