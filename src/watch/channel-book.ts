/**
 * ChannelBook: every payment channel a party takes part in, in the party's own SQLite file
 * (next to its wallet and contract book). A channel's state is committed before any signature
 * of it leaves the party or any preimage is revealed; one SQLite transaction per message.
 *
 * Schema (store "channels", version 1; versions in store_versions, see src/store/sqlite.ts):
 *
 *   channel_opens    payer only: the intent to open, committed before the wallet builds the funding
 *     script_id      TEXT PK: hex SHA-256 of the funding script (its P2WSH program); also the
 *                    wallet's contract-lock label of the funding output
 *     key_index      INTEGER wallet contract key of payer_pubkey
 *     params         TEXT JSON {relayPubkey hex, channelLocktime, claimMargin, feeRate, capacity}
 *     channel_id     TEXT once the funding is built (NULL: crashed before; resumed or forgotten)
 *     created_at     unix ms
 *   channels         one row per channel:
 *     id             TEXT PK: the channel id (hex SHA-256("satpost/v1/channel" || txid || vout))
 *     role           'payer' | 'relay'
 *     status         ChannelStatus (a string, never an ordinal)
 *     key_index      INTEGER wallet contract key of this side's pubkey in the funding script
 *     n              INTEGER current state number (copy of state.n, for queries)
 *     state          TEXT JSON of the current ChannelState (bytes as lowercase hex)
 *     funding_txid, funding_vout, funding_raw   the funding (payer: its own signed tx; relay: as handed in)
 *     exit_txid, exit_raw          payer: its exit, signed at open (nLockTime T_ch)
 *     close_txid, close_raw        the fully signed cooperative close, once either side has it
 *     commitment_txid, commitment_raw   relay: its completed commitment at a force close;
 *                                  payer: the txid of the commitment seen spending the funding
 *     commitment_n   INTEGER state number of that commitment
 *     claim_txid, claim_raw        relay: its one claim of the outputs it holds preimages for
 *     sweep_txid, sweep_raw        this side's own output of the confirmed close or commitment
 *                                  (P2WPKH of its channel key) swept to a wallet receive address
 *     settled_height INTEGER height of the confirmation that made the status final (reorg re-checks)
 *     created_at, updated_at       unix ms
 *   channel_states   every state either side signed or accepted: (channel_id, n) PK, state JSON.
 *                    A commitment found on chain is matched here, whichever state it is (its txid
 *                    is recomputed on demand, newest state first: a close is rare, updates are not).
 *   channel_htlcs    (channel_id, htlc_id) PK: mode, hk, hr, amount, locktime (T_i), k, r once
 *                    known, status HtlcStatus, refund_txid/refund_raw (payer), resolved_txid
 *                    (the settling claim/refund on chain), resolved_height
 *   channel_messages append-only log of every message sent or received: seq PK, channel_id,
 *                    direction 'in' | 'out', type, n, htlc_id, bytes (canonical encoding), time
 *   channel_events   append-only status history: seq PK, channel_id, event, status_from,
 *                    status_to, height, time, detail (no secrets)
 *   channel_refused_adds  (version 2) payer: adds the relay refused, moved out of the tables
 *                    above by refuseAdd in one transaction: seq PK, channel_id, n (the refused
 *                    state's number), htlc_id, hk, hr, amount, state (JSON of the refused state,
 *                    its payer_sig included), bytes (the AddHtlc as sent), code (the refusal's),
 *                    time. Kept so the refused signature stays accounted for; never resent.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { commitmentTxid, encodeChannelMessage, type ChannelMessage, type ChannelState, type Htlc } from '../channels/index.ts';
import { expected } from '../core/errors.ts';
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import { migrateStore, type Db } from '../store/sqlite.ts';
import { WatchError } from './errors.ts';

export const CHANNEL_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE channel_opens (
    script_id TEXT PRIMARY KEY,
    key_index INTEGER NOT NULL,
    params TEXT NOT NULL,
    channel_id TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('payer', 'relay')),
    status TEXT NOT NULL,
    key_index INTEGER NOT NULL,
    n INTEGER NOT NULL,
    state TEXT NOT NULL,
    funding_txid TEXT NOT NULL,
    funding_vout INTEGER NOT NULL,
    funding_raw BLOB,
    exit_txid TEXT,
    exit_raw BLOB,
    close_txid TEXT,
    close_raw BLOB,
    commitment_txid TEXT,
    commitment_raw BLOB,
    commitment_n INTEGER,
    claim_txid TEXT,
    claim_raw BLOB,
    sweep_txid TEXT,
    sweep_raw BLOB,
    settled_height INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX channels_status ON channels (role, status);
  CREATE TABLE channel_states (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    n INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (channel_id, n)
  );
  CREATE TABLE channel_htlcs (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    htlc_id INTEGER NOT NULL,
    mode TEXT NOT NULL,
    hk BLOB NOT NULL,
    hr BLOB,
    amount INTEGER NOT NULL,
    locktime INTEGER NOT NULL,
    k BLOB,
    r BLOB,
    status TEXT NOT NULL,
    refund_txid TEXT,
    refund_raw BLOB,
    resolved_txid TEXT,
    resolved_height INTEGER,
    PRIMARY KEY (channel_id, htlc_id)
  );
  CREATE TABLE channel_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    type TEXT NOT NULL,
    n INTEGER,
    htlc_id INTEGER,
    bytes BLOB NOT NULL,
    time INTEGER NOT NULL
  );
  CREATE INDEX channel_messages_id ON channel_messages (channel_id, type, n);
  CREATE TABLE channel_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id TEXT NOT NULL,
    event TEXT NOT NULL,
    status_from TEXT,
    status_to TEXT NOT NULL,
    height INTEGER,
    time INTEGER NOT NULL,
    detail TEXT
  );
  CREATE INDEX channel_events_id ON channel_events (channel_id, seq);
  `,
  `
  CREATE TABLE channel_refused_adds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id TEXT NOT NULL REFERENCES channels(id),
    n INTEGER NOT NULL,
    htlc_id INTEGER NOT NULL,
    hk BLOB NOT NULL,
    hr BLOB,
    amount INTEGER NOT NULL,
    state TEXT NOT NULL,
    bytes BLOB NOT NULL,
    code TEXT NOT NULL,
    time INTEGER NOT NULL
  );
  CREATE INDEX channel_refused_adds_id ON channel_refused_adds (channel_id, n);
  `,
];

export type ChannelRole = 'payer' | 'relay';

/**
 * opening: funding built (payer) or handed in (relay), not yet deep enough for HTLCs.
 * open: updates flow. closing-cooperative: the close is fully signed and stored (no more updates).
 * force-closing: a commitment is broadcast (or seen) and not confirmed. force-closed: it is
 * confirmed; its HTLC outputs are resolved one by one (claimed or refunded). exiting/exited: the
 * payer's timelocked exit is broadcast / confirmed. abandoned: the funding never existed.
 */
