/**
 * Where the identity stores' group commits are written: on the caller's connection
 * (`InlineWriter`, the fsync blocks the event loop) or on a worker thread that owns a second
 * connection to the same WAL file (`WorkerWriter`, the fsync overlaps libsignal running on the
 * main thread). A batch is a list of rows (statement index + parameters) applied as one
 * transaction; its promise resolves only once that transaction has committed, so callers can
 * hold back a ciphertext until its ratchet step is on disk.
 *
 * `AutoWriter` starts inline (a worker costs ~30 ms to start, more than one fsync) and moves
 * to a worker once concurrent operations share batches; an idle worker is stopped after
 * `idleMs` and started again when needed.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { keyOf, keyStatements, type Db } from '../store/sqlite.ts';
import { IdentityError } from './errors.ts';

export type SqlValue = string | number | bigint | Uint8Array | null;
export type Row = [statement: number, ...params: SqlValue[]];

export interface BatchWriter {
  /** Applies `rows` in one transaction; resolves once committed, rejects with COMMIT_FAILED. */
  write(rows: Row[], concurrent: boolean): Promise<void>;
  /** Blocks the thread until every batch written so far has finished, and settles their promises. */
  drainSync(): void;
  /** Waits for every batch written so far, then releases the writer's resources. */
  close(): Promise<void>;
}

export type WriterMode = 'inline' | 'worker' | 'auto';

/** The writer for `mode` over `inline`'s connection and statements. */
export function createWriter(db: Db, inline: InlineWriter, mode: WriterMode, idleMs = 10_000): BatchWriter {
  // A worker needs a file to share; ':memory:' is private to its connection.
  if (mode === 'inline' || db.memory) return inline;
  const key = keyOf(db);
  const worker = new WorkerWriter(db.name, synchronousOf(db), inline.statements, idleMs, key ? keyStatements(key) : []);
  return mode === 'worker' ? worker : new AutoWriter(inline, worker);
}

function synchronousOf(db: Db): 'OFF' | 'NORMAL' | 'FULL' {
  const v = db.pragma('synchronous', { simple: true }) as number;
  return v === 0 ? 'OFF' : v === 1 ? 'NORMAL' : 'FULL';
}

function commitFailed(message: string, cause?: unknown): IdentityError {
  return new IdentityError('COMMIT_FAILED', `identity store commit failed: ${message}`, cause === undefined ? undefined : { cause });
}

export class InlineWriter implements BatchWriter {
  private readonly apply: (rows: Row[]) => void;

  constructor(
    db: Db,
    readonly statements: readonly string[],
  ) {
    const prepared = statements.map((sql) => db.prepare(sql));
    this.apply = db.transaction((rows: Row[]) => {
      for (const [i, ...params] of rows) prepared[i]!.run(...params);
    });
  }

  /** Applies `rows` in one transaction now; throws COMMIT_FAILED. */
  applySync(rows: Row[]): void {
    try {
      this.apply(rows);
    } catch (e) {
      throw commitFailed((e as Error).message, e);
    }
  }

