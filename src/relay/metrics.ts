/** Prometheus metrics of one relay, on its own registry (no global state). */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Payments } from './chain-ports.ts';
import type { RelayStore } from './store.ts';

export type DepositResult = 'stored' | 'duplicate' | string;

export class RelayMetrics {
  readonly registry = new Registry();
  readonly deposits: Counter<'result'>;
  readonly quotes: Counter<'result'>;

  constructor(store: RelayStore, payments: Pick<Payments, 'stats'>) {
    const registers = [this.registry];
    this.deposits = new Counter({ name: 'satpost_relay_deposits_total', help: 'deposits by result (stored, duplicate or the refusal code)', labelNames: ['result'], registers });
    this.quotes = new Counter({ name: 'satpost_relay_quotes_total', help: 'quote requests by result (issued or the refusal code)', labelNames: ['result'], registers });
    new Gauge({
      name: 'satpost_relay_sats_earned',
      help: 'sats of the relay contracts whose claim is confirmed (from the contract book)',
      registers,
      collect() {
        this.set(payments.stats().satsEarned);
      },
    });
    new Gauge({
      name: 'satpost_relay_messages_stored',
      help: 'messages currently stored',
      registers,
      collect() {
        this.set(store.totals().messages);
      },
    });
    new Gauge({
      name: 'satpost_relay_bytes_stored',
      help: 'blob bytes currently stored',
      registers,
      collect() {
        this.set(store.totals().bytes);
      },
    });
    new Gauge({
      name: 'satpost_relay_claims_pending',
      help: 'relay contracts whose claim is signed or broadcast and not yet confirmed',
      registers,
      collect() {
        this.set(payments.stats().claimsPending);
      },
    });
    new Gauge({
      name: 'satpost_relay_write_batches',
      help: 'group commits since start',
      registers,
      collect() {
        this.set(store.writer.stats.batches);
      },
    });
  }
}
