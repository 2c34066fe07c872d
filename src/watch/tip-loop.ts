/**
 * The loop both watchers share: start() runs one pass at once (resuming whatever a crash
 * left pending), then one pass at every tip change; passes never overlap; poll() runs one now
 * and resolves when it is done (tests await it instead of sleeping); stop() waits for the pass
 * in flight and aborts its I/O.
 */
import type { ChainBackend, ChainTip } from '../chain/backend.ts';
import { WatchError } from './errors.ts';

export class TipLoop {
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private abort = new AbortController();
  private stopped = false;

  constructor(
    private readonly backend: ChainBackend,
    private readonly pass: (tip: ChainTip, signal: AbortSignal) => Promise<void>,
    private readonly onProblem: (error: unknown) => void,
    /** What a poll() after stop() says, e.g. "the watcher is stopped". */
    private readonly stoppedMessage: string,
  ) {}

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.unsubscribe = this.backend.onTip(() => {
      this.poll().catch((error: unknown) => this.onProblem(error));
    });
    await this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.abort.abort();
    await this.queue.catch(() => undefined);
  }

  poll(): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.stopped) throw new WatchError('CLOSED', this.stoppedMessage);
      const signal = this.abort.signal;
      await this.pass(await this.backend.getTip(signal), signal);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
