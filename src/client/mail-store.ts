/**
 * Typed access to the outbox and inbox tables of client.sqlite (schema: ./store.ts). Each
 * state is a string union; a row is written before the action its state enables (a deposit,
 * a funding), so a restart finds every message where it was left.
 */
import type { Db } from '../store/sqlite.ts';
import type { PaymentMode } from '../core/objects/index.ts';

/**
 * sealed: quote accepted, envelope sealed and stored, not yet deposited;
 * deposited: the relay's receipt is stored (recipient-pays: nothing more to do);
 * funded: sender-pays contract funding signed and broadcast (the contract book follows it);
 * delivered: k seen on chain (the relay claimed: the recipient sent r);
 * refunded: T passed without a claim, the refund confirmed;
 * failed: gave up (detail says why).
 */
export type OutboxState = 'sealed' | 'deposited' | 'funded' | 'delivered' | 'refunded' | 'failed';
/**
 * new: listed and verified, nothing paid; paying: recipient-pays funding being made (its key
 * index stored first); awaiting: waiting for k (confirmation, relay, or chain); read: opened;
 * failed: cannot be read (detail).
 */
export type InboxState = 'new' | 'paying' | 'awaiting' | 'read' | 'failed';

export const isFinalOutbox = (s: OutboxState): boolean => s === 'delivered' || s === 'refunded' || s === 'failed';

export interface OutboxRow {
  id: string;
  contact: string;
  relay: string;
  mode: PaymentMode;
  state: OutboxState;
  quote: Uint8Array;
  sealedHeader: Uint8Array;
  body: Uint8Array | null;
  r: Uint8Array | null;
  payerKey: number | null;
  receipt: Uint8Array | null;
  contractId: string | null;
  detail: string | null;
  size: number;
  amount: number;
  createdAt: number;
  updatedAt: number;
}

export interface InboxRow {
  id: string;
  relay: string;
  senderKey: Uint8Array;
  mode: PaymentMode;
  size: number;
  price: number;
  expiresAt: number;
  locktime: number;
  stored: Uint8Array;
  listing: Record<string, unknown>;
  state: InboxState;
  payerKey: number | null;
  content: Uint8Array | null;
  sentAt: number | null;
  detail: string | null;
  receivedAt: number;
  updatedAt: number;
}

const b = (v: unknown): Uint8Array | null => (v === null || v === undefined ? null : new Uint8Array(v as Uint8Array));

function outboxOf(r: Record<string, unknown>): OutboxRow {
  return {
    id: r.id as string, contact: r.contact as string, relay: r.relay as string, mode: r.mode as PaymentMode, state: r.state as OutboxState,
    quote: b(r.quote)!, sealedHeader: b(r.sealed_header)!, body: b(r.body), r: b(r.r), payerKey: r.payer_key as number | null,
    receipt: b(r.receipt), contractId: r.contract_id as string | null, detail: r.detail as string | null,
    size: r.size as number, amount: r.amount as number, createdAt: r.created_at as number, updatedAt: r.updated_at as number,
  };
}

function inboxOf(r: Record<string, unknown>): InboxRow {
  return {
    id: r.id as string, relay: r.relay as string, senderKey: b(r.sender_key)!, mode: r.mode as PaymentMode, size: r.size as number,
    price: r.price as number, expiresAt: r.expires_at as number, locktime: r.locktime as number, stored: b(r.stored)!,
    listing: JSON.parse(r.listing as string) as Record<string, unknown>, state: r.state as InboxState, payerKey: r.payer_key as number | null,
    content: b(r.content), sentAt: r.sent_at as number | null, detail: r.detail as string | null,
    receivedAt: r.received_at as number, updatedAt: r.updated_at as number,
  };
}

export class MailStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  insertOutbox(o: Omit<OutboxRow, 'createdAt' | 'updatedAt' | 'receipt' | 'contractId' | 'detail'>): void {
    const t = this.now();
    this.db
      .prepare(
        `INSERT INTO outbox (id, contact, relay, mode, state, quote, sealed_header, body, r, payer_key, size, amount, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(o.id, o.contact, o.relay, o.mode, o.state, o.quote, o.sealedHeader, o.body, o.r, o.payerKey, o.size, o.amount, t, t);
  }

  outbox(id: string): OutboxRow | undefined {
    const r = this.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && outboxOf(r);
  }

  outboxAll(): OutboxRow[] {
    return (this.db.prepare('SELECT * FROM outbox ORDER BY created_at, id').all() as Record<string, unknown>[]).map(outboxOf);
  }

  pendingOutbox(): OutboxRow[] {
    return (this.db.prepare("SELECT * FROM outbox WHERE state IN ('sealed', 'deposited', 'funded') ORDER BY created_at").all() as Record<string, unknown>[]).map(outboxOf);
  }

  setOutbox(id: string, state: OutboxState, patch: { receipt?: Uint8Array; contractId?: string; dropBody?: boolean; detail?: string } = {}): void {
    this.db
      .prepare(
        `UPDATE outbox SET state = ?, receipt = coalesce(?, receipt), contract_id = coalesce(?, contract_id),
           body = CASE WHEN ? THEN NULL ELSE body END, detail = ?, updated_at = ? WHERE id = ?`,
      )
      .run(state, patch.receipt ?? null, patch.contractId ?? null, patch.dropBody ? 1 : 0, patch.detail ?? null, this.now(), id);
  }

  insertInbox(i: Omit<InboxRow, 'receivedAt' | 'updatedAt' | 'payerKey' | 'content' | 'sentAt' | 'detail'>): void {
    const t = this.now();
    this.db
      .prepare(
        `INSERT INTO inbox (id, relay, sender_key, mode, size, price, expires_at, locktime, stored, listing, state, received_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(i.id, i.relay, i.senderKey, i.mode, i.size, i.price, i.expiresAt, i.locktime, i.stored, JSON.stringify(i.listing), i.state, t, t);
  }

  inbox(id: string): InboxRow | undefined {
    const r = this.db.prepare('SELECT * FROM inbox WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && inboxOf(r);
  }

  /** Entries whose id starts with `prefix` (lowercase hex). */
  inboxByPrefix(prefix: string): InboxRow[] {
    return (this.db.prepare("SELECT * FROM inbox WHERE id >= ? AND id < ? || 'g' ORDER BY id LIMIT 2").all(prefix, prefix) as Record<string, unknown>[]).map(inboxOf);
  }

  inboxAll(): InboxRow[] {
    return (this.db.prepare('SELECT * FROM inbox ORDER BY received_at, id').all() as Record<string, unknown>[]).map(inboxOf);
  }

  setInbox(id: string, state: InboxState, patch: { payerKey?: number; content?: Uint8Array; sentAt?: number; detail?: string; listing?: Record<string, unknown> } = {}): void {
    this.db
      .prepare(
        `UPDATE inbox SET state = ?, payer_key = coalesce(?, payer_key), content = coalesce(?, content), sent_at = coalesce(?, sent_at),
           listing = coalesce(?, listing), detail = ?, updated_at = ? WHERE id = ?`,
      )
      .run(state, patch.payerKey ?? null, patch.content ?? null, patch.sentAt ?? null, patch.listing ? JSON.stringify(patch.listing) : null, patch.detail ?? null, this.now(), id);
  }
}
