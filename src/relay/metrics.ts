/** Prometheus metrics of one relay, on its own registry (no global state). */
import { Counter, Gauge, Registry } from 'prom-client';
import type { RelayStore } from './store.ts';

export type DepositResult = 'stored' | 'duplicate' | string;

export class RelayMetrics {
  readonly registry = new Registry();
  readonly deposits: Counter<'result'>;
  readonly satsEarned: Counter;
  readonly quotes: Counter<'result'>;

  constructor(store: RelayStore) {
    const registers = [this.registry];
    this.deposits = new Counter({ name: 'satpost_relay_deposits_total', help: 'deposits by result (stored, duplicate or the refusal code)', labelNames: ['result'], registers });
    this.quotes = new Counter({ name: 'satpost_relay_quotes_total', help: 'quote requests by result (issued or the refusal code)', labelNames: ['result'], registers });
    this.satsEarned = new Counter({ name: 'satpost_relay_sats_earned_total', help: 'sats of messages whose k was released against payment', registers });
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
      help: 'messages whose k was released and whose contract the relay still has to claim',
      registers,
      collect() {
        this.set(store.countInState('unlocked'));
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
