// Ctrl-C in `satpost send`, then the same command again (issue 13): the rerun finishes the
// saved message and sends no second one. Real processes: a devnet, a relay behind a real HTTP hop
// that can stop answering at one step (so the send is provably waiting there when Ctrl-C comes),
// Alice and Carol on their own data directories.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, devPost, json, run, start, startDevnet, startHoldingProxy, startRelay, type HoldingProxy, type Listening, type Run } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1'];

interface Sent { id: string; state: string; price: number; fundingTxid?: string; repeat?: string }
interface History { txid: string; net: number; fee: number | null }

describe('satpost send interrupted (processes)', { timeout: 900_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-sendresume-'));
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const env = (who: 'alice' | 'carol', extra: Record<string, string | undefined> = {}) => baseEnv({ SATPOST_PASSPHRASE: `${who} pw`, ...extra });
  const as = (who: 'alice' | 'carol', args: string[], extra: Record<string, string | undefined> = {}) => run([...args, '--data-dir', dirs[who]], env(who, extra));
  let devnet: Listening;
  let relay: Listening;
  let proxy: HoldingProxy;
  const mine = (blocks = 1) => devPost<unknown>(devnet.url, '/dev/mine', { blocks });
  const balance = async () => {
    const b = json<{ balance: { confirmed: number; unconfirmed: number; reserved: number } }>(await as('alice', ['wallet', 'balance', '--json'])).balance;
    return b.confirmed + b.unconfirmed + b.reserved;
  };
  const carolsMessages = async () => json<{ messages: { id: string }[] }>(await as('carol', ['inbox', '--json'])).messages.map((m) => m.id);
  const alicesMessages = async () => json<{ messages: Sent[] }>(await as('alice', ['outbox', '--json'])).messages;
  const fundingFee = async (txid: string) => {
    const history = json<{ history: History[] }>(await as('alice', ['wallet', 'history', '--json'])).history;
    return history.find((h) => h.txid === txid)!.fee!;
  };
  /** `satpost send` started while the relay holds requests under `prefix`; Ctrl-C once one is held. */
  const interruptedAt = async (prefix: string, args: string[]): Promise<Run> => {
    const held = proxy.hold(prefix);
    const send = start([...args, '--data-dir', dirs.alice], env('alice'));
    await Promise.race([held, send.done.then((r) => assert.fail(`the send ended before it reached ${prefix}: ${r.stdout}${r.stderr}`))]);
    send.child.kill('SIGINT');
    const r = await send.done;
    proxy.release();
    return r;
  };

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    // Everyone reaches the relay through the proxy, and its quotes name the proxy as its URL.
    proxy = await startHoldingProxy();
    relay = await startRelay(join(root, 'relay'), devnet.url, ['--set', `publicUrl=${proxy.url}`]);
    proxy.target = relay.url;
    const [ai, ci] = await Promise.all([
      as('alice', ['init', '--relay', proxy.url, '--chain', devnet.url, '--json']),
      as('carol', ['init', '--relay', proxy.url, '--chain', devnet.url, '--json']),
    ]);
    const carol = json<{ address: string }>(ci).address;
    json<{ address: string }>(ai);
    assert.equal((await as('alice', ['contact', 'add', 'carol', carol])).code, 0);
    await devPost(devnet.url, '/dev/faucet', { address: json<{ address: string }>(await as('alice', ['wallet', 'address', '--json'])).address, sats: 100_000 });
    await mine();
  });
  after(async () => {
    await proxy.close();
    for (const p of [relay, devnet]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('ctrl-c in send then the same command again pays once', async () => {
    const command = ['send', 'carol', 'see you at seven', ...LIMITS, '--json'];
    const before = await balance();

    // Ctrl-C while the relay has not answered the deposit: the quote is taken, the message sealed.
    const stopped = await interruptedAt('/v1/deposit', command);
    const again = await as('alice', command);
    await mine();
    const inbox = await carolsMessages();
    const outbox = await alicesMessages();
    assert.equal(inbox.length, 1, 'Carol holds exactly one message');
    assert.equal(outbox.length, 1, 'Alice sent exactly one message');
    const sent = json<{ sent: Sent }>(again).sent;
    assert.equal(sent.id, inbox[0]);
    assert.equal(before - (await balance()), sent.price + (await fundingFee(sent.fundingTxid!)), 'Alice paid once: one price and one funding fee');

    // What the person saw: the interruption said the message is saved; the rerun said it finishes it.
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.equal(stopped.stdout, '');
    assert.match(stopped.stderr, new RegExp(`^interrupted: the send to carol was interrupted; the message is saved \\(message ${sent.id}\\) and the next satpost command finishes it`, 'm'));
    assert.match(again.stderr, new RegExp(`^finishing the saved message to carol \\(id ${sent.id}\\)$`, 'm'));
    assert.equal(sent.state, 'funded');
  });

  it('ctrl-c while quoting, then the same command again: the saved draft is sent once', async () => {
    const command = ['send', 'carol', 'and bring the blue pot', ...LIMITS, '--json'];
    const before = await balance();
    const inboxBefore = await carolsMessages();

    const stopped = await interruptedAt('/v1/quote', command);
    assert.equal(stopped.code, 130, stopped.stderr);
    const draft = /^interrupted: the send to carol was interrupted; the message is saved \(not yet quoted, draft ([0-9a-f]{32})\)/m.exec(stopped.stderr);
    assert.ok(draft, stopped.stderr);

    // The next command (any: here the same one) finishes the draft first, then finds it sent.
    const again = await as('alice', command);
    assert.match(again.stderr, new RegExp(`^finishing the saved message to carol \\(not yet quoted, draft ${draft[1]}\\)$`, 'm'));
    const sent = json<{ sent: Sent }>(again).sent;
    await mine();
    const inbox = await carolsMessages();
    assert.deepEqual(inbox.filter((id) => !inboxBefore.includes(id)), [sent.id], 'Carol got this message once');
    assert.equal(before - (await balance()), sent.price + (await fundingFee(sent.fundingTxid!)), 'Alice paid once');

    // The same command once more sends nothing; --again is the way to say it twice.
    const third = await as('alice', command);
    assert.equal(json<{ sent: Sent }>(third).sent.id, sent.id);
    assert.equal(json<{ sent: Sent }>(third).sent.repeat, 'already-sent');
    assert.match(third.stderr, new RegExp(`^an identical message to carol \\(id ${sent.id}\\) was already sent; not sending it twice \\(--again sends another\\)$`, 'm'));
    const fourth = json<{ sent: Sent }>(await as('alice', [...command, '--again'])).sent;
    assert.notEqual(fourth.id, sent.id);
    assert.equal(fourth.repeat, undefined);
    await mine();
    assert.equal((await carolsMessages()).length, inbox.length + 1);
  });

  it('a crash right after the draft is saved: the next command sends it, and the same send again pays nothing more', async () => {
    const command = ['send', 'carol', 'crashed before the quote', ...LIMITS, '--json'];
    const sentBefore = (await alicesMessages()).length;
    const crashed = await as('alice', command, { SATPOST_FAILPOINT: 'after-draft' });
    assert.equal(crashed.code, null, 'killed');
    const listing = await as('alice', ['outbox', '--json']);
    assert.match(listing.stderr, /^finishing the saved message to carol \(not yet quoted, draft [0-9a-f]{32}\)$/m);
    const messages = json<{ messages: Sent[] }>(listing).messages;
    assert.equal(messages.length, sentBefore + 1);
    assert.equal(messages.at(-1)!.state, 'funded');
    const again = json<{ sent: Sent }>(await as('alice', command)).sent;
    assert.deepEqual([again.id, again.repeat], [messages.at(-1)!.id, 'already-sent']);
    assert.equal((await alicesMessages()).length, sentBefore + 1);
  });
});
