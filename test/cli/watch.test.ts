// `satpost inbox --watch` as a separate process while its relay restarts: the watch says the relay
// went away and that it watches again, waits out the relay being unreachable (a
// line each time, never an exit), and the message sent once the relay is back is printed once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { baseEnv, devPost, json, run, start, startDevnet, startRelay, type Listening } from './helpers.ts';

const LIMITS = ['--max-fee', '5000', '--retention-days', '0.1', '--no-channel'];

/** Everything a child printed so far, and a wait for a line of it (whenever it was printed). */
function recorder(child: ChildProcess) {
  const seen = { stdout: '', stderr: '' };
  const waits: (() => void)[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.on('data', (d: Buffer) => {
      seen[stream] += d.toString();
      for (const w of [...waits]) w();
    });
  }
  return {
    seen,
    printed(stream: 'stdout' | 'stderr', re: RegExp): Promise<void> {
      if (re.test(seen[stream])) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!re.test(seen[stream])) return;
          waits.splice(waits.indexOf(check), 1);
          resolve();
        };
        waits.push(check);
        child.once('exit', (code) => reject(new Error(`exited (${code}) before printing ${re}: ${seen.stderr}`)));
      });
    },
  };
}

describe('satpost inbox --watch across a relay restart (processes)', { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-cliwatch-'));
  const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
  const envOf = (who: 'alice' | 'carol') => baseEnv({ SATPOST_PASSPHRASE: `${who} pw` });
  const as = (who: 'alice' | 'carol', args: string[]) => run([...args, '--data-dir', dirs[who]], envOf(who));
  let devnet: Listening;
  let relay: Listening;
  let watching: ChildProcess | undefined;
  const mine = () => devPost<unknown>(devnet.url, '/dev/mine', { blocks: 1 });

  before(async () => {
    devnet = await startDevnet(join(root, 'chain'));
    relay = await startRelay(join(root, 'relay'), devnet.url);
  });
  after(async () => {
    if (watching?.exitCode === null) watching.kill('SIGKILL');
    for (const p of [relay, devnet]) {
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('says the relay went away, watches again until it is back, and prints the next message once', async () => {
    const [ai, ci] = await Promise.all([
      as('alice', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
      as('carol', ['init', '--relay', relay.url, '--chain', devnet.url, '--json']),
    ]);
    assert.equal((await as('alice', ['contact', 'add', 'carol', json<{ address: string }>(ci).address])).code, 0);
    assert.equal((await as('carol', ['contact', 'add', 'alice', json<{ address: string }>(ai).address])).code, 0);
    await devPost(devnet.url, '/dev/faucet', { address: json<{ address: string }>(await as('alice', ['wallet', 'address', '--json'])).address, sats: 100_000 });
    await mine();

    const watch = start(['inbox', '--watch', '--data-dir', dirs.carol], envOf('carol'));
    watching = watch.child;
    const out = recorder(watch.child);
    await out.printed('stderr', /watching your relays for new messages \(Ctrl-C to stop; nothing is lost\)\n/);

    const port = new URL(relay.url).port;
    relay.child.kill('SIGTERM');
    await relay.exited;
    // The watch ends (the subscription closed, or the relay refused the next request) and starts again.
    await out.printed('stderr', /(a relay closed the subscription|ECONNREFUSED)[^\n]*; watching again in 1 s \(Ctrl-C to stop; nothing is lost\)\n/);
    // Still down at the next try: a line, and the watch goes on.
    await out.printed('stderr', /ECONNREFUSED[^\n]*; watching again in 2 s \(Ctrl-C to stop; nothing is lost\)\n/);
    assert.equal(watch.child.exitCode, null, 'the watch waits for the relay');

    relay = await startRelay(join(root, 'relay'), devnet.url, ['--port', port]);
    assert.equal(relay.url, `http://127.0.0.1:${port}`);
    const sent = await as('alice', ['send', 'carol', 'after the restart', ...LIMITS, '--json']);
    const id = json<{ sent: { id: string } }>(sent).sent.id;
    await mine();
    await out.printed('stdout', new RegExp(id.slice(0, 12)));

    watch.child.kill('SIGINT');
    const done = await watch.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(out.seen.stdout.split(id.slice(0, 12)).length - 1, 1, `the message is printed once: ${out.seen.stdout}`);
  });
});
