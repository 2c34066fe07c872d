// `satpost inbox --watch` as a separate process while its relay restarts: the watch says the relay
// went away and that it watches again, waits out the relay being unreachable (a
// line each time, never an exit), and the message sent once the relay is back is printed once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aliceAndCarol, baseEnv, devPost, json, run, start, startDevnet, startRelay, type Listening } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1', '--no-channel'];

describe('satpost inbox --watch across a relay restart (processes)', { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-cliwatch-'));
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const envOf = (who: 'alice' | 'carol') => baseEnv({ SATPOST_PASSPHRASE: `${who} pw` });
  const as = (who: 'alice' | 'carol', args: string[]) => run([...args, '--data-dir', dirs[who]], envOf(who));
  let devnet: Listening;
  let relay: Listening;
  let watching: ReturnType<typeof start> | undefined;
  let passed = false;
  const mine = () => devPost<unknown>(devnet.url, '/dev/mine', { blocks: 1 });

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(join(root, 'relay'), devnet.url);
  });
  after(async () => {
    // A failed or timed-out run says what the watch and the relay printed: the step it stopped at.
    if (!passed && watching) process.stderr.write(`watch stdout:\n${watching.seen.stdout}\nwatch stderr:\n${watching.seen.stderr}\nrelay stderr:\n${relay.stderr()}\n`);
    if (watching?.child.exitCode === null) watching.child.kill('SIGKILL');
    for (const p of [relay, devnet]) {
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('says the relay went away, watches again until it is back, and prints the next message once', async () => {
    await aliceAndCarol(as, relay.url, devnet.url);

    const watch = start(['inbox', '--watch', '--data-dir', dirs.carol], envOf('carol'));
    watching = watch;
    await watch.printed('stderr', /watching your relays for new messages \(Ctrl-C to stop; nothing is lost\)\n/);

    const port = new URL(relay.url).port;
    relay.child.kill('SIGTERM');
    await relay.exited;
    // The watch ends (the subscription closed, or the relay refused the next request) and starts again.
    await watch.printed('stderr', /; watching again in 1 s \(Ctrl-C to stop; nothing is lost\)\n/);
    // Still down at the next try: a line, and the watch goes on.
    await watch.printed('stderr', /ECONNREFUSED[^\n]*; watching again in 2 s \(Ctrl-C to stop; nothing is lost\)\n/);
    assert.equal(watch.child.exitCode, null, 'the watch waits for the relay');

    relay = await startRelay(join(root, 'relay'), devnet.url, ['--port', port]);
    assert.equal(relay.url, `http://127.0.0.1:${port}`);
    const sent = await as('alice', ['send', 'carol', 'after the restart', ...LIMITS, '--json']);
    const id = json<{ sent: { id: string } }>(sent).sent.id;
    await mine();
    await watch.printed('stdout', new RegExp(id.slice(0, 12)));

    watch.child.kill('SIGINT');
    const done = await watch.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(watch.seen.stdout.split(id.slice(0, 12)).length - 1, 1, `the message is printed once: ${watch.seen.stdout}`);
    passed = true;
  });
});
