import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3-multiple-ciphers';
import { makeUser, reopen, tempDir, text, utf8, T0, type User } from './helpers.ts';
import { takeForFetch } from '../../src/core/objects/prekey-bundle.ts';
import { IdentityError } from '../../src/identity/errors.ts';
import type { StoreOptions } from '../../src/identity/stores.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const POOL = { poolSize: 12, kyberPoolSize: 2, threshold: 1, kyberThreshold: 1 };

/** Alice and Carol with `n` settled sessions (c0..c(n-1) at Alice, a0..a(n-1) at Carol). */
async function pair(tag: string, n: number, opts: StoreOptions): Promise<{ alice: User; carol: User }> {
  const alice = makeUser(tmp.dir, `${tag}-alice`, POOL, opts);
  const carol = makeUser(tmp.dir, `${tag}-carol`, POOL, opts);
  let pool = carol.prekeys.buildBundle(T0);
  for (let i = 0; i < n; i++) {
    const t = takeForFetch(pool);
    pool = t.remaining;
    await carol.sessions.decryptFrom(`a${i}`, await alice.sessions.encryptTo(`c${i}`, utf8('hi'), { bundle: t.fetched }));
    await alice.sessions.decryptFrom(`c${i}`, await carol.sessions.encryptTo(`a${i}`, utf8('hi')));
  }
  return { alice, carol };
}

/** The session record on disk, read through a connection of its own. */
function onDisk(path: string, peer: string): Buffer | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT record FROM sessions WHERE peer = ? AND device = 1').get(peer) as { record: Buffer } | undefined)?.record;
  } finally {
    db.close();
  }
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test('worker writer: every ciphertext is released only once its ratchet step is on disk', async () => {
  const { alice, carol } = await pair('rel', 8, { writer: 'worker' });
  const before = alice.stores.stats.commits;
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      for (let n = 0; n < 10; n++) {
        const c = await alice.sessions.encryptTo(`c${i}`, utf8(`${i}:${n}`));
        // At release, the file holds exactly the state this step produced.
        assert.deepEqual(new Uint8Array(onDisk(alice.path, `c${i}`)!), alice.stores.loadSession(`c${i}`, 1));
        assert.equal(text(await carol.sessions.decryptFrom(`a${i}`, c)), `${i}:${n}`);
      }
    }),
  );
  assert.ok(alice.stores.stats.commits - before < 80, 'concurrent steps shared commits');
  assert.equal(alice.stores.hasPendingWrites, false);
  await Promise.all([alice.stores.close(), carol.stores.close()]);
  alice.db.close();
  carol.db.close();
});

for (const [writer, lanes] of [['worker', 1], ['inline', 8]] as const) {
test(`kill -9 while encrypting (${writer} writer, ${lanes} in flight per conversation): no released ciphertext lost its ratchet step`, async () => {
  const n = 6;
  const made = await pair(`kill-${writer}-${lanes}`, n, { writer });
  let alice = made.alice;
  const carol = made.carol;
  await alice.stores.close();
  alice.db.close();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-sender.ts', import.meta.url)), alice.path, `pass-${alice.name}`, String(n), String(lanes), writer], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const released: string[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    released.push(...lines);
    if (released.length >= 300 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  });
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', 'the sender was killed, not finished');
  assert.ok(released.length >= 300);
  // Carol reads every released message, in order per conversation.
  const last = new Map<number, number>();
  for (const line of released) {
    const [i, hex] = line.split(' ') as [string, string];
    const plain = text(await carol.sessions.decryptFrom(`a${i}`, Uint8Array.from(Buffer.from(hex, 'hex'))));
    const [ci, cn] = plain.split(':').map(Number) as [number, number];
    assert.equal(ci, Number(i));
    last.set(ci, cn);
  }
  // Restarted Alice continues every chain past what she released: a lost step would reuse a
  // message key, which Carol refuses as a duplicate.
  alice = reopen(alice, POOL, { writer });
  for (let i = 0; i < n; i++) {
    const c = await alice.sessions.encryptTo(`c${i}`, utf8(`after ${last.get(i)}`));
    assert.equal(text(await carol.sessions.decryptFrom(`a${i}`, c)), `after ${last.get(i)}`);
  }
  await Promise.all([alice.stores.close(), carol.stores.close()]);
  alice.db.close();
  carol.db.close();
});
}

