/**
 * Typed access to the outbox and inbox tables of client.sqlite (schema: ./store.ts). Each
 * state is a string union; a row is written before the action its state enables (a deposit,
 * a funding), so a restart finds every message where it was left.
 */
import type { Db, Statement } from '../store/sqlite.ts';
import type { PaymentMode } from '../core/objects/index.ts';

/**
 * sealed: quote accepted, envelope sealed and stored, not yet deposited;
 * deposited: the relay's receipt is stored (recipient-pays: nothing more to do);
 * funded: sender-pays contract funding signed and broadcast (the contract book follows it);
 * paid: sender-pays over a payment channel (channel_id set): the HTLC is in the channel and the
 *   message deposited; no transaction on chain. The HTLC is added BEFORE the deposit (the relay
 *   stores a deposit without a contract only when an HTLC already pays it), while the row is
 *   still 'sealed': the channel book says whether the add was made;
 * delivered: k seen on chain (the relay claimed: the recipient sent r), or the relay's settle of
 *   the channel HTLC taken (k and r checked against the hashes);
 * refunded: T passed without a claim, the refund confirmed; over a channel: the HTLC failed back;
 * failed: gave up (detail says why).
 */
export type OutboxState = 'sealed' | 'deposited' | 'funded' | 'paid' | 'delivered' | 'refunded' | 'failed';
/**
 * new: listed and verified, nothing paid; paying: recipient-pays funding being made (its key
 * index stored first); awaiting: waiting for k (confirmation, relay, or chain); read: opened;
 * failed: cannot be read (detail);
 * corrupt: the sender's authenticated header opens, but the relay's copy fails a check made before
 *   paying (e.g. its receipt does not cover the blob served): nothing paid, detail says what;
 * fraud: paid, and the blob does not open under the released k to the receipt's hc: the
 *   fraud proof is on the row (proof) and the relay is recorded in relay_fraud.
 */
export type InboxState = 'new' | 'paying' | 'awaiting' | 'read' | 'failed' | 'corrupt' | 'fraud';

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
  /** The payer channel whose HTLC pays it (sender-pays over a channel), else null. */
  channelId: string | null;
  detail: string | null;
  size: number;
  amount: number;
  /** H(recipient, mode, content) of the send that made it (./send.ts intentOf); null on rows older than migration 4. */
  intent: Uint8Array | null;
  /** The MessageContent bytes the user sent; null on rows older than migration 7. */
  content: Uint8Array | null;
  createdAt: number;
  updatedAt: number;
}

/** A send asked for and not yet sealed into an outbox row (client.sqlite outbox_drafts). */
export interface DraftRow {
  /** Local id, hex: no message id exists before a relay quotes. */
  id: string;
  contact: string;
  intent: Uint8Array;
  mode: PaymentMode;
  /** The MessageContent, canonical bytes. */
  content: Uint8Array;
  maxFee: number;
  retentionSecs: number;
  /** False: the chain forced (`channel: false`). */
  channel: boolean;
  createdAt: number;
}

export type NewOutboxRow = Omit<OutboxRow, 'createdAt' | 'updatedAt' | 'receipt' | 'contractId' | 'detail' | 'channelId' | 'intent' | 'content'> & {
  channelId?: string | null;
  intent?: Uint8Array | null;
  content?: Uint8Array | null;
};

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
  /** recipient-pays read over a payer channel: the channel whose HTLC pays it. */
  channelId: string | null;
  content: Uint8Array | null;
  sentAt: number | null;
  detail: string | null;
  /** 'fraud': the FraudProof (0x07 encoding). */
  proof: Uint8Array | null;
  receivedAt: number;
  updatedAt: number;
}

const b = (v: unknown): Uint8Array | null => (v === null || v === undefined ? null : new Uint8Array(v as Uint8Array));

