/**
 * What a client tells its listeners as it happens (the app pushes these to the browser):
 * a sent message's state changed, an inbox entry appeared or changed, money moved (the
 * balance is worth reading again), a channel's status changed.
 *
 * Emitted after the change is committed: the mail store's writes are observed here (one
 * place, whatever module made the write), so the modules that change states need no edits.
 */
import { EventEmitter } from 'node:events';
import type { ChannelStatusChange } from '../watch/index.ts';
import type { InboxState, MailStore, OutboxState } from './mail-store.ts';

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

export class ClientEvents extends EventEmitter<ClientEventMap> {
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

  /**
   * Wraps the mail store's state writes so each one emits after it ran. Returns the store
   * (the same object) for use in an initializer.
   */
  observe(mail: MailStore): MailStore {
    const setOutbox = mail.setOutbox.bind(mail);
    mail.setOutbox = (id, state, patch = {}) => {
      setOutbox(id, state, patch);
      this.outbox({ id, state, ...(patch.detail !== undefined ? { detail: patch.detail } : {}) });
    };
    // sealDraft inserts through insertOutbox: one event for it too.
    const insertOutbox = mail.insertOutbox.bind(mail);
    mail.insertOutbox = (o) => {
      insertOutbox(o);
      this.outbox({ id: o.id, state: o.state });
    };
    const insertInbox = mail.insertInbox.bind(mail);
    mail.insertInbox = (i) => {
      const before = mail.inbox(i.id);
      insertInbox(i);
      if (!before) this.inbox({ id: i.id, state: i.state, fresh: true });
    };
    const setInbox = mail.setInbox.bind(mail);
    mail.setInbox = (id, state, patch = {}) => {
      setInbox(id, state, patch);
      this.inbox({ id, state, fresh: false });
    };
    const markRead = mail.markRead.bind(mail);
    mail.markRead = (id, patch, also) => {
      markRead(id, patch, also);
      this.inbox({ id, state: 'read', fresh: false });
    };
    const markFraud = mail.markFraud.bind(mail);
    mail.markFraud = (id, proof, detail, also) => {
      markFraud(id, proof, detail, also);
      this.inbox({ id, state: 'fraud', fresh: false });
    };
    return mail;
  }
}
