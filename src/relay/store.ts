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
 *   challenges  the single-use mailbox challenges of satpost 0.1 (logins retired): no longer
 *               written; the sweep still clears what an upgraded relay left there.
 *   meta        next_contract_index: contract key indexes are never reused.
 * Migration 2: messages.contract_id (hex id of the message's contract in the relay's
 *   contract book, wallet.sqlite: sender-pays from the deposit, recipient-pays from the first
 *   accepted PaymentNotice) and messages.payer_pubkey (the contract's refund key).
 * Migration 3: quotes.key_account, the wallet contract-key account of contract_index
 *   (m/1017'/coin'/key_account'/contract_index'): 0 for quotes issued before it, whose keys
 *   share account 0 with the channel keys; QUOTE_KEY_ACCOUNT (1) for every quote since, so
 *   per-quote keys never run into the channel keys however many quotes are issued.
 * Migration 4: unpaid storage is accounted apart from paid storage (docs/relay-api.md "Quotas").
 *   messages.paid (0: recipient-pays not paid yet, or sender-pays whose funding or channel HTLC
 *   was not seen yet) and messages.depositor (keyed hash of the depositor's address, depositor.ts;
 *   kept only while the message is unpaid); mailboxes.count/bytes now count paid messages only,
 *   mailboxes.unpaid_count/unpaid_bytes the unpaid ones; depositors: unpaid usage per depositor.
 * Times are ms since the Unix epoch; byte strings are BLOBs; ids are never stored as text.
 */
import { openDb, type Db } from '../store/sqlite.ts';
import type { PaymentMode } from '../core/objects/index.ts';
import { GroupCommitWriter } from './writer.ts';
import { RelayError } from './errors.ts';
import { MAX_INDEX } from '../wallet/keys.ts';

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
  `ALTER TABLE quotes ADD COLUMN key_account INTEGER NOT NULL DEFAULT 0;`,
  // Earlier messages count as unpaid when nothing says a payment was seen; they have no depositor.
  `ALTER TABLE messages ADD COLUMN paid INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE messages ADD COLUMN depositor BLOB;
   UPDATE messages SET paid = 0 WHERE state != 'unlocked' AND (
     (mode = 'recipient-pays' AND contract_id IS NULL) OR (mode = 'sender-pays' AND state = 'funding-pending' AND funding_txid IS NULL));
   ALTER TABLE mailboxes ADD COLUMN unpaid_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE mailboxes ADD COLUMN unpaid_bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE mailboxes SET
     unpaid_count = (SELECT count(*) FROM messages m WHERE m.mailbox = mailboxes.mailbox AND m.paid = 0),
     unpaid_bytes = (SELECT coalesce(sum(length(m.blob)), 0) FROM messages m WHERE m.mailbox = mailboxes.mailbox AND m.paid = 0);
   UPDATE mailboxes SET count = count - unpaid_count, bytes = bytes - unpaid_bytes;
   CREATE TABLE depositors (depositor BLOB PRIMARY KEY, count INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;`,
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
  /** Wallet contract-key account of contractIndex (0: issued before quote keys had their own). */
  keyAccount: number;
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
  /** False while no payment was seen: the message then counts against the unpaid allowances. */
  paid: boolean;
  /** Unpaid only: the depositor's tag (depositor.ts), when the deposit came over the network. */
  depositor: Uint8Array | undefined;
}

/** Most messages and blob bytes one account may hold. */
export interface Allowance {
  maxCount: number;
  maxBytes: number;
}

/** The allowances a new message is checked against: `paid`, or `unpaid` and (with a depositor) `depositor`. */
export interface Quota {
  paid: Allowance;
  unpaid: Allowance;
  depositor: Allowance;
}

/** A mailbox's usage: all its messages (count, bytes), and paid and unpaid ones apart. */
export interface MailboxUsage {
  count: number;
  bytes: number;
  paid: { count: number; bytes: number };
  unpaid: { count: number; bytes: number };
}

export type MessageSummary = Omit<MessageRow, 'sealedHeader' | 'blob' | 'depositDigest'> & { size: number };

