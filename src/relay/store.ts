/**
 * The relay's SQLite store (relay.sqlite in the data dir). All writes go through one
 * GroupCommitWriter; reads run directly on the same connection (better-sqlite3 is
 * synchronous, so a read never sees half of a batch).
 *
 * Schema (migration 1):
 *   quotes      one row per issued quote. k is the one-time message key: secret until
 *               the relay is paid, deleted with the message (or when the unused quote
 *               lapses). contract_index is the relay contract key's derivation index.
 *               encoded = the signed Quote's canonical bytes (served with the message).
 *   messages    one row per stored message; id = H("satpost/v1/msgid" || hk), one per quote.
 *               blob = AEAD_k(c); hblob, hc as in the receipt; hr and funding for
 *               sender-pays; state (MessageState); receipt = signed Receipt bytes;
 *               deposit_digest = H(Deposit bytes), for idempotent deposits.
 *   mailboxes   per-mailbox usage (count, blob bytes), kept in step with messages so
 *               quota checks are one lookup.
 *   challenges  single-use mailbox challenges: issued for one mailbox, used once, until expires_at.
 *   meta        next_contract_index: contract key indexes are never reused.
 * Migration 2: messages.contract_id (hex id of the message's contract in the relay's
 *   contract book, wallet.sqlite: sender-pays from the deposit, recipient-pays from the first
 *   accepted PaymentNotice) and messages.payer_pubkey (the contract's refund key).
 * Times are ms since the Unix epoch; byte strings are BLOBs; ids are never stored as text.
 */
