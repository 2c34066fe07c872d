/**
 * What each wallet transaction was for (a message's contract, its refund, a channel's open or
 * close, a payment to an address), from the contract book, the channel book and the mail.
 */
import { hex } from '@scure/base';
import { messageIdOf } from '../core/objects/index.ts';
import type { HistoryEntry } from '../wallet/index.ts';
import type { MailContext } from './mail-context.ts';
import { entryView } from './receive.ts';

/**
 * What a wallet transaction was for. message: the funding of a message's contract (sender-pays:
 * `direction` 'to' the contact; recipient-pays read: 'from' the sender); refund: a contract or a
 * channel HTLC that came back; channel-open / channel-close: a payment channel's funding, its
 * close or exit and the sweep of the payer's share; send: paid to an address; receive: coins
 * received (a faucet, a payment).
 */
export interface Purpose {
  kind: 'message' | 'refund' | 'channel-open' | 'channel-close' | 'send' | 'receive';
  messageId?: string;
  contact?: string;
  direction?: 'to' | 'from';
  channelId?: string;
  /** send: the outputs paid outside the wallet (address when the script has one, amount). */
  to?: { address?: string; amount: number }[];
}

export interface HistoryRow extends HistoryEntry {
  purposes: Purpose[];
}

/** txid → what it did, from the contract book (messages), the channel book and the outbox/inbox (contacts). */
export function purposesOf(ctx: MailContext, contactName: (nameKey: string) => string | undefined): Map<string, Purpose[]> {
  const out = new Map<string, Purpose[]>();
  const add = (txid: string | null, p: Purpose) => {
    if (txid === null) return;
    const list = out.get(txid) ?? [];
    list.push(p);
    out.set(txid, list);
  };
  const message = (id: string): { messageId: string; contact?: string; direction?: 'to' | 'from' } => {
    const sent = ctx.mail.outbox(id);
    if (sent) return { messageId: id, contact: contactName(sent.contact) ?? sent.contact, direction: 'to' };
    const got = ctx.mail.inbox(id);
    if (got) return { messageId: id, contact: entryView(ctx, got).from, direction: 'from' };
    return { messageId: id };
  };
  for (const c of ctx.payer.contracts()) {
    add(c.fundingTxid, { kind: 'message', ...message(c.id) });
    add(c.refundTxid, { kind: 'refund', ...message(c.id) });
  }
  for (const ch of ctx.channels.all()) {
    add(ch.fundingTxid, { kind: 'channel-open', channelId: ch.id });
    for (const t of [ch.closeTxid, ch.exitTxid, ch.commitmentTxid, ch.sweepTxid, ch.claimTxid]) add(t, { kind: 'channel-close', channelId: ch.id });
    for (const h of ctx.channels.htlcsOf(ch.id)) add(h.refundTxid, { kind: 'refund', channelId: ch.id, messageId: hex.encode(messageIdOf(h.hk)) });
  }
  for (const list of out.values()) {
    const seen = new Set<string>();
    list.splice(0, list.length, ...list.filter((p) => !seen.has(JSON.stringify(p)) && seen.add(JSON.stringify(p))));
  }
  return out;
}
