// Group commit: one transaction per batch, failures isolated, acknowledgement after commit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/sqlite.ts';
import { GroupCommitWriter } from '../../src/relay/writer.ts';

describe('GroupCommitWriter', () => {
  const open = () => openDb({ path: ':memory:', migrations: ['CREATE TABLE t (v INTEGER PRIMARY KEY)'] });

  it('commits everything submitted in one turn as one batch, and resolves only after the commit', async () => {
    const db = open();
    const w = new GroupCommitWriter(db, 1000);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const seen: number[] = [];
    const all = Array.from({ length: 100 }, (_, i) =>
      w.submit(() => insert.run(i)).then(() => {
        assert.equal(db.inTransaction, false, 'resolved outside the transaction');
        seen.push((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n);
      }),
    );
    await Promise.all(all);
    assert.deepEqual(w.stats, { batches: 1, writes: 100, largestBatch: 100 });
    assert.ok(seen.every((n) => n === 100), 'every ack sees the whole batch committed');
    db.close();
  });

  it('splits at batchMax and isolates a failing write to its own savepoint', async () => {
    const db = open();
    const w = new GroupCommitWriter(db, 4);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const results = await Promise.allSettled([1, 2, 2, 3, 4, 5].map((v) => w.submit(() => insert.run(v).changes)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual((db.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v), [1, 2, 3, 4, 5]);
    assert.equal(w.stats.batches, 2);
    await w.drain();
    db.close();
  });

  it('drain waits for queued writes', async () => {
    const db = open();
    const w = new GroupCommitWriter(db, 2);
    let done = 0;
    for (let i = 0; i < 5; i++) void w.submit(() => db.prepare('INSERT INTO t VALUES (?)').run(i)).then(() => done++);
    await w.drain();
    assert.equal(done, 5);
    db.close();
  });
});

describe('GroupCommitWriter commit interval', () => {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('right after a commit, writes of later turns wait and share one commit; a full batch does not wait', async () => {
    const db = openDb({ path: ':memory:', migrations: ['CREATE TABLE t (v INTEGER PRIMARY KEY)'] });
    const w = new GroupCommitWriter(db, 6, 60_000);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    await w.submit(() => insert.run(0));
    assert.equal(w.stats.batches, 1, 'a lone write after a quiet spell commits at once');
    const later: Promise<unknown>[] = [];
    for (let i = 1; i <= 5; i++) {
      later.push(w.submit(() => insert.run(i)));
      await turn();
    }
    assert.equal(w.stats.batches, 1, 'within the interval nothing more is committed');
    assert.equal(w.pending, 5);
    later.push(w.submit(() => insert.run(6)));
    await Promise.all(later);
    assert.deepEqual(w.stats, { batches: 2, writes: 7, largestBatch: 6 });
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 7);
    db.close();
  });

  it('a failing write in a fast batch is retried in isolation: only it rejects, the rest commit once', async () => {
    const db = openDb({ path: ':memory:', migrations: ['CREATE TABLE t (v INTEGER PRIMARY KEY)'] });
    const w = new GroupCommitWriter(db, 100);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const results = await Promise.allSettled([
      w.submit(() => insert.run(1)),
      w.submit(() => {
        insert.run(2);
        throw new Error('refused after writing');
      }),
      w.submit(() => insert.run(3)),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /refused after writing/);
    assert.deepEqual((db.prepare('SELECT v FROM t ORDER BY v').all() as { v: number }[]).map((r) => r.v), [1, 3], 'the failed write left nothing behind');
    assert.equal(w.stats.batches, 1);
    db.close();
  });
});