export interface StoreOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  batchMax: number;
  /** Least time between two group commits under load, ms (default COMMIT_INTERVAL_MS; 0: commit every turn). */
  commitIntervalMs?: number;
  /** The relay data directory's data key (see OpenOptions.key); absent: plaintext (benchmarks' baseline). */
  key?: Uint8Array;
}

/** SQLite page cache of the relay store, KiB (decrypted pages; the bound of its memory use). */
export const CACHE_KIB = 128 * 1024;

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
  paid: number; depositor: Buffer | null;
}

function toMessage(r: RawMessage): MessageRow {
  return {
    id: u8(r.id), quoteId: u8(r.quote_id), mailbox: u8(r.mailbox), mode: r.mode, sealedHeader: u8(r.sealed_header),
    blob: u8(r.blob), hblob: u8(r.hblob), hk: u8(r.hk), hc: u8(r.hc), hr: r.hr === null ? undefined : u8(r.hr),
    fundingTxid: nullable(r.funding_txid), fundingVout: nullable(r.funding_vout),
    payerPubkey: r.payer_pubkey === null ? undefined : u8(r.payer_pubkey), contractId: nullable(r.contract_id), expiresAt: r.expires_at, state: r.state,
    createdAt: r.created_at, receipt: u8(r.receipt), depositDigest: u8(r.deposit_digest),
    paid: r.paid === 1, depositor: r.depositor === null ? undefined : u8(r.depositor),
  };
}

