/**
 * What a client tells its listeners as it happens (the app pushes these to the browser):
 * a sent message's state changed, an inbox entry appeared or changed, money moved (the
 * balance is worth reading again), a channel's status changed.
 *
 * Emitted after the change is committed: the mail store tells its listener (this, as a
 * MailStoreListener) of each state write, whatever module made it.
 */
import { EventEmitter } from 'node:events';
import type { ChannelStatusChange } from '../watch/index.ts';
import type { InboxState, MailStoreListener, OutboxState } from './mail-store.ts';

export interface OutboxEvent {
  /** Message id, hex. */
  id: string;
  state: OutboxState;
  detail?: string;
}

export interface InboxEvent {
  id: string;
  state: InboxState;
  /** True for an entry this client had not stored before. */
  fresh: boolean;
}

export interface BalanceEvent {
  /** What moved the money: 'outbox', 'inbox', 'channel', 'wallet'. */
  cause: 'outbox' | 'inbox' | 'channel' | 'wallet';
}

export interface ClientEventMap {
  outbox: [OutboxEvent];
  inbox: [InboxEvent];
  balance: [BalanceEvent];
  channel: [ChannelStatusChange];
}

export type ClientEventName = keyof ClientEventMap;

/** Outbox states whose step moved the user's sats (funded, refunded) or settled them (delivered). */
const MONEY_OUT: ReadonlySet<OutboxState> = new Set(['funded', 'paid', 'delivered', 'refunded']);
const MONEY_IN: ReadonlySet<InboxState> = new Set(['paying', 'awaiting', 'read']);

export class ClientEvents extends EventEmitter<ClientEventMap> implements MailStoreListener {
  /** A listener's throw must not break the write that emitted: it is reported as a process warning. */
  private safe<K extends ClientEventName>(name: K, ...args: ClientEventMap[K]): void {
    try {
      (this.emit as (n: K, ...a: ClientEventMap[K]) => boolean)(name, ...args);
    } catch (err) {
      process.emitWarning(`satpost client event listener for "${name}" threw: ${String(err)}`);
    }
  }

  outbox(e: OutboxEvent): void {
    this.safe('outbox', e);
    if (MONEY_OUT.has(e.state)) this.safe('balance', { cause: 'outbox' });
  }

  inbox(e: InboxEvent): void {
    this.safe('inbox', e);
    if (MONEY_IN.has(e.state)) this.safe('balance', { cause: 'inbox' });
  }

  channel(e: ChannelStatusChange): void {
    this.safe('channel', e);
    this.safe('balance', { cause: 'channel' });
  }

  wallet(): void {
    this.safe('balance', { cause: 'wallet' });
  }
}
