/**
 * Following the inbox for as long as the caller wants: watch() ends when a relay drops its
 * subscription or none can be reached (a relay restarting, the network gone), and following
 * watches again after a pause that doubles while it keeps ending soon. The CLI's
 * `inbox --watch` and the app both follow; neither keeps a retry loop of its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRelayTrouble } from './errors.ts';
import type { InboxEntry } from './receive.ts';

export interface WatchOptions {
  signal?: AbortSignal;
  onProblem?: (relay: string, error: unknown) => void;
  channelSyncMs?: number;
}

export interface FollowPause {
  /** 'closed': a relay closed the subscription; 'trouble': the watch failed with the relay's passing trouble (`error`). */
  why: 'closed' | 'trouble';
  error?: unknown;
  /** How long before the next watch. */
  pauseMs: number;
}

export interface FollowOptions extends WatchOptions {
  /** Told before each pause (e.g. to say so on a terminal). */
  onPause?: (pause: FollowPause) => void;
  /** The first pause (default 1 s); it doubles up to maxPauseMs (default a minute) while watches keep ending soon. */
  minPauseMs?: number;
  maxPauseMs?: number;
}

/**
 * Yields what each watch yields until `signal` aborts. A watch that ends on its own, or fails
 * with the relay's passing trouble (isRelayTrouble), is started again after a pause; nothing is
 * missed in between (each watch lists first) and nothing is yielded twice (a watch yields only
 * entries new to the local inbox). Any other error (the client closed, no relays) ends following.
 */
export async function* follow(watch: (o: WatchOptions) => AsyncGenerator<InboxEntry>, o: FollowOptions = {}): AsyncGenerator<InboxEntry> {
  const min = o.minPauseMs ?? 1_000;
  const max = o.maxPauseMs ?? 60_000;
  const { onPause, minPauseMs: _min, maxPauseMs: _max, ...watchOptions } = o;
  let pause = min;
  while (!o.signal?.aborted) {
    const started = Date.now();
    let ended: FollowPause = { why: 'closed', pauseMs: 0 };
    try {
      for await (const entry of watch(watchOptions)) {
        pause = min; // The relays deliver again: a later drop starts from the shortest pause.
        yield entry;
      }
    } catch (err) {
      if (o.signal?.aborted) break;
      if (!isRelayTrouble(err)) throw err;
      ended = { why: 'trouble', error: err, pauseMs: 0 };
    }
    if (o.signal?.aborted) break;
    // A watch that lasted longer than the longest pause was no quick drop: start over from the shortest.
    if (Date.now() - started > max) pause = min;
    onPause?.({ ...ended, pauseMs: pause });
    await sleep(pause, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
    pause = Math.min(pause * 2, max);
  }
}