function prepare(db: Db) {
return {
    insertQuote: db.prepare(
      `INSERT INTO quotes (quote_id, mailbox, mode, size, amount, locktime, contract_index, key_account, k, hk, expires_at, valid_until, encoded)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    bumpIndex: db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'next_contract_index'`),
    getQuote: db.prepare(`SELECT * FROM quotes WHERE quote_id = ?`),
    insertMessage: db.prepare(
      `INSERT INTO messages (id, quote_id, mailbox, mode, sealed_header, blob, hblob, hk, hc, hr, funding_txid, funding_vout,
         payer_pubkey, contract_id, expires_at, state, created_at, receipt, deposit_digest, paid, depositor)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(quote_id) DO NOTHING`,
    ),
    getUsage: db.prepare(`SELECT count, bytes, unpaid_count, unpaid_bytes FROM mailboxes WHERE mailbox = ?`),
    getDepositor: db.prepare(`SELECT count, bytes FROM depositors WHERE depositor = ?`),
    // Signed deltas: +1/-1 messages, +/- bytes, on the paid or the unpaid side.
    addPaid: db.prepare(
      `INSERT INTO mailboxes (mailbox, count, bytes, unpaid_count, unpaid_bytes) VALUES (?, ?, ?, 0, 0)
       ON CONFLICT(mailbox) DO UPDATE SET count = count + excluded.count, bytes = bytes + excluded.bytes`,
    ),
    addUnpaid: db.prepare(
      `INSERT INTO mailboxes (mailbox, count, bytes, unpaid_count, unpaid_bytes) VALUES (?, 0, 0, ?, ?)
       ON CONFLICT(mailbox) DO UPDATE SET unpaid_count = unpaid_count + excluded.unpaid_count, unpaid_bytes = unpaid_bytes + excluded.unpaid_bytes`,
    ),
    addDepositor: db.prepare(
      `INSERT INTO depositors (depositor, count, bytes) VALUES (?, ?, ?)
       ON CONFLICT(depositor) DO UPDATE SET count = count + excluded.count, bytes = bytes + excluded.bytes`,
    ),
    unpaidOf: db.prepare(`SELECT mailbox, depositor, length(blob) AS bytes FROM messages WHERE id = ? AND paid = 0`),
    setPaid: db.prepare(`UPDATE messages SET paid = 1, depositor = NULL WHERE id = ?`),
    unpaidContracts: db.prepare(`SELECT id, contract_id FROM messages WHERE paid = 0 AND contract_id IS NOT NULL AND expires_at > ? LIMIT ?`),
    byQuote: db.prepare(`SELECT * FROM messages WHERE quote_id = ?`),
    byId: db.prepare(`SELECT * FROM messages WHERE id = ?`),
    fetchable: db.prepare(`SELECT quote_id, mailbox, expires_at, receipt, sealed_header, blob FROM messages WHERE id = ?`),
    holds: db.prepare(`SELECT 1 FROM messages WHERE mailbox = ? AND expires_at > ? LIMIT 1`),
    list: db.prepare(
      `SELECT id, quote_id, mailbox, mode, hblob, hk, hc, hr, funding_txid, funding_vout, payer_pubkey, contract_id, expires_at,
         state, created_at, receipt, paid, depositor, length(blob) - 16 AS size FROM messages
       WHERE mailbox = ? AND expires_at > ? ORDER BY created_at, id LIMIT ?`,
    ),
    // Keyset paging: strictly after (created_at, id); `created_at >= ?` keeps the range on messages_mailbox.
    listAfter: db.prepare(
      `SELECT id, quote_id, mailbox, mode, hblob, hk, hc, hr, funding_txid, funding_vout, payer_pubkey, contract_id, expires_at,
         state, created_at, receipt, paid, depositor, length(blob) - 16 AS size FROM messages
       WHERE mailbox = ? AND expires_at > ? AND created_at >= ? AND (created_at > ? OR id > ?) ORDER BY created_at, id LIMIT ?`,
    ),
    setPayment: db.prepare(`UPDATE messages SET contract_id = ?, payer_pubkey = ? WHERE id = ? AND contract_id IS NULL`),
    setState: db.prepare(`UPDATE messages SET state = ? WHERE id = ?`),
    expired: db.prepare(`SELECT id, quote_id, mailbox, contract_id, paid, depositor, length(blob) AS bytes FROM messages WHERE expires_at <= ? LIMIT 1000`),
    deleteMessage: db.prepare(`DELETE FROM messages WHERE id = ?`),
    deleteQuote: db.prepare(`DELETE FROM quotes WHERE quote_id = ?`),
    dropEmpty: db.prepare(`DELETE FROM mailboxes WHERE count <= 0 AND unpaid_count <= 0`),
    dropIdleDepositors: db.prepare(`DELETE FROM depositors WHERE count <= 0`),
    lapsedQuotes: db.prepare(
      `DELETE FROM quotes WHERE valid_until <= ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.quote_id = quotes.quote_id)`,
    ),
    oldChallenges: db.prepare(`DELETE FROM challenges WHERE expires_at <= ?`),
    totals: db.prepare(`SELECT coalesce(sum(count + unpaid_count), 0) AS n, coalesce(sum(bytes + unpaid_bytes), 0) AS bytes FROM mailboxes`),
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
    // Pages are decrypted on their way into SQLite's cache: a cache of 2 MiB (SQLite's default)
    // decrypts most pages a fetch or an index update touches again, every time.
    this.db.pragma(`cache_size = -${CACHE_KIB}`);
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
    if (this.nextContractIndex > MAX_INDEX) {
      throw new RelayError('KEYS_EXHAUSTED', `every contract key index up to ${MAX_INDEX} of the quote key account was issued; the relay cannot quote any more`);
    }
    return this.nextContractIndex++;
  }

  async putQuote(q: QuoteRow): Promise<void> {
    await this.writer.submit(() => {
      this.stmt.insertQuote.run(q.quoteId, q.mailbox, q.mode, q.size, q.amount, q.locktime, q.contractIndex, q.keyAccount, q.k, q.hk, q.expiresAt, q.validUntil, q.encoded);
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
      | { quote_id: Buffer; mailbox: Buffer; mode: PaymentMode; size: number; amount: number; locktime: number; contract_index: number; key_account: number; k: Buffer; hk: Buffer; expires_at: number; valid_until: number; encoded: Buffer }
      | undefined;
    if (r === undefined) return undefined;
    const row: QuoteRow = {
      quoteId: u8(r.quote_id), mailbox: u8(r.mailbox), mode: r.mode, size: r.size, amount: r.amount, locktime: r.locktime,
      contractIndex: r.contract_index, keyAccount: r.key_account, k: u8(r.k), hk: u8(r.hk), expiresAt: r.expires_at, validUntil: r.valid_until, encoded: u8(r.encoded),
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

  mailboxUsage(mailbox: Uint8Array): MailboxUsage {
    const r = this.stmt.getUsage.get(mailbox) as { count: number; bytes: number; unpaid_count: number; unpaid_bytes: number } | undefined;
    const paid = { count: r?.count ?? 0, bytes: r?.bytes ?? 0 };
    const unpaid = { count: r?.unpaid_count ?? 0, bytes: r?.unpaid_bytes ?? 0 };
    return { count: paid.count + unpaid.count, bytes: paid.bytes + unpaid.bytes, paid, unpaid };
  }

  /**
   * Throws unless `mailbox` has room for `bytes` more of a message paid or not (and an unpaid
   * one, room in its depositor's allowance too). A paid message is checked against the paid
   * allowance only: unpaid mail never takes its room. The refusals name no usage figures
   * (they would tell anyone how much mail someone else has).
   */
  checkRoom(mailbox: Uint8Array, bytes: number, paid: boolean, depositor: Uint8Array | undefined, quota: Quota): void {
    const usage = this.mailboxUsage(mailbox);
    const fits = (u: { count: number; bytes: number }, a: Allowance) => u.count + 1 <= a.maxCount && u.bytes + bytes <= a.maxBytes;
    if (paid) {
      if (!fits(usage.paid, quota.paid)) throw new RelayError('MAILBOX_QUOTA_FULL', 'the mailbox has no room for this message');
      return;
    }
    if (depositor !== undefined) {
      const d = (this.stmt.getDepositor.get(depositor) as { count: number; bytes: number } | undefined) ?? { count: 0, bytes: 0 };
      if (!fits(d, quota.depositor)) {
        throw new RelayError('DEPOSITOR_QUOTA_FULL', 'you have as much unpaid mail stored here as this relay holds for one client; pay for this message (sender-pays with funding or a channel HTLC) or wait until earlier mail is read or expires');
      }
    }
    if (!fits(usage.unpaid, quota.unpaid)) {
      throw new RelayError('UNPAID_QUOTA_FULL', 'the mailbox has no room for unpaid mail; pay for this message (sender-pays with funding or a channel HTLC)');
    }
  }

  /**
   * Stores a message unless its quote already has one. Inside the batch, so the quota
   * check and the insert are atomic: checkRoom throws (rolling back this write only) when
   * the mailbox has no room. Resolves the row now stored for the quote: the new one, or
   * the earlier one (the caller compares deposit digests).
   */
  putMessage(m: MessageRow, quota: Quota): Promise<{ inserted: boolean; row: MessageRow }> {
    return this.writer.submit(() => {
      // The insert itself detects an earlier message for the quote (ON CONFLICT DO NOTHING):
      // no lookup on the common path.
      const earlier = () => ({ inserted: false, row: toMessage(this.stmt.byQuote.get(m.quoteId) as RawMessage) });
      const depositor = m.paid ? undefined : m.depositor;
      try {
        this.checkRoom(m.mailbox, m.blob.length, m.paid, depositor, quota);
      } catch (err) {
        if (this.stmt.byQuote.get(m.quoteId) !== undefined) return earlier();
        throw err;
      }
      const { changes } = this.stmt.insertMessage.run(
        m.id, m.quoteId, m.mailbox, m.mode, m.sealedHeader, m.blob, m.hblob, m.hk, m.hc, m.hr ?? null, m.fundingTxid ?? null,
        m.fundingVout ?? null, m.payerPubkey ?? null, m.contractId ?? null, m.expiresAt, m.state, m.createdAt, m.receipt, m.depositDigest,
        m.paid ? 1 : 0, depositor ?? null,
      );
      if (changes === 0) return earlier();
      this.count(m.mailbox, m.paid, depositor, 1, m.blob.length);
      return { inserted: true, row: m };
    });
  }

  /** Adds (sign 1) or removes (sign -1) one message of `bytes` to its mailbox's and depositor's usage. */
  private count(mailbox: Uint8Array, paid: boolean, depositor: Uint8Array | undefined | null, sign: 1 | -1, bytes: number): void {
    if (paid) this.stmt.addPaid.run(mailbox, sign, sign * bytes);
    else this.stmt.addUnpaid.run(mailbox, sign, sign * bytes);
    if (!paid && depositor) this.stmt.addDepositor.run(depositor, sign, sign * bytes);
  }

  /** Inside a write: moves an unpaid message to the paid accounts (its depositor tag is dropped). */
  private promote(id: Uint8Array): void {
    const r = this.stmt.unpaidOf.get(id) as { mailbox: Buffer; depositor: Buffer | null; bytes: number } | undefined;
    if (r === undefined) return;
    this.stmt.setPaid.run(id);
    this.count(r.mailbox, false, r.depositor, -1, r.bytes);
    this.count(r.mailbox, true, undefined, 1, r.bytes);
    this.stmt.dropIdleDepositors.run();
  }

  /**
   * A payment for the message was seen: it leaves the unpaid allowances. It stays stored
   * even when that takes the paid count past its allowance: the relay holds its money.
   */
  markPaid(id: Uint8Array): Promise<void> {
    return this.writer.submit(() => this.promote(id));
  }

  /** Unpaid messages that have a contract (sender-pays), at most `limit`: the sweep asks whether they are funded by now. */
  unpaidContracts(now: number, limit: number): { id: Uint8Array; contractId: string }[] {
    return (this.stmt.unpaidContracts.all(now, limit) as { id: Buffer; contract_id: string }[]).map((r) => ({ id: u8(r.id), contractId: r.contract_id }));
  }

  messageByQuote(quoteId: Uint8Array): MessageRow | undefined {
    const r = this.stmt.byQuote.get(quoteId) as RawMessage | undefined;
    return r && toMessage(r);
  }

  message(id: Uint8Array): MessageRow | undefined {
    const r = this.stmt.byId.get(id) as RawMessage | undefined;
    return r && toMessage(r);
  }

  /** What a fetch of message `id` needs (the columns of a StoredMessage and those checked before it is served). */
  fetchable(id: Uint8Array): Pick<MessageRow, 'quoteId' | 'mailbox' | 'expiresAt' | 'receipt' | 'sealedHeader' | 'blob'> | undefined {
    const r = this.stmt.fetchable.get(id) as Pick<RawMessage, 'quote_id' | 'mailbox' | 'expires_at' | 'receipt' | 'sealed_header' | 'blob'> | undefined;
    if (r === undefined) return undefined;
    return { quoteId: u8(r.quote_id), mailbox: u8(r.mailbox), expiresAt: r.expires_at, receipt: u8(r.receipt), sealedHeader: u8(r.sealed_header), blob: u8(r.blob) };
  }

  /** The tags among `tags` with an unexpired message under them (one indexed probe each, no row read). */
  tagsHeld(tags: Uint8Array[], now: number): Uint8Array[] {
    return tags.filter((t) => this.stmt.holds.get(t, now) !== undefined);
  }

  /**
   * The messages under any of `tags`, in listing order (createdAt, id), strictly after `after`,
   * at most `limit`: one indexed range per tag (most tags hold nothing), merged.
   */
  listTags(tags: Uint8Array[], now: number, limit: number, after?: { createdAt: number; id: Uint8Array }): MessageSummary[] {
    const seen = new Set<string>();
    const all: MessageSummary[] = [];
    for (const t of tags) {
      const key = Buffer.from(t).toString('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(...this.list(t, now, limit, after));
    }
    all.sort((a, b) => a.createdAt - b.createdAt || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
    return all.slice(0, limit);
  }

  /**
   * Unexpired messages of `mailbox` (one tag) in (createdAt, id) order, at most `limit`; with
   * `after`, only those strictly after that position (keyset paging, docs/relay-api.md).
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
    return this.writer.submit(() => {
      this.stmt.setPayment.run(contractId, payerPubkey, id);
      this.promote(id);
    });
  }

  setState(id: Uint8Array, state: MessageState): Promise<void> {
    return this.writer.submit(() => {
      this.stmt.setState.run(state, id);
      // k released: it was paid for.
      if (state === 'unlocked') this.promote(id);
    });
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
        const rows = this.stmt.expired.all(now) as { id: Buffer; quote_id: Buffer; mailbox: Buffer; contract_id: string | null; paid: number; depositor: Buffer | null; bytes: number }[];
        for (const r of rows) {
          this.stmt.deleteMessage.run(r.id);
          this.stmt.deleteQuote.run(r.quote_id);
          this.count(r.mailbox, r.paid === 1, r.depositor, -1, r.bytes);
        }
        if (rows.length > 0) {
          this.stmt.dropEmpty.run();
          this.stmt.dropIdleDepositors.run();
        }
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