  write(rows: Row[]): Promise<void> {
    try {
      this.applySync(rows);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  drainSync(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Deferred {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Ack {
  seq: number;
  error?: { message: string; code: string | null };
}

interface Running {
  worker: Worker;
  acks: MessagePort;
  /** [acks posted, worker exited]: lets drainSync wait without the event loop. */
  state: Int32Array;
  online: boolean;
  /** Set by stop(): the exit that follows is the one asked for. */
  stopping: boolean;
  exited: Promise<void>;
}

/** Longest drainSync waits for the worker before giving up (SQLite's own busy timeout is 5 s). */
const DRAIN_TIMEOUT_MS = 30_000;

export class WorkerWriter implements BatchWriter {
  private run: Running | null = null;
  private seq = 0;
  private readonly outstanding = new Map<number, Deferred>();
  private idleTimer: NodeJS.Timeout | null = null;
  /** Set when the worker died or could not start; the writer then refuses every batch. */
  broken: Error | null = null;

  constructor(
    private readonly path: string,
    private readonly synchronous: 'OFF' | 'NORMAL' | 'FULL',
    private readonly statements: readonly string[],
    private readonly idleMs: number,
    /** The statements that key the worker's connection (keyStatements), first; none for a plaintext file. */
    private readonly keying: readonly string[] = [],
  ) {}

  /** A started worker whose thread is executing (batches then start committing at once). */
  get running(): boolean {
    return this.run?.online ?? false;
  }

  /** Starts the worker ahead of the first batch (AutoWriter keeps writing inline meanwhile). */
  start(): Running {
    if (this.run) return this.run;
    const { port1, port2 } = new MessageChannel();
    const stateBuf = new SharedArrayBuffer(8);
    const worker = new Worker(new URL('./commit-worker.mjs', import.meta.url), {
      workerData: { path: this.path, keying: this.keying, synchronous: this.synchronous, statements: this.statements, acks: port2, state: stateBuf },
      transferList: [port2],
      // The worker is plain JavaScript: no loader flags (tsx, test setup) to inherit.
      execArgv: [],
    });
    const run: Running = { worker, acks: port1, state: new Int32Array(stateBuf), online: false, stopping: false, exited: Promise.resolve() };
    run.exited = new Promise<void>((resolve) => {
      let error: Error | null = null;
      worker.on('error', (e) => (error = e));
      worker.on('exit', () => {
        if (this.run === run) this.run = null;
        // Acks posted just before the exit may not have been delivered yet.
        for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) this.settle(m.message as Ack);
        port1.close();
        // A stopped worker had nothing outstanding; anything outstanding now is a newer worker's.
        if (error || !run.stopping) this.fail(commitFailed(`the commit worker stopped${error ? `: ${error.message}` : ''}`, error ?? undefined));
        resolve();
      });
    });
    worker.once('online', () => (run.online = true));
    port1.on('message', (m: Ack) => this.settle(m));
    // Only outstanding batches keep the process alive (see write); an idle worker never does.
    worker.unref();
    port1.unref();
    this.run = run;
    return run;
  }

  write(rows: Row[]): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const run = this.start();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const seq = ++this.seq;
    const done = new Promise<void>((resolve, reject) => this.outstanding.set(seq, { resolve, reject }));
    if (this.outstanding.size === 1) run.acks.ref();
    run.worker.postMessage({ seq, rows });
    return done;
  }

  private settle(ack: Ack): void {
    const d = this.outstanding.get(ack.seq);
    if (!d) return; // already settled by drainSync
    this.outstanding.delete(ack.seq);
    if (ack.error) d.reject(commitFailed(ack.error.message, ack.error));
    else d.resolve();
    if (this.outstanding.size === 0) this.idle();
  }

  private idle(): void {
    this.run?.acks.unref();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.outstanding.size === 0) this.stop();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Asks an idle worker to close its connection and exit; the next write starts a new one. */
  private stop(): Promise<void> {
    const run = this.run;
    if (!run) return Promise.resolve();
    this.run = null;
    run.stopping = true;
    run.worker.postMessage({ close: true });
    // A caller awaiting the exit must keep the process alive until the connection is closed.
    run.worker.ref();
    return run.exited;
  }

  private fail(e: Error): void {
    this.broken = e;
    for (const [seq, d] of this.outstanding) {
      this.outstanding.delete(seq);
      d.reject(e);
    }
  }

  drainSync(): void {
    const run = this.run;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.outstanding.size > 0 && run) {
      const seen = Atomics.load(run.state, 0);
      const m = receiveMessageOnPort(run.acks);
      if (m) {
        this.settle(m.message as Ack);
        continue;
      }
      if (Atomics.load(run.state, 1) === 1) {
        this.fail(commitFailed('the commit worker exited with batches outstanding'));
        break;
      }
      if (Date.now() > deadline) throw commitFailed(`no answer from the commit worker in ${DRAIN_TIMEOUT_MS} ms`);
      Atomics.wait(run.state, 0, seen, 1000);
    }
  }

  async close(): Promise<void> {
    // No await between the last check and stop(): nothing can be posted to a stopping worker.
    while (this.outstanding.size > 0) {
      await Promise.allSettled([...this.outstanding.keys()].map((seq) => new Promise<void>((r) => this.onSettled(seq, r))));
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    await this.stop();
  }

  private onSettled(seq: number, cb: () => void): void {
    const d = this.outstanding.get(seq);
    if (!d) return cb();
    this.outstanding.set(seq, {
      resolve: () => (d.resolve(), cb()),
      reject: (e) => (d.reject(e), cb()),
    });
  }
}

/**
 * Inline until operations run concurrently, then the worker (whenever it is up). Order is kept:
 * an inline batch commits before write() returns, and the worker only stops (idle or broken)
 * with nothing outstanding.
 */
export class AutoWriter implements BatchWriter {
  constructor(
    private readonly inline: InlineWriter,
    private readonly worker: WorkerWriter,
  ) {}

  write(rows: Row[], concurrent: boolean): Promise<void> {
    if (this.worker.broken) return this.inline.write(rows);
    if (this.worker.running) return this.worker.write(rows);
    if (concurrent) this.worker.start();
    return this.inline.write(rows);
  }

  drainSync(): void {
    this.worker.drainSync();
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