import { openDb, type Db } from '../store/sqlite.ts';
import type { PaymentMode } from '../core/objects/index.ts';
import { GroupCommitWriter } from './writer.ts';
import { RelayError } from './errors.ts';

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE quotes (
     quote_id BLOB PRIMARY KEY,
     mailbox BLOB NOT NULL,
     mode TEXT NOT NULL,
     size INTEGER NOT NULL,
     amount INTEGER NOT NULL,
     locktime INTEGER NOT NULL,
     contract_index INTEGER NOT NULL,
     k BLOB NOT NULL,
     hk BLOB NOT NULL,
     expires_at INTEGER NOT NULL,
     valid_until INTEGER NOT NULL,
     encoded BLOB NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX quotes_valid_until ON quotes(valid_until);
   CREATE TABLE messages (
     id BLOB PRIMARY KEY,
     quote_id BLOB NOT NULL UNIQUE REFERENCES quotes(quote_id),
     mailbox BLOB NOT NULL,
     mode TEXT NOT NULL,
     sealed_header BLOB NOT NULL,
     blob BLOB NOT NULL,
     hblob BLOB NOT NULL,
     hk BLOB NOT NULL,
     hc BLOB NOT NULL,
     hr BLOB,
     funding_txid TEXT,
     funding_vout INTEGER,
     expires_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     receipt BLOB NOT NULL,
     deposit_digest BLOB NOT NULL
   );
   CREATE INDEX messages_mailbox ON messages(mailbox, created_at);
   CREATE INDEX messages_expiry ON messages(expires_at);
   CREATE TABLE mailboxes (
     mailbox BLOB PRIMARY KEY,
     count INTEGER NOT NULL,
     bytes INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE challenges (
     challenge BLOB PRIMARY KEY,
     mailbox BLOB NOT NULL,
     expires_at INTEGER NOT NULL,
     used INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO meta VALUES ('next_contract_index', 0);`,
  `ALTER TABLE messages ADD COLUMN contract_id TEXT;
   ALTER TABLE messages ADD COLUMN payer_pubkey BLOB;`,
];

/**
 * stored: held, waiting for payment (recipient-pays) or for r (sender-pays).
 * funding-pending: sender-pays funding seen but not yet at the required depth.
 * unlocked: k was released (claim in progress or done). Final states end nothing here;
 * deletion at the end of retention is the only exit.
 */
export type MessageState = 'stored' | 'funding-pending' | 'unlocked';
export const isFinalState = (s: MessageState): boolean => s === 'unlocked';

export interface QuoteRow {
  quoteId: Uint8Array;
  mailbox: Uint8Array;
  mode: PaymentMode;
  size: number;
  amount: number;
  locktime: number;
  contractIndex: number;
  k: Uint8Array;
  hk: Uint8Array;
  expiresAt: number;
  validUntil: number;
  encoded: Uint8Array;
}

export interface MessageRow {
  id: Uint8Array;
  quoteId: Uint8Array;
  mailbox: Uint8Array;
  mode: PaymentMode;
  sealedHeader: Uint8Array;
  blob: Uint8Array;
  hblob: Uint8Array;
  hk: Uint8Array;
  hc: Uint8Array;
  hr: Uint8Array | undefined;
  fundingTxid: string | undefined;
  fundingVout: number | undefined;
  payerPubkey: Uint8Array | undefined;
  contractId: string | undefined;
  expiresAt: number;
  state: MessageState;
  createdAt: number;
  receipt: Uint8Array;
  depositDigest: Uint8Array;
}

export type MessageSummary = Omit<MessageRow, 'sealedHeader' | 'blob' | 'depositDigest'> & { size: number };

export interface ChallengeOutcome {
  result: 'ok' | 'unknown' | 'used' | 'expired' | 'wrong-mailbox';
}

export interface StoreOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  batchMax: number;
  /** Least time between two group commits under load, ms (default COMMIT_INTERVAL_MS; 0: commit every turn). */
  commitIntervalMs?: number;
  /** The relay data directory's data key (see OpenOptions.key); absent: plaintext (benchmarks' baseline). */
  key?: Uint8Array;
}

/** Long enough that a busy relay's commits carry hundreds of writes; short next to a deposit's round trip. */
export const COMMIT_INTERVAL_MS = 2;

const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const keyOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
/** Quotes kept in memory (the oldest leave first); each costs about 1 KiB. */
const QUOTE_CACHE_MAX = 65_536;
const EMPTY = Buffer.alloc(0);
const nullable = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

interface RawMessage {
  id: Buffer; quote_id: Buffer; mailbox: Buffer; mode: PaymentMode; sealed_header: Buffer; blob: Buffer;
  hblob: Buffer; hk: Buffer; hc: Buffer; hr: Buffer | null; funding_txid: string | null; funding_vout: number | null;
  payer_pubkey: Buffer | null; contract_id: string | null; expires_at: number; state: MessageState; created_at: number; receipt: Buffer; deposit_digest: Buffer;
}

function toMessage(r: RawMessage): MessageRow {
  return {
    id: u8(r.id), quoteId: u8(r.quote_id), mailbox: u8(r.mailbox), mode: r.mode, sealedHeader: u8(r.sealed_header),
    blob: u8(r.blob), hblob: u8(r.hblob), hk: u8(r.hk), hc: u8(r.hc), hr: r.hr === null ? undefined : u8(r.hr),
    fundingTxid: nullable(r.funding_txid), fundingVout: nullable(r.funding_vout),
    payerPubkey: r.payer_pubkey === null ? undefined : u8(r.payer_pubkey), contractId: nullable(r.contract_id), expiresAt: r.expires_at, state: r.state,
    createdAt: r.created_at, receipt: u8(r.receipt), depositDigest: u8(r.deposit_digest),
  };
}

function prepare(db: Db) {
return {
    insertQuote: db.prepare(
      `INSERT INTO quotes (quote_id, mailbox, mode, size, amount, locktime, contract_index, k, hk, expires_at, valid_until, encoded)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    bumpIndex: db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'next_contract_index'`),
    getQuote: db.prepare(`SELECT * FROM quotes WHERE quote_id = ?`),
    insertMessage: db.prepare(
      `INSERT INTO messages (id, quote_id, mailbox, mode, sealed_header, blob, hblob, hk, hc, hr, funding_txid, funding_vout,
         payer_pubkey, contract_id, expires_at, state, created_at, receipt, deposit_digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(quote_id) DO NOTHING`,
    ),
    getUsage: db.prepare(`SELECT count, bytes FROM mailboxes WHERE mailbox = ?`),
    addUsage: db.prepare(
      `INSERT INTO mailboxes (mailbox, count, bytes) VALUES (?, 1, ?)
       ON CONFLICT(mailbox) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes`,
    ),
    byQuote: db.prepare(`SELECT * FROM messages WHERE quote_id = ?`),
    byId: db.prepare(`SELECT * FROM messages WHERE id = ?`),
    list: db.prepare(
      `SELECT id, quote_id, mailbox, mode, hblob, hk, hc, hr, funding_txid, funding_vout, payer_pubkey, contract_id, expires_at,
         state, created_at, receipt, length(blob) - 16 AS size FROM messages
       WHERE mailbox = ? AND expires_at > ? ORDER BY created_at, id LIMIT ?`,
    ),
    // Keyset paging: strictly after (created_at, id); `created_at >= ?` keeps the range on messages_mailbox.
    listAfter: db.prepare(
      `SELECT id, quote_id, mailbox, mode, hblob, hk, hc, hr, funding_txid, funding_vout, payer_pubkey, contract_id, expires_at,
         state, created_at, receipt, length(blob) - 16 AS size FROM messages
       WHERE mailbox = ? AND expires_at > ? AND created_at >= ? AND (created_at > ? OR id > ?) ORDER BY created_at, id LIMIT ?`,
    ),
    setPayment: db.prepare(`UPDATE messages SET contract_id = ?, payer_pubkey = ? WHERE id = ? AND contract_id IS NULL`),
    insertChallenge: db.prepare(`INSERT INTO challenges (challenge, mailbox, expires_at) VALUES (?, ?, ?)`),
    useChallenge: db.prepare(`UPDATE challenges SET used = 1 WHERE challenge = ? AND mailbox = ? AND used = 0 AND expires_at > ?`),
    getChallenge: db.prepare(`SELECT mailbox, expires_at, used FROM challenges WHERE challenge = ?`),
    setState: db.prepare(`UPDATE messages SET state = ? WHERE id = ?`),
    expired: db.prepare(`SELECT id, quote_id, mailbox, contract_id, length(blob) AS bytes FROM messages WHERE expires_at <= ? LIMIT 1000`),
    deleteMessage: db.prepare(`DELETE FROM messages WHERE id = ?`),
    deleteQuote: db.prepare(`DELETE FROM quotes WHERE quote_id = ?`),
    subUsage: db.prepare(`UPDATE mailboxes SET count = count - 1, bytes = bytes - ? WHERE mailbox = ?`),
    dropEmpty: db.prepare(`DELETE FROM mailboxes WHERE count <= 0`),
    lapsedQuotes: db.prepare(
      `DELETE FROM quotes WHERE valid_until <= ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.quote_id = quotes.quote_id)`,
    ),
    oldChallenges: db.prepare(`DELETE FROM challenges WHERE expires_at <= ?`),
    totals: db.prepare(`SELECT coalesce(sum(count), 0) AS n, coalesce(sum(bytes), 0) AS bytes FROM mailboxes`),
    countState: db.prepare(`SELECT count(*) AS n FROM messages WHERE state = ?`),
  };
}

/**
 * A quote row as committed. `fresh`: issued by this process and no deposit has claimed it
 * since, so no message can exist for it (a deposit needs the quote's commit first).
 */
interface CachedQuote {
  row: QuoteRow;
  fresh: boolean;
}

export class RelayStore {
  readonly db: Db;
  readonly writer: GroupCommitWriter;
  private nextContractIndex: number;
  private readonly stmt: ReturnType<typeof prepare>;
  /**
   * Quote rows never change once written, so every deposit's lookup can be served from
   * memory; entries leave when sweep deletes quotes (or lapse), or the cache is full.
   */
  private readonly quotes = new Map<string, CachedQuote>();

  constructor(opts: StoreOptions) {
    this.db = openDb({ path: opts.path, migrations: MIGRATIONS, synchronous: opts.synchronous, ...(opts.key ? { key: opts.key } : {}) });
    this.writer = new GroupCommitWriter(this.db, opts.batchMax, opts.commitIntervalMs ?? COMMIT_INTERVAL_MS);
    this.stmt = prepare(this.db);
    this.nextContractIndex = (this.db.prepare(`SELECT value FROM meta WHERE key = 'next_contract_index'`).get() as { value: number }).value;
  }

  /**
   * Reserves the next contract key index. It is persisted with the quote that uses it
   * (meta.next_contract_index only moves forward), so an index is never handed out twice,
   * not even across a crash.
   */
  allocateContractIndex(): number {
    return this.nextContractIndex++;
  }

  async putQuote(q: QuoteRow): Promise<void> {
    await this.writer.submit(() => {
      this.stmt.insertQuote.run(q.quoteId, q.mailbox, q.mode, q.size, q.amount, q.locktime, q.contractIndex, q.k, q.hk, q.expiresAt, q.validUntil, q.encoded);
      this.stmt.bumpIndex.run(q.contractIndex + 1);
    });
    // Only after the commit: a cached quote is one a deposit may find.
    this.remember(q, true);
  }

  getQuote(quoteId: Uint8Array): QuoteRow | undefined {
    const key = keyOf(quoteId);
    const hit = this.quotes.get(key);
    if (hit !== undefined) return hit.row;
    const r = this.stmt.getQuote.get(quoteId) as
      | { quote_id: Buffer; mailbox: Buffer; mode: PaymentMode; size: number; amount: number; locktime: number; contract_index: number; k: Buffer; hk: Buffer; expires_at: number; valid_until: number; encoded: Buffer }
      | undefined;
    if (r === undefined) return undefined;
    const row: QuoteRow = {
      quoteId: u8(r.quote_id), mailbox: u8(r.mailbox), mode: r.mode, size: r.size, amount: r.amount, locktime: r.locktime,
      contractIndex: r.contract_index, k: u8(r.k), hk: u8(r.hk), expiresAt: r.expires_at, validUntil: r.valid_until, encoded: u8(r.encoded),
    };
    // Read from disk: a message may exist for it, so it is not fresh.
    this.remember(row, false);
    return row;
  }

  /**
   * True iff no message can be stored under this quote yet (issued here, not yet claimed
   * by a deposit): the deposit path then skips its look-up of an earlier message.
   */
  quoteUnused(quoteId: Uint8Array): boolean {
    return this.quotes.get(keyOf(quoteId))?.fresh === true;
  }

  /** A deposit for this quote is under way: from now on its earlier message must be looked up. */
  claimQuote(quoteId: Uint8Array): void {
    const hit = this.quotes.get(keyOf(quoteId));
    if (hit !== undefined) hit.fresh = false;
  }

  private remember(row: QuoteRow, fresh: boolean): void {
    if (this.quotes.size >= QUOTE_CACHE_MAX) this.quotes.delete(this.quotes.keys().next().value!);
    this.quotes.set(keyOf(row.quoteId), { row, fresh });
  }

  /** Drops cached quotes that sweep may have deleted (their message expired, or they lapsed unused). */
  private forgetQuotes(now: number): void {
    for (const [key, { row }] of this.quotes) if (row.expiresAt <= now || row.validUntil <= now) this.quotes.delete(key);
  }

  mailboxUsage(mailbox: Uint8Array): { count: number; bytes: number } {
    return (this.stmt.getUsage.get(mailbox) as { count: number; bytes: number } | undefined) ?? { count: 0, bytes: 0 };
  }

  /**
   * Stores a message unless its quote already has one. Inside the batch, so the quota
   * check and the insert are atomic: `quota` throws (rolling back this write only) when
   * the mailbox has no room. Resolves the row now stored for the quote: the new one, or
   * the earlier one (the caller compares deposit digests).
   */
  putMessage(m: MessageRow, quota: { maxCount: number; maxBytes: number }): Promise<{ inserted: boolean; row: MessageRow }> {
    return this.writer.submit(() => {
      // The insert itself detects an earlier message for the quote (ON CONFLICT DO NOTHING):
      // no lookup on the common path.
      const earlier = () => ({ inserted: false, row: toMessage(this.stmt.byQuote.get(m.quoteId) as RawMessage) });
      const usage = this.mailboxUsage(m.mailbox);
      if (usage.count + 1 > quota.maxCount || usage.bytes + m.blob.length > quota.maxBytes) {
        if (this.stmt.byQuote.get(m.quoteId) !== undefined) return earlier();
        throw new RelayError('MAILBOX_QUOTA_FULL', `mailbox holds ${usage.count} messages and ${usage.bytes} bytes; limits ${quota.maxCount} and ${quota.maxBytes}`);
      }
      const { changes } = this.stmt.insertMessage.run(
        m.id, m.quoteId, m.mailbox, m.mode, m.sealedHeader, m.blob, m.hblob, m.hk, m.hc, m.hr ?? null, m.fundingTxid ?? null,
        m.fundingVout ?? null, m.payerPubkey ?? null, m.contractId ?? null, m.expiresAt, m.state, m.createdAt, m.receipt, m.depositDigest,
      );
      if (changes === 0) return earlier();
      this.stmt.addUsage.run(m.mailbox, m.blob.length);
      return { inserted: true, row: m };
    });
  }

  messageByQuote(quoteId: Uint8Array): MessageRow | undefined {
    const r = this.stmt.byQuote.get(quoteId) as RawMessage | undefined;
    return r && toMessage(r);
  }

  message(id: Uint8Array): MessageRow | undefined {
    const r = this.stmt.byId.get(id) as RawMessage | undefined;
    return r && toMessage(r);
  }

  /**
   * Unexpired messages of `mailbox` in (createdAt, id) order, at most `limit`; with `after`,
   * only those strictly after that position (keyset paging, docs/relay-api.md).
   */
  list(mailbox: Uint8Array, now: number, limit: number, after?: { createdAt: number; id: Uint8Array }): MessageSummary[] {
    const rows = (
      after === undefined
        ? this.stmt.list.all(mailbox, now, limit)
        : this.stmt.listAfter.all(mailbox, now, after.createdAt, after.createdAt, after.id, limit)
    ) as (RawMessage & { size: number })[];
    return rows.map((r) => {
      const { sealedHeader: _h, blob: _b, depositDigest: _d, ...m } = toMessage({ ...r, sealed_header: EMPTY, blob: EMPTY, deposit_digest: EMPTY });
      return { ...m, size: r.size };
    });
  }

  /** Binds a recipient-pays message to the contract of its first accepted PaymentNotice (durably). */
  setPayment(id: Uint8Array, contractId: string, payerPubkey: Uint8Array): Promise<void> {
    return this.writer.submit(() => void this.stmt.setPayment.run(contractId, payerPubkey, id));
  }

  putChallenge(challenge: Uint8Array, mailbox: Uint8Array, expiresAt: number): Promise<void> {
    return this.writer.submit(() => void this.stmt.insertChallenge.run(challenge, mailbox, expiresAt));
  }

  /**
   * Marks a challenge used, atomically: of two requests racing with the same challenge
   * exactly one gets 'ok'. A direct write (not batched): it is rare and must be decided
   * before the caller answers.
   */
  useChallenge(challenge: Uint8Array, mailbox: Uint8Array, now: number): ChallengeOutcome['result'] {
    if (this.stmt.useChallenge.run(challenge, mailbox, now).changes === 1) return 'ok';
    const r = this.stmt.getChallenge.get(challenge) as { mailbox: Buffer; expires_at: number; used: number } | undefined;
    if (r === undefined) return 'unknown';
    if (!Buffer.from(r.mailbox).equals(Buffer.from(mailbox))) return 'wrong-mailbox';
    if (r.used) return 'used';
    return 'expired';
  }

  setState(id: Uint8Array, state: MessageState): Promise<void> {
    return this.writer.submit(() => void this.stmt.setState.run(state, id));
  }

  /**
   * Deletes messages whose retention ended, with their keys (the quote row holds k),
   * lapsed unused quotes and stale challenges. Resolves the ids of deleted messages.
   */
  async sweep(now: number): Promise<{ id: Uint8Array; contractId: string | undefined }[]> {
    const deleted: { id: Uint8Array; contractId: string | undefined }[] = [];
    // Before and after the deletes: a lookup in between may have cached a row again.
    this.forgetQuotes(now);
    for (;;) {
      const batch = await this.writer.submit(() => {
        const rows = this.stmt.expired.all(now) as { id: Buffer; quote_id: Buffer; mailbox: Buffer; contract_id: string | null; bytes: number }[];
        for (const r of rows) {
          this.stmt.deleteMessage.run(r.id);
          this.stmt.deleteQuote.run(r.quote_id);
          this.stmt.subUsage.run(r.bytes, r.mailbox);
        }
        if (rows.length > 0) this.stmt.dropEmpty.run();
        return rows.map((r) => ({ id: u8(r.id), contractId: nullable(r.contract_id) }));
      });
      deleted.push(...batch);
      if (batch.length < 1000) break;
    }
    await this.writer.submit(() => {
      this.stmt.lapsedQuotes.run(now);
      this.stmt.oldChallenges.run(now);
    });
    this.forgetQuotes(now);
    return deleted;
  }

  totals(): { messages: number; bytes: number } {
    const r = this.stmt.totals.get() as { n: number; bytes: number };
    return { messages: r.n, bytes: r.bytes };
  }

  countInState(state: MessageState): number {
    return (this.stmt.countState.get(state) as { n: number }).n;
  }

  /** Waits for every queued write, then closes the database. */
  async close(): Promise<void> {
    await this.writer.drain();
    this.db.close();
  }
}
