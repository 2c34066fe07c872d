/**
 * ChannelWatcher drives a party's channels on, as ContractWatcher does its contracts: on start()
 * it resumes every channel that is not final (after a crash), then runs one pass at every tip
 * change. Passes never overlap; poll() runs one now and resolves when it is done (tests await it).
 *
 * Relay side: confirms fundings; force-closes (latest commitment + one claim) from tip
 * T_ch − claim_margin − closeLead, or from T_i − claim_margin − closeLead for an in-flight output
 * it holds k (and r) for, when the payer has not settled it; follows the claim. Payer side:
 * confirms its funding, refunds the in-flight outputs of a force-closed commitment from tip T_i,
 * exits with its pre-signed exit from tip T_ch if the funding is unspent. Both: a stored funding,
 * close, commitment, claim, refund or exit that a reorg removed is rebroadcast.
 */
import { EventEmitter } from 'node:events';
import type { ChainBackend } from '../chain/backend.ts';
import { CHANNEL_EVENTS, type ChannelEvents, type ChannelParty } from './channel-party.ts';
import type { PayerChannels } from './channel-payer.ts';
import type { RelayChannels } from './channel-relay.ts';
import { WatchError } from './errors.ts';

export interface ChannelWatcherOptions {
  backend: ChainBackend;
  payer?: PayerChannels;
  relay?: RelayChannels;
}

export class ChannelWatcher extends EventEmitter<ChannelEvents> {
  private readonly backend: ChainBackend;
  private readonly parties: ChannelParty[];
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private abort = new AbortController();
  private stopped = false;

  constructor(o: ChannelWatcherOptions) {
    super();
    this.backend = o.backend;
    this.parties = [o.payer, o.relay].filter((p): p is PayerChannels | RelayChannels => p !== undefined);
    const forward = this.emit.bind(this) as (e: string, ...a: unknown[]) => boolean;
    for (const p of this.parties) {
      const source = p as unknown as EventEmitter;
      for (const ev of CHANNEL_EVENTS) source.on(ev, (...args: unknown[]) => forward(ev, ...args));
    }
  }

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.unsubscribe = this.backend.onTip(() => {
      this.poll().catch((error: unknown) => this.emit('problem', { error }));
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
      if (this.stopped) throw new WatchError('CLOSED', 'the channel watcher is stopped');
      const signal = this.abort.signal;
      const tip = await this.backend.getTip(signal);
      for (const p of this.parties) await p.pass(tip, signal);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
