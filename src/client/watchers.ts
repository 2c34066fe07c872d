/**
 * The client's contract and channel watchers, and what their findings do to the outbox: a
 * sender-pays message is 'delivered' once its contract's or HTLC's k is known, 'refunded' once
 * the sats came back. Started once, on the first call that may pay or be paid; a failed first
 * pass (chain unreachable) leaves them stopped for the next call to start afresh.
 */
import { EventEmitter } from 'node:events';
import { hex } from '@scure/base';
import type { ChainBackend } from '../chain/backend.ts';
import { QuoteCodec, messageIdOf } from '../core/objects/index.ts';
import { ChannelWatcher, ContractWatcher, type ChannelProblem, type ChannelStatusChange, type HtlcRecord, type KeyLearned, type Settled } from '../watch/index.ts';
import type { ClientEvents } from './events.ts';
import type { MailContext } from './mail-context.ts';

export class ClientWatchers {
  private watcher: ContractWatcher | undefined;
  private channelWatcher: ChannelWatcher | undefined;
  private watching: Promise<void> | undefined;
  private stopped = false;
  /** Channel status changes and watcher problems, for Client.onChannelEvent. */
  readonly channelEvents = new EventEmitter<{ status: [ChannelStatusChange]; problem: [ChannelProblem] }>();

  constructor(
    private readonly ctx: MailContext,
    private readonly backend: ChainBackend,
    private readonly events: ClientEvents,
  ) {}

  /** Starts both watchers once: their first passes resume every pending contract and channel. */
  start(): Promise<void> {
    if (!this.watching) {
      const w = new ContractWatcher({ backend: this.backend, payer: this.ctx.payer });
      const cw = new ChannelWatcher({ backend: this.backend, payer: this.ctx.channels.payer });
      this.watcher = w;
      this.channelWatcher = cw;
      w.on('key-learned', (e: KeyLearned) => this.settle(e.id, 'delivered'));
      w.on('refunded', (e: Settled) => this.settle(e.id, 'refunded'));
      cw.on('status', (e) => {
        this.channelEvents.emit('status', e);
        this.events.channel(e);
      });
      cw.on('problem', (e) => this.channelEvents.emit('problem', e));
      this.watching = Promise.all([w.start(), cw.start()]).then(
        () => undefined,
        async (err: unknown) => {
          // A first pass failed (chain unreachable?): unsubscribe both, so that the next call starts afresh.
          await Promise.allSettled([w.stop(), cw.stop()]);
          if (this.watcher === w) this.watcher = undefined;
          if (this.channelWatcher === cw) this.channelWatcher = undefined;
          this.watching = undefined;
          throw err;
        },
      );
    }
    return this.watching;
  }

  /** One pass of both watchers now (started first), then the outbox caught up with the books. */
  async poll(): Promise<void> {
    await this.start();
    await this.watcher!.poll();
    await this.channelWatcher!.poll();
    this.settleFromBook();
  }

  /** Stops both, waiting for their passes in flight; nothing reaches the outbox after this. */
  stop(): Promise<unknown> {
    this.stopped = true;
    const w = this.watcher;
    const cw = this.channelWatcher;
    this.watcher = undefined;
    this.channelWatcher = undefined;
    return Promise.allSettled([w?.stop(), cw?.stop()]);
  }

  /** Outbox rows whose contract or channel HTLC settled while no watcher event reached them (e.g. a crash). */
  settleFromBook(): void {
    for (const row of this.ctx.mail.pendingOutbox()) {
      if (row.state === 'paid' && row.channelId !== null) {
        const h = this.ctx.channels.htlcFor(row.channelId, QuoteCodec.decode(row.quote).hk);
        if (h) this.htlcSettled(h);
        continue;
      }
      const c = row.state === 'funded' ? this.ctx.payer.contract(row.id) : undefined;
      if (c?.k) this.settle(row.id, 'delivered');
      else if (c?.state === 'refunded') this.settle(row.id, 'refunded');
    }
  }

  /** The outbox row a sender-pays channel HTLC pays: delivered once its k is known, refunded once failed back. */
  htlcSettled(h: HtlcRecord): void {
    if (this.stopped || h.mode !== 'sender-pays') return;
    const id = hex.encode(messageIdOf(h.hk));
    const row = this.ctx.mail.outbox(id);
    if (!row || row.state !== 'paid') return;
    if (h.k && (h.status === 'settled' || h.status === 'claimed')) this.ctx.mail.setOutbox(id, 'delivered');
    else if (h.status === 'failed' || h.status === 'refunded') {
      this.ctx.mail.setOutbox(id, 'refunded', { detail: `nobody read it before block ${h.locktime}: the HTLC was ${h.status} back to the channel` });
    }
  }

  private settle(contractId: string, state: 'delivered' | 'refunded'): void {
    if (this.stopped) return;
    const row = this.ctx.mail.outbox(contractId);
    if (row && row.state !== state) this.ctx.mail.setOutbox(contractId, state);
  }
}