function outboxOf(r: Record<string, unknown>): OutboxRow {
  return {
    id: r.id as string, contact: r.contact as string, relay: r.relay as string, mode: r.mode as PaymentMode, state: r.state as OutboxState,
    quote: b(r.quote)!, sealedHeader: b(r.sealed_header)!, body: b(r.body), r: b(r.r), payerKey: r.payer_key as number | null,
    receipt: b(r.receipt), contractId: r.contract_id as string | null, channelId: (r.channel_id as string | null) ?? null, detail: r.detail as string | null,
    size: r.size as number, amount: r.amount as number, intent: b(r.intent), content: b(r.content), createdAt: r.created_at as number, updatedAt: r.updated_at as number,
  };
}

function draftOf(r: Record<string, unknown>): DraftRow {
  return {
    id: r.id as string, contact: r.contact as string, intent: b(r.intent)!, mode: r.mode as PaymentMode, content: b(r.content)!,
    maxFee: r.max_fee as number, retentionSecs: r.retention_secs as number, channel: r.channel === 1, createdAt: r.created_at as number,
  };
}

function inboxOf(r: Record<string, unknown>): InboxRow {
  return {
    id: r.id as string, relay: r.relay as string, senderKey: b(r.sender_key)!, mode: r.mode as PaymentMode, size: r.size as number,
    price: r.price as number, expiresAt: r.expires_at as number, locktime: r.locktime as number, stored: b(r.stored)!,
    listing: JSON.parse(r.listing as string) as Record<string, unknown>, state: r.state as InboxState, payerKey: r.payer_key as number | null,
    channelId: (r.channel_id as string | null) ?? null,
    content: b(r.content), sentAt: r.sent_at as number | null, detail: r.detail as string | null, proof: b(r.proof),
    receivedAt: r.received_at as number, updatedAt: r.updated_at as number,
  };
}

/** Told of each committed state change of the mail (ClientEvents is one: the app pushes them to the browser). */
export interface MailStoreListener {
  outbox(e: { id: string; state: OutboxState; detail?: string }): void;
  inbox(e: { id: string; state: InboxState; fresh: boolean }): void;
}

type InboxPatch = { payerKey?: number; channelId?: string; content?: Uint8Array; sentAt?: number; detail?: string; listing?: Record<string, unknown> };

