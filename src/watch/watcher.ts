/**
 * ContractWatcher drives a party's contracts on: on start() it re-examines every contract
 * that is not final (resume after a crash), then runs one pass at every tip change. Passes
 * never overlap; poll() runs one now and resolves when it is done (tests await it instead
 * of sleeping). Events of the payer and relay sides are re-emitted here.
 */
import { EventEmitter } from 'node:events';
import type { ChainBackend } from '../chain/backend.ts';
import { TipLoop } from './tip-loop.ts';
import { WATCH_EVENTS, type Party, type WatchEvents } from './party.ts';
import type { PayerContracts } from './payer.ts';
import type { RelayContracts } from './relay.ts';

export interface WatcherOptions {
  backend: ChainBackend;
  payer?: PayerContracts;
  relay?: RelayContracts;
}

export class ContractWatcher extends EventEmitter<WatchEvents> {
  private readonly backend: ChainBackend;
  private readonly parties: Party[];
  private readonly loop: TipLoop;

  constructor(o: WatcherOptions) {
    super();
    this.backend = o.backend;
    this.parties = [o.payer, o.relay].filter((p): p is PayerContracts | RelayContracts => p !== undefined);
    this.loop = new TipLoop(
      this.backend,
      async (tip, signal) => {
        for (const p of this.parties) await p.pass(tip, signal);
      },
      (error) => this.emit('problem', { error }),
      'the watcher is stopped',
    );
    for (const p of this.parties) {
      const relay = this.emit.bind(this) as (e: string, ...a: unknown[]) => boolean;
      const source = p as unknown as EventEmitter;
      for (const ev of WATCH_EVENTS) source.on(ev, (...args: unknown[]) => relay(ev, ...args));
    }
  }

  /** Resumes every pending contract, then follows the chain tip. */
  start(): Promise<void> {
    return this.loop.start();
  }

  /** Stops following the tip and waits for the pass in flight. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every contract at the current tip (queued behind a pass in flight). */
  poll(): Promise<void> {
    return this.loop.poll();
  }
}
