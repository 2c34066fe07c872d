// `satpost unlock` / `satpost lock`: the session agent, as a user's shell runs them: it holds
// the unsealed keys (a command derives nothing: SATPOST_TEST_SCRYPT_COUNT=1 makes each command
// print how many scrypt derivations it ran), for one data directory, until lock or its time is
// up; and the sockets a command must refuse (not the user's, open to others, another
// directory's agent) or ignore (stale).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdtempSync, rmSync, statSync, watch } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { baseEnv, json, run } from './helpers.ts';

describe('satpost unlock agent (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-unlock-'));
  const dir = join(root, 'alice');
  const bobDir = join(root, 'bob');
  const socket = join(dir, 'agent.sock');
  const withPw = baseEnv({ SATPOST_PASSPHRASE: 'alice pw' });
  const noPw = baseEnv();
  const sat = (args: string[], env = noPw) => run([...args, '--data-dir', dir], env);
  const errorCode = (r: { stdout: string }) => (JSON.parse(r.stdout) as { error: { code: string } }).error.code;
  /** What SATPOST_TEST_SCRYPT_COUNT=1 made the command report on stderr. */
  const derivations = (r: { stderr: string }) => Number(/scrypt derivations: ([0-9]+)/.exec(r.stderr)?.[1] ?? NaN);
  const counted = (extra: Record<string, string> = {}) => baseEnv({ SATPOST_TEST_SCRYPT_COUNT: '1', ...extra });

  before(async () => {
    // Never contacted: init and the address book work without a chain.
    json(await sat(['init', '--chain', 'http://127.0.0.1:9', '--json'], withPw));
    json(await run(['init', '--chain', 'http://127.0.0.1:9', '--json', '--data-dir', bobDir], baseEnv({ SATPOST_PASSPHRASE: 'bob pw' })));
  });
  after(async () => {
    await sat(['lock']);
    rmSync(root, { recursive: true, force: true });
  });

  it('with the agent unlocked a command reads no passphrase (a wrong one is ignored) and derives no key', async () => {
    // Locked: the passphrase unseals three secrets (data key, identity key, wallet seed).
    const locked = await sat(['contact', 'list', '--json'], counted({ SATPOST_PASSPHRASE: 'alice pw' }));
    assert.deepEqual(json(locked), { contacts: [] });
    assert.equal(derivations(locked), 3);

    json(await sat(['unlock', '--json'], withPw));
    for (const args of [['contact', 'list', '--json'], ['wallet', 'address', '--json'], ['outbox', '--json']]) {
      const r = await sat(args, counted({ SATPOST_PASSPHRASE: 'not the passphrase' }));
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(derivations(r), 0, `${args.join(' ')} derived a key with the agent unlocked`);
    }
    assert.equal((await sat(['lock'])).code, 0);
    // Locked again: the wrong passphrase is now the one used, and refused.
    assert.equal(errorCode(await sat(['contact', 'list', '--json'], baseEnv({ SATPOST_PASSPHRASE: 'not the passphrase' }))), 'WRONG_PASSPHRASE');
  });

  it('when its time is up the agent ends and commands ask again', async () => {
    json(await sat(['unlock', '--for', '1s', '--json'], withPw));
    // The agent removes its socket as it stops: wait for that (an event, not a sleep).
    const gone = new Promise<void>((resolve) => {
      const w = watch(dir, () => {
        if (!existsSync(socket)) {
          w.close();
          resolve();
        }
      });
      if (!existsSync(socket)) {
        w.close();
        resolve();
      }
    });
    await gone;
    assert.equal(errorCode(await sat(['contact', 'list', '--json'])), 'PASSPHRASE_REQUIRED');
    assert.deepEqual(await sat(['lock']), { code: 0, stdout: `${dir} was not unlocked\n`, stderr: '' });
  });

  it("the agent answers only for its own data directory: alice's agent behind bob's agent.sock is refused", async () => {
    json(await sat(['unlock', '--json'], withPw));
    const bobSocket = join(bobDir, 'agent.sock');
    // The same socket under bob's directory (a hard link: a socket moved or linked elsewhere).
    linkSync(socket, bobSocket);
    try {
      const r = await run(['contact', 'list', '--json', '--data-dir', bobDir], counted({ SATPOST_PASSPHRASE: 'bob pw' }));
      assert.equal(r.code, 1);
      assert.equal(errorCode(r), 'AGENT_WRONG_DIR');
      assert.equal(derivations(r), 0);
      // Alice's own commands are still served.
      assert.deepEqual(json(await sat(['contact', 'list', '--json'])), { contacts: [] });
    } finally {
      rmSync(bobSocket, { force: true });
      assert.equal((await sat(['lock'])).code, 0);
    }
    assert.deepEqual(json(await run(['contact', 'list', '--json', '--data-dir', bobDir], baseEnv({ SATPOST_PASSPHRASE: 'bob pw' }))), { contacts: [] });
  });

  it('unlock refuses a data directory other users can write to, before asking anything', async () => {
    chmodSync(dir, 0o770);
    try {
      const r = await sat(['unlock', '--json'], withPw);
      assert.equal(r.code, 1);
      assert.equal(errorCode(r), 'AGENT_UNSAFE');
      assert.equal(existsSync(socket), false);
    } finally {
      chmodSync(dir, 0o700);
    }
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
    assert.equal(s.uid, process.getuid!());
    assert.equal(statSync(dir).mode & 0o777, 0o700);
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
