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
import { TipLoop } from './tip-loop.ts';

export interface ChannelWatcherOptions {
  backend: ChainBackend;
  payer?: PayerChannels;
  relay?: RelayChannels;
}

export class ChannelWatcher extends EventEmitter<ChannelEvents> {
  private readonly backend: ChainBackend;
  private readonly parties: ChannelParty[];
  private readonly loop: TipLoop;

  constructor(o: ChannelWatcherOptions) {
    super();
    this.backend = o.backend;
    this.parties = [o.payer, o.relay].filter((p): p is PayerChannels | RelayChannels => p !== undefined);
    this.loop = new TipLoop(
      this.backend,
      async (tip, signal) => {
        for (const p of this.parties) await p.pass(tip, signal);
      },
      (error) => this.emit('problem', { error }),
      'the channel watcher is stopped',
    );
    const forward = this.emit.bind(this) as (e: string, ...a: unknown[]) => boolean;
    for (const p of this.parties) {
      const source = p as unknown as EventEmitter;
      for (const ev of CHANNEL_EVENTS) source.on(ev, (...args: unknown[]) => forward(ev, ...args));
    }
  }

  /** Resumes every pending channel, then follows the chain tip. */
  start(): Promise<void> {
    return this.loop.start();
  }

  /** Stops following the tip and waits for the pass in flight. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every channel at the current tip (queued behind a pass in flight). */
  poll(): Promise<void> {
    return this.loop.poll();
  }
}