test('steps on one contact pipeline: they share commits and all decrypt (durability at release: the kill -9 test above)', async () => {
  const { alice, carol } = await pair('pipe', 1, { writer: 'inline' });
  const before = alice.stores.stats.commits;
  const released: Uint8Array[] = [];
  await Promise.all(
    Array.from({ length: 32 }, async (_, n) => {
      const c = await alice.sessions.encryptTo('c0', utf8(`m${n}`));
      released.push(c);
    }),
  );
  assert.ok(alice.stores.stats.commits - before < 32, `32 steps on one contact shared commits (${alice.stores.stats.commits - before})`);
  assert.ok(sameOnDisk(alice, 'c0'));
  const read = await Promise.all(released.map((c) => carol.sessions.decryptFrom('a0', c)));
  assert.deepEqual(read.map(text).sort(), Array.from({ length: 32 }, (_, n) => `m${n}`).sort());
  await Promise.all([alice.stores.close(), carol.stores.close()]);
  alice.db.close();
  carol.db.close();
});

test('a step that fails behind a pipelined one keeps that one (its state is written, its key never reused)', async () => {
  const { alice, carol } = await pair('pipe-fail', 1, { writer: 'inline' });
  const mallory = makeUser(tmp.dir, 'pipe-fail-mallory', POOL);
  const foreign = takeForFetch(mallory.prekeys.buildBundle(T0)).fetched;
  // The second step offers a bundle under another identity key: refused (IDENTITY_KEY_CHANGED)
  // after the first step changed the session in memory and before that change was committed.
  const [first, second] = await Promise.allSettled([
    alice.sessions.encryptTo('c0', utf8('one')),
    alice.sessions.encryptTo('c0', utf8('two'), { bundle: foreign }),
  ]);
  assert.equal(first.status, 'fulfilled');
  assert.equal(second.status, 'rejected');
  assert.ok(IdentityError.is((second as PromiseRejectedResult).reason, 'IDENTITY_KEY_CHANGED'), String((second as PromiseRejectedResult).reason));
  assert.ok(sameOnDisk(alice, 'c0'), "the first step's state is on disk");
  const three = await alice.sessions.encryptTo('c0', utf8('three'));
  assert.equal(text(await carol.sessions.decryptFrom('a0', (first as PromiseFulfilledResult<Uint8Array>).value)), 'one');
  assert.equal(text(await carol.sessions.decryptFrom('a0', three)), 'three');
  await Promise.all([alice.stores.close(), carol.stores.close(), mallory.stores.close()]);
  alice.db.close();
  carol.db.close();
  mallory.db.close();
});

