// What a person or a script reads about money and waits, as separate processes: `send` states
// the price and the funding fee, and they add up to what the wallet was charged; `read` with
// the relay down ends within its --wait bound with WAIT_TIMEOUT (not a wait without end), its
// progress lines reach stderr when it is not a terminal, and the same read finishes later.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aliceAndCarol, baseEnv, devPost, json, run, startDevnet, startRelay, type Listening } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1', '--no-channel'];

describe('satpost money and waits (processes)', { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-climw-'));
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const as = (who: 'alice' | 'carol', args: string[]) => run([...args, '--data-dir', dirs[who]], baseEnv({ SATPOST_PASSPHRASE: `${who} pw` }));
  let devnet: Listening;
  let relay: Listening;
  const mine = (blocks = 1) => devPost<unknown>(devnet.url, '/dev/mine', { blocks });
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
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('send states price + funding fee = the charge; read with the relay down gives up within --wait, saying so on stderr', async () => {
    await aliceAndCarol(as, relay.url, devnet.url);

    const before = await balance('alice');
    const sent = await as('alice', ['send', 'carol', 'the price, the fee and the sum', ...LIMITS]);
    assert.equal(sent.code, 0, sent.stderr);
    const m = /you pay ([0-9,]+) sat \(price ([0-9,]+) sat \+ funding fee ([0-9,]+) sat\)/.exec(sent.stdout);
    assert.ok(m, `send states the total and its parts: ${sent.stdout}`);
    const [paid, price, fee] = [m[1], m[2], m[3]].map((s) => Number(s!.replace(/,/g, '')));
    assert.equal(price! + fee!, paid);
    assert.equal(before - (await balance('alice')), paid, 'the wallet was charged what send said');
    assert.match(sent.stderr, /^asking relays for quotes\.\.\.$/m, 'a progress line on stderr although it is not a terminal');

    await mine();
    const inbox = json<{ messages: { id: string }[] }>(await as('carol', ['inbox', '--json'])).messages;
    assert.equal(inbox.length, 1);
    relay.child.kill('SIGTERM');
    await relay.exited;

    // The relay is down: the read ends by itself, typed, and says what it waited for.
    const down = await as('carol', ['read', inbox[0]!.id, '--wait', '2']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /relay http:\/\/127\.0\.0\.1:[0-9]+ unreachable; watching the chain \(waiting up to 2 s; Ctrl-C is safe: run read again later\)\n/);
    assert.match(down.stderr, /^error \[WAIT_TIMEOUT\]: gave up waiting for the key of [0-9a-f]{16}… after 2 s .*; is the relay running\? nothing is lost/m);
    const downJson = await as('carol', ['read', inbox[0]!.id, '--wait', '1', '--json']);
    assert.equal(downJson.code, 1);
    assert.equal((JSON.parse(downJson.stdout) as { error: { code: string } }).error.code, 'WAIT_TIMEOUT');
    assert.equal(downJson.stderr, '', 'no progress lines with --json');
  });
});
