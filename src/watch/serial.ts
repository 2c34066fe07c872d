/**
 * What both kinds of party (contracts, channels) need to run their work safely: one operation
 * at a time per party, and passes that go on past a failing item.
 */

/** Runs functions one at a time, in call order; a failure does not block the next one. */
export class Serial {
  private turn: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => undefined);
    return run;
  }
}

/** Runs fn per item; a failure is reported and the pass goes on with the others (an abort stops it). */
export async function eachReporting<T extends { id: string }>(
  items: readonly T[],
  fn: (item: T) => Promise<void>,
  report: (problem: { id: string; error: unknown }) => void,
  signal?: AbortSignal,
): Promise<void> {
  for (const item of items) {
    signal?.throwIfAborted();
    try {
      await fn(item);
    } catch (error) {
      if (signal?.aborted) throw error;
      report({ id: item.id, error });
    }
  }
}