for (const writer of ['worker', 'inline'] as const) {
  test(`${writer} writer: a failed commit is COMMIT_FAILED, releases nothing, and is written by the next commit`, async () => {
    const { alice, carol } = await pair(`fail-${writer}`, 3, { writer });
    const disk = onDisk(alice.path, 'c0');
    alice.db.exec("CREATE TRIGGER refuse BEFORE UPDATE ON sessions WHEN NEW.peer = 'c0' BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    const results = await Promise.allSettled([0, 1, 2].map((i) => alice.sessions.encryptTo(`c${i}`, utf8(`lost ${i}`))));
    const r0 = results[0]!;
    assert.equal(r0.status, 'rejected');
    assert.ok(IdentityError.is((r0 as PromiseRejectedResult).reason, 'COMMIT_FAILED'), String((r0 as PromiseRejectedResult).reason));
    assert.match(((r0 as PromiseRejectedResult).reason as Error).message, /disk says no/);
    assert.deepEqual(onDisk(alice.path, 'c0'), disk, 'nothing of the failed batch was written');
    // The steps stay in memory, to be written (a later step may already build on them: see
    // Sessions.encryptTo); their ciphertexts never left, so the chain only skips their keys.
    assert.equal(alice.stores.hasPendingWrites, true);
    alice.db.exec('DROP TRIGGER refuse');
    for (const i of [0, 1, 2]) {
      const c = await alice.sessions.encryptTo(`c${i}`, utf8(`kept ${i}`));
      assert.equal(text(await carol.sessions.decryptFrom(`a${i}`, c)), `kept ${i}`);
    }
    assert.equal(alice.stores.hasPendingWrites, false);
    await Promise.all([alice.stores.close(), carol.stores.close()]);
    alice.db.close();
    carol.db.close();
  });
}

test('flushNow waits for the batch in flight (held up by a lock) before it returns', async () => {
  const { alice, carol } = await pair('drain', 4, { writer: 'worker' });
  const blocker = new Database(alice.path);
  blocker.exec('BEGIN IMMEDIATE');
  const commits = alice.stores.stats.commits;
  const sent = Array.from({ length: 4 }, (_, i) => alice.sessions.encryptTo(`c${i}`, utf8(`m${i}`)));
  // Wait until all four steps exist in memory: the worker, stuck behind the lock, cannot have
  // written any of them.
  for (let turns = 0; [0, 1, 2, 3].some((i) => sameOnDisk(alice, `c${i}`)) || alice.stores.stats.commits === commits; turns++) {
    assert.ok(turns < 10_000, 'the four steps were made');
    await turn();
  }
  assert.ok(alice.stores.stats.commits > commits, 'a batch was handed to the worker');
  assert.equal(alice.stores.hasPendingWrites, true);
  blocker.exec('COMMIT');
  blocker.close();
  alice.stores.flushNow();
  for (let i = 0; i < 4; i++) assert.ok(sameOnDisk(alice, `c${i}`), `c${i} is on disk when flushNow returns`);
  const cs = await Promise.all(sent);
  for (let i = 0; i < 4; i++) assert.equal(text(await carol.sessions.decryptFrom(`a${i}`, cs[i]!)), `m${i}`);
  await Promise.all([alice.stores.close(), carol.stores.close()]);
  alice.db.close();
  carol.db.close();
});

function sameOnDisk(u: User, peer: string): boolean {
  const d = onDisk(u.path, peer);
  const m = u.stores.loadSession(peer, 1);
  return d !== undefined && m !== null && Buffer.compare(d, m) === 0;
}

test('close() drains the worker; the stores then keep working inline and durably', async () => {
  const { alice, carol } = await pair('close', 4, { writer: 'worker' });
  const sent = Array.from({ length: 4 }, (_, i) => alice.sessions.encryptTo(`c${i}`, utf8(`m${i}`)));
  await turn();
  await alice.stores.close();
  const cs = await Promise.all(sent);
  assert.equal(alice.stores.hasPendingWrites, false);
  for (let i = 0; i < 4; i++) assert.ok(sameOnDisk(alice, `c${i}`));
  const c = await alice.sessions.encryptTo('c0', utf8('after close'));
  assert.ok(sameOnDisk(alice, 'c0'), 'written inline before release');
  for (let i = 0; i < 4; i++) assert.equal(text(await carol.sessions.decryptFrom(`a${i}`, cs[i]!)), `m${i}`);
  assert.equal(text(await carol.sessions.decryptFrom('a0', c)), 'after close');
  await alice.stores.close();
  await carol.stores.close();
  alice.db.close();
  carol.db.close();
});

test('auto writer stays inline for one operation at a time: on disk before the promise settles', async () => {
  const { alice, carol } = await pair('auto', 1, {});
  const before = alice.stores.stats.commits;
  for (let k = 0; k < 5; k++) {
    const c = await alice.sessions.encryptTo('c0', utf8(`s${k}`));
    // Inline: on disk before the promise even settles.
    assert.ok(sameOnDisk(alice, 'c0'));
    assert.equal(text(await carol.sessions.decryptFrom('a0', c)), `s${k}`);
  }
  assert.equal(alice.stores.stats.commits - before, 5, 'one commit per sequential step');
  await alice.stores.close();
  await carol.stores.close();
  alice.db.close();
  carol.db.close();
});
