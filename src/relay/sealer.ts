/**
 * Where deposits get sealed and their receipts signed (seal.ts): inline on the caller's
 * thread, or on one worker thread so that the relay's two halves of work (sockets and
 * SQLite on the main thread, AEAD and Ed25519 on the worker) use two cores.
 *
 * WorkerSealer batches: every job submitted in one event-loop turn travels in one
 * message (at most `batchMax` jobs), and the worker's answer resolves them all. Bodies
 * larger than `inlineAbove` bytes are sealed inline: copying them to the worker and the
 * blob back (into fresh memory each batch) cost more than the work moved. A worker
 * that fails (or exits) rejects what it held with RelayError INTERNAL; the next batch
 * starts a new worker.
 */
import { Worker } from 'node:worker_threads';
import { expected } from '../core/errors.ts';
import { RelayError } from './errors.ts';
import { SealFailure, decodeResults, encodeJobs, sealDeposit, type SealJob, type SealKeys, type Sealed } from './seal.ts';

export interface Sealer {
  seal(job: SealJob): Promise<Sealed>;
  close(): Promise<void>;
}

/** Seals on this thread, now; a throw becomes the rejection. */
const sealNow = (job: SealJob, keys: SealKeys): Promise<Sealed> => new Promise((resolve) => resolve(sealDeposit(job, keys)));

export class InlineSealer implements Sealer {
  constructor(private readonly keys: SealKeys) {}
  seal(job: SealJob): Promise<Sealed> {
    return sealNow(job, this.keys);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Waiting {
  jobs: SealJob[];
  resolve: ((s: Sealed) => void)[];
  reject: ((e: unknown) => void)[];
}

const ENTRY = new URL('./seal-worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);
/**
 * Under tsx (this checkout runs its TypeScript directly) the worker registers tsx itself:
 * a worker does not get the loader hooks the process registered, however it did.
 */
const BOOT = `
const { workerData } = require('node:worker_threads');
const load = () => import(workerData.entry);
(workerData.tsx ? import(workerData.tsx).then((m) => m.register()).then(load) : load())
  .catch((err) => { console.error(err); process.exit(1); });
`;

const tsxLoader = (): string | undefined => (ENTRY.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined);

export class WorkerSealer implements Sealer {
  private worker: Worker | undefined;
  private queue: { job: SealJob; resolve: (s: Sealed) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private nextId = 1;
  private readonly inFlight = new Map<number, Waiting>();
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly keys: SealKeys,
    private readonly batchMax = 256,
    private readonly inlineAbove = 8192,
  ) {}

  /** Starts the worker now, so its start-up (module loading) is not paid by the first deposits. */
  warm(): void {
    if (!this.closed && this.worker === undefined) this.start();
  }

  seal(job: SealJob): Promise<Sealed> {
    if (this.closed) return Promise.reject(new RelayError('SHUTTING_DOWN', 'the relay is shutting down'));
    // The batch layout has fixed 32-byte slots: a wrong length must not be cut or padded silently.
    for (const f of ['k', 'hk', 'mailbox'] as const) {
      if (job[f].length !== 32) return Promise.reject(new RelayError('INTERNAL', `sealing: ${expected(f, '32 bytes', job[f])}`));
    }
    if (job.body.length > this.inlineAbove) return sealNow(job, this.keys);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const worker = this.worker ?? this.start();
    while (this.queue.length > 0) {
      const part = this.queue.splice(0, this.batchMax);
      const id = this.nextId++;
      const w: Waiting = { jobs: part.map((p) => p.job), resolve: part.map((p) => p.resolve), reject: part.map((p) => p.reject) };
      try {
        const jobs = encodeJobs(w.jobs);
        worker.postMessage({ id, jobs }, [jobs]);
        this.inFlight.set(id, w);
      } catch (cause) {
        const err = new RelayError('INTERNAL', 'sealing failed: the batch could not be sent to the worker', { cause });
        for (const reject of w.reject) reject(err);
      }
    }
  }

  private start(): Worker {
    const tsx = tsxLoader();
    const worker = new Worker(BOOT, { eval: true, workerData: { entry: ENTRY.href, tsx, nodeSecret: this.keys.nodeSecret } });
    worker.unref();
    worker.on('message', (m: { id: number; results?: ArrayBuffer; error?: string }) => {
      const w = this.inFlight.get(m.id);
      if (w === undefined) return;
      this.inFlight.delete(m.id);
      if (m.results === undefined) {
        const err = new RelayError('INTERNAL', `sealing failed: ${m.error ?? 'no result'}`);
        for (const reject of w.reject) reject(err);
        return;
      }
      const sealed = decodeResults(m.results, w.jobs, this.keys.relayId);
      for (let i = 0; i < sealed.length; i++) {
        const r = sealed[i]!;
        if (r instanceof SealFailure) w.reject[i]!(new RelayError('INTERNAL', `sealing failed: ${r.message}`));
        else w.resolve[i]!(r);
      }
      this.settled();
    });
    const fail = (cause: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      const err = new RelayError('INTERNAL', 'the sealing worker stopped', { cause });
      for (const w of this.inFlight.values()) for (const reject of w.reject) reject(err);
      this.inFlight.clear();
      this.settled();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settled(): void {
    if (this.inFlight.size === 0) for (const done of this.idle.splice(0)) done();
  }

  /** Waits for the batches taken so far, then stops the worker; later seals are refused. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0) this.flush();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
