/**
 * The relay's single SQLite writer, with group commit (strfry's writer thread, done on
 * the event loop). Writes queue up; one transaction commits a whole batch, so a durable
 * (synchronous=FULL) commit costs one fsync per batch instead of one per write. A batch
 * is flushed when it reaches `batchMax` writes or when the queue drains: the first write
 * schedules a flush with setImmediate, so everything submitted in the same event-loop
 * turn (and everything that arrived while the previous fsync blocked) shares a commit.
 *
 * Under load a commit waits until `minIntervalMs` have passed since the previous one
 * started (a lone write after a quiet spell commits at once): fewer, larger commits write
 * each touched index page to the WAL once per batch instead of once per handful of
 * writes, and spend fewer fsyncs blocking the event loop.
 *
 * A write that throws is rolled back alone and rejects alone; the others in its batch
 * still commit. A batch first runs without a savepoint per write (two statements less
 * per write on the hot path); only when one of its writes throws is the whole
 * transaction rolled back and the batch run again with each write in its own savepoint.
 * So an op may run twice: it must act on the database only (results are returned, not
 * kept elsewhere). A promise resolves only after the transaction holding its write
 * committed, so an acknowledgement is a durability promise.
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

/** Thrown inside the fast pass to abandon it; never leaves this module. */
class RetryIsolated extends Error {}

export class GroupCommitWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private lastCommit = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private readonly fast: (batch: Pending[], results: unknown[]) => void;
  private readonly isolated: (batch: Pending[], results: Outcome[]) => void;
  private readonly savepoint: (op: () => unknown) => unknown;
  readonly stats: WriterStats = { batches: 0, writes: 0, largestBatch: 0 };

  constructor(
    private readonly db: Db,
    private readonly batchMax: number,
    private readonly minIntervalMs = 0,
  ) {
    this.savepoint = db.transaction((op: () => unknown) => op());
    this.fast = db.transaction((batch: Pending[], results: unknown[]) => {
      for (const p of batch) {
        try {
          results.push(p.op());
        } catch {
          throw new RetryIsolated();
        }
      }
    });
    this.isolated = db.transaction((batch: Pending[], results: Outcome[]) => {
      for (const p of batch) {
        try {
          results.push({ ok: true, value: this.savepoint(p.op) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    });
  }

  /** Runs `op` (synchronous SQLite work, database effects only) in the next batch; resolves after that batch committed. */
  submit<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (this.timer !== undefined && this.queue.length >= this.batchMax) {
        // A full batch does not wait for the interval.
        clearTimeout(this.timer);
        this.timer = undefined;
        this.scheduled = false;
      }
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
    const wait = this.lastCommit + this.minIntervalMs - performance.now();
    if (wait > 0 && this.queue.length < this.batchMax) this.timer = setTimeout(this.flushNow, wait);
    else setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => this.flush();

  private flush(): void {
    this.scheduled = false;
    this.timer = undefined;
    const batch = this.queue.splice(0, this.batchMax);
    if (batch.length > 0) {
      this.lastCommit = performance.now();
      this.stats.batches++;
      this.stats.writes += batch.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      this.commit(batch);
    }
    if (this.queue.length > 0) this.schedule();
    else for (const done of this.idle.splice(0)) done();
  }

  private commit(batch: Pending[]): void {
    const values: unknown[] = [];
    try {
      this.fast(batch, values);
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i]);
      return;
    } catch (error) {
      if (!(error instanceof RetryIsolated)) {
        for (const p of batch) p.reject(error);
        return;
      }
    }
    const results: Outcome[] = [];
    let commitError: unknown;
    try {
      this.isolated(batch, results);
    } catch (error) {
      commitError = error;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (commitError !== undefined) p.reject(commitError);
      else if (r!.ok) p.resolve(r!.value);
      else p.reject(r!.error);
    });
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