export type ChannelStatus =
  | 'opening' | 'open' | 'closing-cooperative' | 'closed-cooperative'
  | 'force-closing' | 'force-closed' | 'exiting' | 'exited' | 'abandoned';

/**
 * in-flight: in the current commitment. revealed: the relay sent k (and r), not yet acknowledged.
 * settled / failed: folded into a later state. claimed / refunded: resolved on chain after a force close.
 */
export type HtlcStatus = 'in-flight' | 'revealed' | 'settled' | 'failed' | 'claimed' | 'refunded';

export function isFinalStatus(s: ChannelStatus): boolean {
  return s === 'closed-cooperative' || s === 'exited' || s === 'abandoned' || s === 'force-closed';
}

export interface ChannelRecord {
  id: string;
  role: ChannelRole;
  status: ChannelStatus;
  keyIndex: number;
  n: number;
  state: ChannelState;
  fundingTxid: string;
  fundingVout: number;
  fundingRaw: Uint8Array | null;
  exitTxid: string | null;
  exitRaw: Uint8Array | null;
  closeTxid: string | null;
  closeRaw: Uint8Array | null;
  commitmentTxid: string | null;
  commitmentRaw: Uint8Array | null;
  commitmentN: number | null;
  claimTxid: string | null;
  claimRaw: Uint8Array | null;
  sweepTxid: string | null;
  sweepRaw: Uint8Array | null;
  settledHeight: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface HtlcRecord extends Htlc {
  channelId: string;
  k: Uint8Array | null;
  r: Uint8Array | null;
  status: HtlcStatus;
  refundTxid: string | null;
  refundRaw: Uint8Array | null;
  resolvedTxid: string | null;
  resolvedHeight: number | null;
}

export interface OpenIntent {
  scriptId: string;
  keyIndex: number;
  params: { relayPubkey: Uint8Array; channelLocktime: number; claimMargin: number; feeRate: number; capacity: number };
  channelId: string | null;
}

export interface LoggedMessage { seq: number; direction: 'in' | 'out'; type: ChannelMessage['type']; n: number | null; htlcId: number | null; bytes: Uint8Array; time: number }
export interface ChannelEventRow { seq: number; event: string; from: string | null; to: string; height: number | null; time: number; detail: string | null }

export type ChannelPatch = Partial<Pick<ChannelRecord,
  'fundingRaw' | 'exitTxid' | 'exitRaw' | 'closeTxid' | 'closeRaw' | 'commitmentTxid' | 'commitmentRaw' | 'commitmentN' | 'claimTxid' | 'claimRaw' | 'sweepTxid' | 'sweepRaw' | 'settledHeight'>>;

export type HtlcPatch = { htlcId: number } & Partial<Pick<HtlcRecord, 'k' | 'r' | 'status' | 'refundTxid' | 'refundRaw' | 'resolvedTxid' | 'resolvedHeight'>>;

/** Everything one message (or one watcher step) changes, committed together by apply(). */
export interface ChannelChange {
  /** The new current state; also appended to channel_states. */
  state?: ChannelState;
  status?: ChannelStatus;
  patch?: ChannelPatch;
  /** HTLCs to insert (new in flight). */
  newHtlcs?: readonly Htlc[];
  htlcs?: readonly HtlcPatch[];
  sent?: ChannelMessage;
  received?: ChannelMessage;
  /** Recorded in channel_events (status changes are always recorded). */
  event?: string;
  height?: number | null;
  detail?: string;
}

const PATCH_COLUMNS: Record<keyof ChannelPatch, string> = {
  fundingRaw: 'funding_raw', exitTxid: 'exit_txid', exitRaw: 'exit_raw', closeTxid: 'close_txid', closeRaw: 'close_raw',
  commitmentTxid: 'commitment_txid', commitmentRaw: 'commitment_raw', commitmentN: 'commitment_n',
  claimTxid: 'claim_txid', claimRaw: 'claim_raw', sweepTxid: 'sweep_txid', sweepRaw: 'sweep_raw', settledHeight: 'settled_height',
};
const HTLC_COLUMNS: Record<Exclude<keyof HtlcPatch, 'htlcId'>, string> = {
  k: 'k', r: 'r', status: 'status', refundTxid: 'refund_txid', refundRaw: 'refund_raw', resolvedTxid: 'resolved_txid', resolvedHeight: 'resolved_height',
};

// ---- ChannelState <-> JSON (bytes as lowercase hex) ----

interface HtlcJson { id: number; mode: Htlc['mode']; hk: string; hr?: string; amount: number; locktime: number }
interface StateJson {
  id: string; payerPubkey: string; relayPubkey: string; channelLocktime: number; claimMargin: number; feeRate: number; capacity: number;
  fundingOutpoint: { txid: string; vout: number }; fundingConfirmed: boolean; n: number; relayBalance: number;
  inFlight: HtlcJson[]; nextHtlcId: number; payerSig?: string;
}

export function stateToJson(s: ChannelState): string {
  const j: StateJson = {
    id: s.id, payerPubkey: hex.encode(s.payerPubkey), relayPubkey: hex.encode(s.relayPubkey), channelLocktime: s.channelLocktime,
    claimMargin: s.claimMargin, feeRate: s.feeRate, capacity: s.capacity, fundingOutpoint: { txid: s.fundingOutpoint.txid, vout: s.fundingOutpoint.vout },
    fundingConfirmed: s.fundingConfirmed, n: s.n, relayBalance: s.relayBalance, nextHtlcId: s.nextHtlcId,
    inFlight: s.inFlight.map((h) => ({ id: h.id, mode: h.mode, hk: hex.encode(h.hk), ...(h.hr ? { hr: hex.encode(h.hr) } : {}), amount: h.amount, locktime: h.locktime })),
    ...(s.payerSig ? { payerSig: hex.encode(s.payerSig) } : {}),
  };
  return JSON.stringify(j);
}

export function stateFromJson(text: string): ChannelState {
  const j = JSON.parse(text) as StateJson;
  return {
    id: j.id, payerPubkey: hex.decode(j.payerPubkey), relayPubkey: hex.decode(j.relayPubkey), channelLocktime: j.channelLocktime,
    claimMargin: j.claimMargin, feeRate: j.feeRate, capacity: j.capacity, fundingOutpoint: { txid: j.fundingOutpoint.txid, vout: j.fundingOutpoint.vout },
    fundingConfirmed: j.fundingConfirmed, n: j.n, relayBalance: j.relayBalance, nextHtlcId: j.nextHtlcId,
    inFlight: j.inFlight.map((h) => ({ id: h.id, mode: h.mode, hk: hex.decode(h.hk), ...(h.hr ? { hr: hex.decode(h.hr) } : {}), amount: h.amount, locktime: h.locktime })),
    ...(j.payerSig ? { payerSig: hex.decode(j.payerSig) } : {}),
  };
}


function messageKeys(m: ChannelMessage): { channelId: string; n: number | null; htlcId: number | null } {
  switch (m.type) {
    case 'open': return { channelId: '', n: 0, htlcId: null };
    case 'add': return { channelId: m.message.channelId, n: m.message.n, htlcId: m.message.htlc.id };
    case 'settle': return { channelId: m.message.channelId, n: null, htlcId: m.message.htlcId };
    case 'settle-ack':
    case 'fail': return { channelId: m.message.channelId, n: m.message.n, htlcId: m.message.htlcId };
    case 'close-request':
    case 'close-signed': return { channelId: m.message.channelId, n: m.message.n, htlcId: null };
  }
}

export function fundingScriptId(fundingScript: Uint8Array): string {
  return hex.encode(sha256(fundingScript));
}

interface Row {
  id: string; role: ChannelRole; status: ChannelStatus; key_index: number; n: number; state: string; funding_txid: string; funding_vout: number;
  funding_raw: Buffer | null; exit_txid: string | null; exit_raw: Buffer | null; close_txid: string | null; close_raw: Buffer | null;
  commitment_txid: string | null; commitment_raw: Buffer | null; commitment_n: number | null; claim_txid: string | null; claim_raw: Buffer | null;
  sweep_txid: string | null; sweep_raw: Buffer | null; settled_height: number | null; created_at: number; updated_at: number;
}
interface HtlcRow {
  channel_id: string; htlc_id: number; mode: Htlc['mode']; hk: Buffer; hr: Buffer | null; amount: number; locktime: number; k: Buffer | null; r: Buffer | null;
  status: HtlcStatus; refund_txid: string | null; refund_raw: Buffer | null; resolved_txid: string | null; resolved_height: number | null;
}
const u8n = (b: Buffer | null): Uint8Array | null => (b ? Uint8Array.from(b) : null);

export class ChannelBook {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    migrateStore(db, 'channels', CHANNEL_MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // Compiling a statement costs more than running it: each SQL text is prepared once per book.
  private readonly statements = new Map<string, Statement<unknown[]>>();
  private sql(text: string): Statement<unknown[]> {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /**
   * Parsed states by their stored JSON text: a channel's state is read many times per message
   * (and holds up to 483 HTLCs), written once. Keyed by the text itself, so a hit is always the
   * state stored; the objects are frozen because callers share them.
   */
  private readonly parsed = new Map<string, ChannelState>();
  private parse(text: string): ChannelState {
    let s = this.parsed.get(text);
    if (!s) {
      s = freezeState(stateFromJson(text));
      if (this.parsed.size >= PARSED_STATES) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(text, s);
    }
    return s;
  }
  private record(r: Row): ChannelRecord {
    return toRecord(r, this.parse(r.state));
  }

  // ---- payer's open intents ----

  insertOpenIntent(i: Omit<OpenIntent, 'channelId'>): void {
    if (this.sql('SELECT 1 FROM channel_opens WHERE script_id = ?').get(i.scriptId)) {
      throw new WatchError('DUPLICATE_CHANNEL', `a channel with funding script ${i.scriptId} is already being opened`);
    }
    const params = JSON.stringify({ ...i.params, relayPubkey: hex.encode(i.params.relayPubkey) });
    this.sql('INSERT INTO channel_opens (script_id, key_index, params, channel_id, created_at) VALUES (?, ?, ?, NULL, ?)')
      .run(i.scriptId, i.keyIndex, params, this.now());
  }

  /** Intents whose funding was never recorded (a crash between the intent and the funding). */
  unfinishedOpens(): OpenIntent[] {
    const rows = this.sql('SELECT script_id, key_index, params, channel_id FROM channel_opens WHERE channel_id IS NULL ORDER BY created_at').all() as
      { script_id: string; key_index: number; params: string; channel_id: string | null }[];
    return rows.map((r) => {
      const p = JSON.parse(r.params) as OpenIntent['params'] & { relayPubkey: string };
      return { scriptId: r.script_id, keyIndex: r.key_index, channelId: r.channel_id, params: { ...p, relayPubkey: hex.decode(p.relayPubkey) } };
    });
  }

  forgetOpenIntent(scriptId: string): void {
    this.sql('DELETE FROM channel_opens WHERE script_id = ? AND channel_id IS NULL').run(scriptId);
  }

  // ---- channels ----

  /** A new channel row with its state 0 (and, for the payer, the intent it fulfils). */
  insert(c: { role: ChannelRole; status: ChannelStatus; keyIndex: number; state: ChannelState; fundingRaw?: Uint8Array; exitTxid?: string; exitRaw?: Uint8Array; scriptId?: string; height?: number | null }): ChannelRecord {
    if (!Number.isInteger(c.keyIndex) || c.keyIndex < 0) throw new WatchError('BAD_INPUT', expected('keyIndex', 'a non-negative integer', c.keyIndex));
    const now = this.now();
    return this.tx(() => {
      if (this.find(c.state.id)) throw new WatchError('DUPLICATE_CHANNEL', `channel ${c.state.id} is already in the book`);
      this.sql(`INSERT INTO channels (id, role, status, key_index, n, state, funding_txid, funding_vout, funding_raw, exit_txid, exit_raw, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(c.state.id, c.role, c.status, c.keyIndex, c.state.n, stateToJson(c.state), c.state.fundingOutpoint.txid, c.state.fundingOutpoint.vout,
          c.fundingRaw ?? null, c.exitTxid ?? null, c.exitRaw ?? null, now, now);
      this.addState(c.state);
      if (c.scriptId) this.sql('UPDATE channel_opens SET channel_id = ? WHERE script_id = ?').run(c.state.id, c.scriptId);
      this.addEvent(c.state.id, 'created', null, c.status, c.height ?? null, null);
      return this.get(c.state.id);
    });
  }

  find(id: string): ChannelRecord | undefined {
    const row = this.sql('SELECT * FROM channels WHERE id = ?').get(id) as Row | undefined;
    return row && this.record(row);
  }

  get(id: string): ChannelRecord {
    const c = typeof id === 'string' ? this.find(id) : undefined;
    if (!c) throw new WatchError('UNKNOWN_CHANNEL', expected('channel id', 'a channel in the book', id));
    return c;
  }

  list(role?: ChannelRole): ChannelRecord[] {
    const rows = (role
      ? this.sql('SELECT * FROM channels WHERE role = ? ORDER BY created_at, id').all(role)
      : this.sql('SELECT * FROM channels ORDER BY created_at, id').all()) as Row[];
    return rows.map((r) => this.record(r));
  }

  /** Channels the watcher still looks at: not final, or final less than reorgDepth blocks deep. */
  active(role: ChannelRole, tipHeight: number, reorgDepth: number): ChannelRecord[] {
    return this.list(role).filter((c) => {
      if (c.status === 'abandoned') return false;
      if (c.status === 'force-closed' && this.htlcs(c.id).some((h) => h.status === 'in-flight' || h.status === 'revealed')) return true;
      if (!isFinalStatus(c.status)) return true;
      return c.settledHeight === null || tipHeight - c.settledHeight + 1 < reorgDepth;
    });
  }

  /** Commits everything one message or watcher step changes, in one SQLite transaction. */
  apply(id: string, ch: ChannelChange): ChannelRecord {
    return this.tx(() => {
      const c = this.get(id);
      const sets = ['updated_at = ?'];
      const values: unknown[] = [this.now()];
      if (ch.state) {
        if (ch.state.id !== id) throw new WatchError('BAD_INPUT', expected('state.id', id, ch.state.id));
        sets.push('state = ?', 'n = ?');
        values.push(stateToJson(ch.state), ch.state.n);
        if (ch.state.n !== c.n) this.addState(ch.state);
      }
      if (ch.status) { sets.push('status = ?'); values.push(ch.status); }
      for (const [k, v] of Object.entries(ch.patch ?? {}) as [keyof ChannelPatch, unknown][]) {
        if (v === undefined) continue;
        sets.push(`${PATCH_COLUMNS[k]} = ?`);
        values.push(v);
      }
      this.sql(`UPDATE channels SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
      for (const h of ch.newHtlcs ?? []) {
        this.sql(`INSERT INTO channel_htlcs (channel_id, htlc_id, mode, hk, hr, amount, locktime, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'in-flight')`)
          .run(id, h.id, h.mode, h.hk, h.hr ?? null, h.amount, h.locktime);
      }
      for (const p of ch.htlcs ?? []) this.patchHtlc(id, p);
      const time = this.now();
      for (const [direction, m] of [['out', ch.sent], ['in', ch.received]] as const) {
        if (!m) continue;
        const keys = messageKeys(m);
        this.sql('INSERT INTO channel_messages (channel_id, direction, type, n, htlc_id, bytes, time) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(id, direction, m.type, keys.n, keys.htlcId, encodeChannelMessage(m), time);
      }
      if (ch.event || (ch.status && ch.status !== c.status)) {
        this.addEvent(id, ch.event ?? `status-${ch.status}`, c.status, ch.status ?? c.status, ch.height ?? null, ch.detail ?? null);
      }
      return this.get(id);
    });
  }

  /**
   * Payer: the relay refused the add that made the current state (`n`, its HTLC `htlcId`), so
   * the channel is back at state n − 1, the relay's. In one transaction: the current state
   * becomes n − 1 again, state n, its HTLC row and its outgoing AddHtlc leave channel_states,
   * channel_htlcs and channel_messages (so nothing resends it and the next add reuses its id and
   * number), and are kept in channel_refused_adds; event 'add-refused'. BAD_STATE unless the
   * current state is exactly that add's.
   */
  refuseAdd(channelId: string, n: number, htlcId: number, code: string): ChannelRecord {
    return this.tx(() => {
      const c = this.get(channelId);
      const add = this.messages(channelId, { direction: 'out', type: 'add', n }).at(-1);
      const h = this.htlc(channelId, htlcId);
      const prior = this.stateAt(channelId, n - 1);
      const last = this.messages(channelId, { direction: 'out' }).at(-1);
      if (c.n !== n || !add || add.htlcId !== htlcId || !h || h.status !== 'in-flight' || !prior || last?.seq !== add.seq) {
        throw new WatchError('BAD_STATE', `channel ${channelId}: the add of htlc ${htlcId} at state ${n} is not its last update; nothing to undo`);
      }
      this.sql(`INSERT INTO channel_refused_adds (channel_id, n, htlc_id, hk, hr, amount, state, bytes, code, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(channelId, n, htlcId, h.hk, h.hr ?? null, h.amount, stateToJson(c.state), add.bytes, code, this.now());
      this.sql('DELETE FROM channel_messages WHERE seq = ?').run(add.seq);
      this.sql('DELETE FROM channel_htlcs WHERE channel_id = ? AND htlc_id = ?').run(channelId, htlcId);
      this.sql('DELETE FROM channel_states WHERE channel_id = ? AND n = ?').run(channelId, n);
      this.sql('UPDATE channels SET state = ?, n = ?, updated_at = ? WHERE id = ?').run(stateToJson(prior), prior.n, this.now(), channelId);
      this.addEvent(channelId, 'add-refused', c.status, c.status, null, `htlc ${htlcId} at state ${n}: ${code}`);
      return this.get(channelId);
    });
  }

  /** Adds the relay refused (refuseAdd), oldest first. */
  refusedAdds(channelId: string): { n: number; htlcId: number; hk: Uint8Array; hr: Uint8Array | null; amount: number; code: string; bytes: Uint8Array }[] {
    const rows = this.sql('SELECT n, htlc_id, hk, hr, amount, code, bytes FROM channel_refused_adds WHERE channel_id = ? ORDER BY seq').all(channelId) as
      { n: number; htlc_id: number; hk: Buffer; hr: Buffer | null; amount: number; code: string; bytes: Buffer }[];
    return rows.map((r) => ({ n: r.n, htlcId: r.htlc_id, hk: Uint8Array.from(r.hk), hr: u8n(r.hr), amount: r.amount, code: r.code, bytes: Uint8Array.from(r.bytes) }));
  }

  htlcs(channelId: string): HtlcRecord[] {
    return (this.sql('SELECT * FROM channel_htlcs WHERE channel_id = ? ORDER BY htlc_id').all(channelId) as HtlcRow[]).map(toHtlc);
  }

  htlc(channelId: string, htlcId: number): HtlcRecord | undefined {
    const row = this.sql('SELECT * FROM channel_htlcs WHERE channel_id = ? AND htlc_id = ?').get(channelId, htlcId) as HtlcRow | undefined;
    return row && toHtlc(row);
  }

  /** The state with this number, as signed or accepted. */
  stateAt(channelId: string, n: number): ChannelState | undefined {
    const row = this.sql('SELECT state FROM channel_states WHERE channel_id = ? AND n = ?').get(channelId, n) as { state: string } | undefined;
    return row && this.parse(row.state);
  }

  /** The state whose commitment has this txid (any state ever signed), newest first. */
  stateByCommitment(channelId: string, txid: string): ChannelState | undefined {
    const rows = this.sql('SELECT state FROM channel_states WHERE channel_id = ? AND n > 0 ORDER BY n DESC').iterate(channelId) as Iterable<{ state: string }>;
    for (const row of rows) {
      const s = stateFromJson(row.state);
      if (s.payerSig && commitmentTxid(s) === txid) return s;
    }
    return undefined;
  }

  /** Logged messages, oldest first; filter by direction, type, n or htlc id. */
  messages(channelId: string, f: { direction?: 'in' | 'out'; type?: ChannelMessage['type']; n?: number; htlcId?: number } = {}): LoggedMessage[] {
    const where = ['channel_id = ?'];
    const values: unknown[] = [channelId];
    if (f.direction) { where.push('direction = ?'); values.push(f.direction); }
    if (f.type) { where.push('type = ?'); values.push(f.type); }
    if (f.n !== undefined) { where.push('n = ?'); values.push(f.n); }
    if (f.htlcId !== undefined) { where.push('htlc_id = ?'); values.push(f.htlcId); }
    const rows = this.sql(`SELECT seq, direction, type, n, htlc_id, bytes, time FROM channel_messages WHERE ${where.join(' AND ')} ORDER BY seq`).all(...values) as
      { seq: number; direction: 'in' | 'out'; type: ChannelMessage['type']; n: number | null; htlc_id: number | null; bytes: Buffer; time: number }[];
    return rows.map((r) => ({ seq: r.seq, direction: r.direction, type: r.type, n: r.n, htlcId: r.htlc_id, bytes: Uint8Array.from(r.bytes), time: r.time }));
  }

  history(channelId: string): ChannelEventRow[] {
    const rows = this.sql('SELECT seq, event, status_from, status_to, height, time, detail FROM channel_events WHERE channel_id = ? ORDER BY seq').all(channelId) as
      { seq: number; event: string; status_from: string | null; status_to: string; height: number | null; time: number; detail: string | null }[];
    return rows.map((r) => ({ seq: r.seq, event: r.event, from: r.status_from, to: r.status_to, height: r.height, time: r.time, detail: r.detail }));
  }

  private patchHtlc(channelId: string, p: HtlcPatch): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(p) as [keyof HtlcPatch, unknown][]) {
      if (k === 'htlcId' || v === undefined) continue;
      sets.push(`${HTLC_COLUMNS[k]} = ?`);
      values.push(v);
    }
    if (sets.length === 0) return;
    const changed = this.sql(`UPDATE channel_htlcs SET ${sets.join(', ')} WHERE channel_id = ? AND htlc_id = ?`).run(...values, channelId, p.htlcId).changes;
    if (changed !== 1) throw new WatchError('BAD_INPUT', expected('htlcId', `an HTLC of channel ${channelId}`, p.htlcId));
  }

  private addState(s: ChannelState): void {
    this.sql('INSERT INTO channel_states (channel_id, n, state) VALUES (?, ?, ?)').run(s.id, s.n, stateToJson(s));
  }

  private addEvent(id: string, event: string, from: string | null, to: string, height: number | null, detail: string | null): void {
    this.sql('INSERT INTO channel_events (channel_id, event, status_from, status_to, height, time, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, event, from, to, height, this.now(), detail);
  }
}

/** States kept parsed per book (a few channels' current and recent states). */
const PARSED_STATES = 256;

function freezeState(s: ChannelState): ChannelState {
  for (const h of s.inFlight) Object.freeze(h);
  Object.freeze(s.inFlight);
  Object.freeze(s.fundingOutpoint);
  return Object.freeze(s);
}

function toRecord(r: Row, state: ChannelState): ChannelRecord {
  return {
    id: r.id, role: r.role, status: r.status, keyIndex: r.key_index, n: r.n, state,
    fundingTxid: r.funding_txid, fundingVout: r.funding_vout, fundingRaw: u8n(r.funding_raw), exitTxid: r.exit_txid, exitRaw: u8n(r.exit_raw),
    closeTxid: r.close_txid, closeRaw: u8n(r.close_raw), commitmentTxid: r.commitment_txid, commitmentRaw: u8n(r.commitment_raw), commitmentN: r.commitment_n,
    claimTxid: r.claim_txid, claimRaw: u8n(r.claim_raw), sweepTxid: r.sweep_txid, sweepRaw: u8n(r.sweep_raw), settledHeight: r.settled_height, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function toHtlc(r: HtlcRow): HtlcRecord {
  return {
    channelId: r.channel_id, id: r.htlc_id, mode: r.mode, hk: Uint8Array.from(r.hk), ...(r.hr ? { hr: Uint8Array.from(r.hr) } : {}), amount: r.amount,
    locktime: r.locktime, k: u8n(r.k), r: u8n(r.r), status: r.status, refundTxid: r.refund_txid, refundRaw: u8n(r.refund_raw),
    resolvedTxid: r.resolved_txid, resolvedHeight: r.resolved_height,
  };
}
