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
