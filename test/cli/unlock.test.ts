// `satpost unlock` / `satpost lock`: the session agent, as a user's shell runs them, and the
// sockets a command must refuse (not the user's, open to others) or ignore (stale).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { baseEnv, json, run } from './helpers.ts';

describe('satpost unlock agent (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-unlock-'));
  const dir = join(root, 'alice');
  const socket = join(dir, 'agent.sock');
  const withPw = baseEnv({ SATPOST_PASSPHRASE: 'alice pw' });
  const noPw = baseEnv();
  const sat = (args: string[], env = noPw) => run([...args, '--data-dir', dir], env);
  const errorCode = (r: { stdout: string }) => (JSON.parse(r.stdout) as { error: { code: string } }).error.code;

  before(async () => {
    // Never contacted: init and the address book work without a chain.
    json(await sat(['init', '--chain', 'http://127.0.0.1:9', '--json'], withPw));
  });
  after(async () => {
    await sat(['lock']);
    rmSync(root, { recursive: true, force: true });
  });

  it('unlock, then a command that needs the secret keys runs without a passphrase; lock, and it asks again', async () => {
    assert.equal(errorCode(await sat(['contact', 'list', '--json'])), 'PASSPHRASE_REQUIRED');
    const wrong = await sat(['unlock', '--json'], baseEnv({ SATPOST_PASSPHRASE: 'not it' }));
    assert.equal(errorCode(wrong), 'WRONG_PASSPHRASE');
    assert.equal(existsSync(socket), false, 'a wrong passphrase started an agent');

    const unlocked = json<{ unlocked: string; until: string }>(await sat(['unlock', '--for', '10m', '--json'], withPw));
    assert.equal(unlocked.unlocked, dir);
    const s = lstatSync(socket);
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
    assert.deepEqual(json(await sat(['contact', 'list', '--json'])), { contacts: [] });
    assert.match(json<{ address: string }>(await sat(['wallet', 'address', '--json'])).address, /^bcrt1q/);

    assert.deepEqual(await sat(['lock']), { code: 0, stdout: `locked ${dir}\n`, stderr: '' });
    assert.equal(existsSync(socket), false);
    assert.equal(errorCode(await sat(['contact', 'list', '--json'])), 'PASSPHRASE_REQUIRED');
    assert.deepEqual(await sat(['lock']), { code: 0, stdout: `${dir} was not unlocked\n`, stderr: '' });
  });

  it('an impostor socket (open to others, or owned by another user) is refused and never asked', async () => {
    await sat(['lock']);
    rmSync(socket, { force: true });
    // A listener that would hand out a passphrase of its choosing to whoever connects.
    let asked = 0;
    const conns = new Set<Socket>();
    const impostor = createServer((c) => {
      asked++;
      conns.add(c);
      c.end(JSON.stringify({ passphrase: 'alice pw' }) + '\n');
    });
    impostor.listen(socket);
    await once(impostor, 'listening');
    try {
      chmodSync(socket, 0o666);
      const open = await sat(['contact', 'list', '--json']);
      assert.equal(open.code, 1);
      assert.equal(errorCode(open), 'AGENT_UNSAFE');

      chmodSync(socket, 0o600);
      // Another user's socket: only root can make one here (the test machine runs as root).
      if (process.getuid!() === 0) {
        chownSync(socket, 65534, 65534);
        assert.equal(errorCode(await sat(['contact', 'list', '--json'])), 'AGENT_UNSAFE');
      }
      assert.equal(asked, 0, 'the command talked to a socket it should have refused');
    } finally {
      const closed = once(impostor, 'close');
      impostor.close();
      for (const c of conns) c.destroy();
      await closed;
    }
  });

  it('a stale socket (its agent killed) is ignored, and the next unlock replaces it', async () => {
    await sat(['lock']);
    rmSync(socket, { force: true });
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await once(holder.stdout, 'data');
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.ok(lstatSync(socket).isSocket(), 'the killed listener should have left its socket file');

    assert.equal(errorCode(await sat(['contact', 'list', '--json'])), 'PASSPHRASE_REQUIRED');
    json(await sat(['unlock', '--json'], withPw));
    assert.deepEqual(json(await sat(['contact', 'list', '--json'])), { contacts: [] });
    assert.equal((await sat(['lock'])).code, 0);
  });
});
