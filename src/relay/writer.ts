/**
 * The relay's single SQLite writer, with group commit (strfry's writer thread, done on
 * the event loop). Writes queue up; one transaction commits a whole batch, so a durable
 * (synchronous=FULL) commit costs one fsync per batch instead of one per write. A batch
 * is flushed when it reaches `batchMax` writes or when the queue drains: the first write
 * schedules a flush with setImmediate, so everything submitted in the same event-loop
 * turn (and everything that arrived while the previous fsync blocked) shares a commit.
 *
 * Each write runs inside its own savepoint: a write that throws is rolled back alone and
 * rejects alone; the others in its batch still commit. A promise resolves only after the
 * transaction holding its write committed, so an acknowledgement is a durability promise.
 */
import type { Db } from '../store/sqlite.ts';

interface Pending {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface WriterStats {
  batches: number;
  writes: number;
  largestBatch: number;
}

export class GroupCommitWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private idle: (() => void)[] = [];
  private readonly outer: (batch: Pending[], results: Outcome[]) => void;
  private readonly savepoint: (op: () => unknown) => unknown;
  readonly stats: WriterStats = { batches: 0, writes: 0, largestBatch: 0 };

  constructor(
    private readonly db: Db,
    private readonly batchMax: number,
  ) {
    this.savepoint = db.transaction((op: () => unknown) => op());
    this.outer = db.transaction((batch: Pending[], results: Outcome[]) => {
      for (const p of batch) {
        try {
          results.push({ ok: true, value: this.savepoint(p.op) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    });
  }

  /** Runs `op` (synchronous SQLite work) in the next batch; resolves after that batch committed. */
  submit<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once every write submitted so far has committed (or failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.batchMax);
    if (batch.length > 0) {
      const results: Outcome[] = [];
      let commitError: unknown;
      try {
        this.outer(batch, results);
      } catch (error) {
        commitError = error;
      }
      this.stats.batches++;
      this.stats.writes += batch.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      batch.forEach((p, i) => {
        const r = results[i];
        if (commitError !== undefined) p.reject(commitError);
        else if (r!.ok) p.resolve(r!.value);
        else p.reject(r!.error);
      });
    }
    if (this.queue.length > 0) this.schedule();
    else for (const done of this.idle.splice(0)) done();
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