export class MailStore {
  /** Prepared once: the send and read paths run these per message. */
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly listener?: MailStoreListener,
  ) {}

  private sql(text: string): Statement {
    let st = this.statements.get(text);
    if (st === undefined) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

  insertOutbox(o: NewOutboxRow): void {
    this.writeOutbox(o);
    this.listener?.outbox({ id: o.id, state: o.state });
  }

  private writeOutbox(o: NewOutboxRow): void {
    const t = this.now();
    this.sql(
        `INSERT INTO outbox (id, contact, relay, mode, state, quote, sealed_header, body, r, payer_key, channel_id, size, amount, intent, content, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(o.id, o.contact, o.relay, o.mode, o.state, o.quote, o.sealedHeader, o.body, o.r, o.payerKey, o.channelId ?? null, o.size, o.amount, o.intent ?? null, o.content ?? null, t, t);
  }

  insertDraft(d: Omit<DraftRow, 'createdAt'>): void {
    this.sql('INSERT INTO outbox_drafts (id, contact, intent, mode, content, max_fee, retention_secs, channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(d.id, d.contact, d.intent, d.mode, d.content, d.maxFee, d.retentionSecs, d.channel ? 1 : 0, this.now());
  }

  drafts(): DraftRow[] {
    return (this.sql('SELECT * FROM outbox_drafts ORDER BY created_at, id').all() as Record<string, unknown>[]).map(draftOf);
  }

  draft(id: string): DraftRow | undefined {
    const r = this.sql('SELECT * FROM outbox_drafts WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && draftOf(r);
  }

  draftByIntent(intent: Uint8Array): DraftRow | undefined {
    const r = this.sql('SELECT * FROM outbox_drafts WHERE intent = ? ORDER BY created_at LIMIT 1').get(intent) as Record<string, unknown> | undefined;
    return r && draftOf(r);
  }

  deleteDraft(id: string): void {
    this.sql('DELETE FROM outbox_drafts WHERE id = ?').run(id);
  }

  /**
   * The draft becomes its outbox row in one transaction: a crash leaves one or the other, never
   * both or neither. False (nothing written) when the draft is gone: another process sealed it
   * first, so its message must not be made a second time.
   */
  sealDraft(draftId: string, o: NewOutboxRow): boolean {
    const sealed = this.db.transaction(() => {
      if (this.sql('DELETE FROM outbox_drafts WHERE id = ?').run(draftId).changes === 0) return false;
      this.writeOutbox(o);
      return true;
    })();
    // Told once committed.
    if (sealed) this.listener?.outbox({ id: o.id, state: o.state });
    return sealed;
  }

  /** Outbox rows made by sends of `intent`, newest first. */
  outboxByIntent(intent: Uint8Array): OutboxRow[] {
    return (this.sql('SELECT * FROM outbox WHERE intent = ? ORDER BY created_at DESC, id').all(intent) as Record<string, unknown>[]).map(outboxOf);
  }

  /** A sealed channel row goes on chain: its refund key, and the fresh r with the sealed header that carries it (send.ts payByChannel). */
  outboxToChain(id: string, payerKey: number, fresh: { r: Uint8Array; sealedHeader: Uint8Array }): void {
    this.sql(`UPDATE outbox SET channel_id = NULL, payer_key = ?, r = ?, sealed_header = ?, updated_at = ? WHERE id = ? AND state = 'sealed'`)
      .run(payerKey, fresh.r, fresh.sealedHeader, this.now(), id);
  }

  /** Rows paid through `channelId` that still wait for its settle or fail. */
  paidOver(channelId: string): OutboxRow[] {
    return (this.sql("SELECT * FROM outbox WHERE channel_id = ? AND state = 'paid'").all(channelId) as Record<string, unknown>[]).map(outboxOf);
  }

  outbox(id: string): OutboxRow | undefined {
    const r = this.sql('SELECT * FROM outbox WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && outboxOf(r);
  }

  outboxAll(): OutboxRow[] {
    return (this.sql('SELECT * FROM outbox ORDER BY created_at, id').all() as Record<string, unknown>[]).map(outboxOf);
  }

  pendingOutbox(): OutboxRow[] {
    return (this.sql("SELECT * FROM outbox WHERE state IN ('sealed', 'deposited', 'funded', 'paid') ORDER BY created_at").all() as Record<string, unknown>[]).map(outboxOf);
  }

  setOutbox(id: string, state: OutboxState, patch: { receipt?: Uint8Array; contractId?: string; dropBody?: boolean; detail?: string } = {}): void {
    this.sql(
        `UPDATE outbox SET state = ?, receipt = coalesce(?, receipt), contract_id = coalesce(?, contract_id),
           body = CASE WHEN ? THEN NULL ELSE body END, detail = ?, updated_at = ? WHERE id = ?`,
      )
      .run(state, patch.receipt ?? null, patch.contractId ?? null, patch.dropBody ? 1 : 0, patch.detail ?? null, this.now(), id);
    this.listener?.outbox({ id, state, ...(patch.detail !== undefined ? { detail: patch.detail } : {}) });
  }

  insertInbox(i: Omit<InboxRow, 'receivedAt' | 'updatedAt' | 'payerKey' | 'channelId' | 'content' | 'sentAt' | 'detail' | 'proof'> & { detail?: string }): void {
    const t = this.now();
    const inserted = this.sql(
        `INSERT INTO inbox (id, relay, sender_key, mode, size, price, expires_at, locktime, stored, listing, state, detail, received_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(i.id, i.relay, i.senderKey, i.mode, i.size, i.price, i.expiresAt, i.locktime, i.stored, JSON.stringify(i.listing), i.state, i.detail ?? null, t, t);
    // An entry stored before (ON CONFLICT DO NOTHING) is no news.
    if (inserted.changes > 0) this.listener?.inbox({ id: i.id, state: i.state, fresh: true });
  }

  /** A paid message the relay cheated on: 'fraud' with its proof, in the same transaction as `also` (the relay's record). */
  markFraud(id: string, proof: Uint8Array, detail: string, also: () => void): void {
    this.db.transaction(() => {
      this.sql(`UPDATE inbox SET state = 'fraud', proof = ?, detail = ?, updated_at = ? WHERE id = ?`).run(proof, detail, this.now(), id);
      also();
    })();
    this.listener?.inbox({ id, state: 'fraud', fresh: false });
  }

  /** A recipient-pays read whose channel refused the HTLC goes on chain: no channel, back to 'new'. */
  inboxToChain(id: string): void {
    if (this.sql(`UPDATE inbox SET channel_id = NULL, state = 'new', updated_at = ? WHERE id = ? AND payer_key IS NULL`).run(this.now(), id).changes > 0) {
      this.listener?.inbox({ id, state: 'new', fresh: false });
    }
  }

  inbox(id: string): InboxRow | undefined {
    const r = this.sql('SELECT * FROM inbox WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && inboxOf(r);
  }

  /**
   * The state, stored listing (its JSON text) and detail of each of `ids` held here, in one
   * query: a refresh meets every message still listed under a wanted tag, read ones included,
   * and needs no more of them than this.
   */
  inboxListings(ids: string[]): Map<string, { state: InboxState; listing: string; detail: string | null }> {
    const rows = this.sql('SELECT id, state, listing, detail FROM inbox WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as {
      id: string; state: InboxState; listing: string; detail: string | null;
    }[];
    return new Map(rows.map((r) => [r.id, { state: r.state, listing: r.listing, detail: r.detail }]));
  }

  /** Entries whose id starts with `prefix` (lowercase hex). */
  inboxByPrefix(prefix: string): InboxRow[] {
    return (this.sql("SELECT * FROM inbox WHERE id >= ? AND id < ? || 'g' ORDER BY id LIMIT 2").all(prefix, prefix) as Record<string, unknown>[]).map(inboxOf);
  }

  inboxAll(): InboxRow[] {
    return (this.sql('SELECT * FROM inbox ORDER BY received_at, id').all() as Record<string, unknown>[]).map(inboxOf);
  }

  setInbox(id: string, state: InboxState, patch: InboxPatch = {}): void {
    this.writeInbox(id, state, patch);
    this.listener?.inbox({ id, state, fresh: false });
  }

  /**
   * A message read: its content stored and `also` (what it taught: the contact's tags) in one
   * transaction, so one commit, and a crash keeps both or neither. Told once committed.
   */
  markRead(id: string, patch: { content: Uint8Array; sentAt: number }, also: () => void): void {
    this.db.transaction(() => {
      this.writeInbox(id, 'read', patch);
      also();
    })();
    this.listener?.inbox({ id, state: 'read', fresh: false });
  }

  private writeInbox(id: string, state: InboxState, patch: InboxPatch): void {
    this.sql(
        `UPDATE inbox SET state = ?, payer_key = coalesce(?, payer_key), channel_id = coalesce(?, channel_id), content = coalesce(?, content),
           sent_at = coalesce(?, sent_at), listing = coalesce(?, listing), detail = ?, updated_at = ? WHERE id = ?`,
      )
      .run(
        state, patch.payerKey ?? null, patch.channelId ?? null, patch.content ?? null, patch.sentAt ?? null, patch.listing ? JSON.stringify(patch.listing) : null,
        patch.detail ?? null, this.now(), id,
      );
  }
}
