/**
 * ContractBook: every contract a party takes part in, persisted in the party's own SQLite
 * file (the same file as its wallet), so money state lives together. A contract is written
 * before anything about it is signed or broadcast, and each state change is committed
 * before the action it enables (sign -> persist -> broadcast).
 *
 * Schema (store "contracts", version 2; versions in store_versions, see src/store/sqlite.ts):
 *
 *   contracts        one row per contract:
 *     id             TEXT PK: caller's id, default hex SHA-256(script) (= the P2WSH program);
 *                    also the wallet's contract-lock label.
 *     role           'payer' | 'relay'
 *     mode           'sender-pays' | 'recipient-pays' (redundant with the script, for queries)
 *     script         BLOB witness script: the source of truth, terms are re-derived from it
 *     locktime       INTEGER T (redundant with the script, for queries)
 *     amount         INTEGER sats of the contract output
 *     key_index      INTEGER wallet contract-key index (payer key for payer, relay key for relay)
 *     key_account    INTEGER (version 2) the key's contract-key account, m/1017'/coin'/key_account'/key_index';
 *                    0 for every contract written before version 2
 *     k, r           BLOB preimages once known (relay: k from the start; payer: learned from a claim)
 *     batch          TEXT id shared by the contracts of one fund() call (one funding tx)
 *     funding_txid, funding_vout, funding_raw   the funding output (payer: the signed funding tx)
 *     refund_txid, refund_raw    payer: the refund signed at funding time (nLockTime T)
 *     claim_txid, claim_raw      relay: its signed (batched) claim; payer: the claim seen on chain
 *     settled_height INTEGER height of the confirmation that made the state final (reorg re-checks)
 *     state          TEXT: RelayState | PayerState (src/contracts/state.ts), never an ordinal
 *     created_at, updated_at     unix ms
 *   contract_events  append-only history: seq PK, contract_id, event (a RelayEvent/PayerEvent,
 *                    or 'created' / a note such as 'claim-resigned', 'claim-bumped'), state_from, state_to,
 *                    height (chain tip when it happened), time (unix ms), detail (text, no secrets).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { migrateStore, type Db } from '../store/sqlite.ts';
import { expected } from '../core/errors.ts';
import {
  isFinal, parseContractScript, payerTransition, relayTransition,
  type ContractTerms, type PayerEvent, type PayerState, type RelayEvent, type RelayState,
} from '../contracts/index.ts';
import { WatchError } from './errors.ts';

export const CONTRACT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE contracts (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('payer', 'relay')),
    mode TEXT NOT NULL CHECK (mode IN ('sender-pays', 'recipient-pays')),
    script BLOB NOT NULL,
    locktime INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    key_index INTEGER NOT NULL,
    k BLOB,
    r BLOB,
    batch TEXT,
    funding_txid TEXT,
    funding_vout INTEGER,
    funding_raw BLOB,
    refund_txid TEXT,
    refund_raw BLOB,
    claim_txid TEXT,
    claim_raw BLOB,
    settled_height INTEGER,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX contracts_state ON contracts (role, state);
  CREATE TABLE contract_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    event TEXT NOT NULL,
    state_from TEXT,
    state_to TEXT NOT NULL,
    height INTEGER,
    time INTEGER NOT NULL,
    detail TEXT
  );
  CREATE INDEX contract_events_id ON contract_events (contract_id, seq);
  `,
  `ALTER TABLE contracts ADD COLUMN key_account INTEGER NOT NULL DEFAULT 0;`,
];

export type Role = 'payer' | 'relay';
export type ContractState = PayerState | RelayState;

export interface ContractRecord {
  id: string;
  role: Role;
  script: Uint8Array;
  /** Re-derived from `script` on every read. */
  terms: ContractTerms;
  amount: number;
  keyIndex: number;
  /** Contract-key account of keyIndex (0 unless the key came from another account). */
  keyAccount: number;
  k: Uint8Array | null;
  r: Uint8Array | null;
  batch: string | null;
  fundingTxid: string | null;
  fundingVout: number | null;
  fundingRaw: Uint8Array | null;
  refundTxid: string | null;
  refundRaw: Uint8Array | null;
  claimTxid: string | null;
  claimRaw: Uint8Array | null;
  settledHeight: number | null;
  state: ContractState;
  createdAt: number;
  updatedAt: number;
}

export interface ContractEvent {
  seq: number;
  event: string;
  from: string | null;
  to: string;
  height: number | null;
  time: number;
  detail: string | null;
}

/** Columns a transition (or a note) may set together with the state. */
export type ContractPatch = Partial<Pick<ContractRecord,
  'k' | 'r' | 'fundingTxid' | 'fundingVout' | 'fundingRaw' | 'refundTxid' | 'refundRaw' | 'claimTxid' | 'claimRaw' | 'settledHeight'>>;

const COLUMNS: Record<keyof ContractPatch, string> = {
  k: 'k', r: 'r', fundingTxid: 'funding_txid', fundingVout: 'funding_vout', fundingRaw: 'funding_raw',
  refundTxid: 'refund_txid', refundRaw: 'refund_raw', claimTxid: 'claim_txid', claimRaw: 'claim_raw', settledHeight: 'settled_height',
};

export interface NewContract {
  id?: string;
  role: Role;
  script: Uint8Array;
  amount: number;
  keyIndex: number;
  /** Default 0. */
  keyAccount?: number;
  state: ContractState;
  k?: Uint8Array;
  batch?: string;
  height?: number;
}

interface Row {
  id: string; role: Role; script: Buffer; amount: number; key_index: number; key_account: number; k: Buffer | null; r: Buffer | null;
  batch: string | null; funding_txid: string | null; funding_vout: number | null; funding_raw: Buffer | null;
  refund_txid: string | null; refund_raw: Buffer | null; claim_txid: string | null; claim_raw: Buffer | null;
  settled_height: number | null; state: ContractState; created_at: number; updated_at: number;
}

const u8 = (b: Buffer): Uint8Array => Uint8Array.from(b);
const u8n = (b: Buffer | null): Uint8Array | null => (b ? u8(b) : null);

/** The default contract id: hex SHA-256 of the witness script (its P2WSH program). */
export function contractId(script: Uint8Array): string {
  return hex.encode(sha256(script));
}

export class ContractBook {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    migrateStore(db, 'contracts', CONTRACT_MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  insert(c: NewContract): ContractRecord {
    const terms = parseContractScript(c.script);
    if (!Number.isSafeInteger(c.amount) || c.amount <= 0) throw new WatchError('BAD_INPUT', expected('amount', 'a positive integer of sats', c.amount));
    if (!Number.isInteger(c.keyIndex) || c.keyIndex < 0) throw new WatchError('BAD_INPUT', expected('keyIndex', 'a non-negative integer', c.keyIndex));
    const keyAccount = c.keyAccount ?? 0;
    if (!Number.isInteger(keyAccount) || keyAccount < 0) throw new WatchError('BAD_INPUT', expected('keyAccount', 'a non-negative integer', keyAccount));
    const id = c.id ?? contractId(c.script);
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) throw new WatchError('BAD_INPUT', expected('id', 'a string of 1..200 characters', id));
    const now = this.now();
    return this.tx(() => {
      if (this.find(id)) throw new WatchError('DUPLICATE_CONTRACT', `contract ${id} is already in the book`);
      this.db
        .prepare(`INSERT INTO contracts (id, role, mode, script, locktime, amount, key_index, key_account, k, batch, state, created_at, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, c.role, terms.mode, c.script, terms.locktime, c.amount, c.keyIndex, keyAccount, c.k ?? null, c.batch ?? null, c.state, now, now);
      this.addEvent(id, 'created', null, c.state, c.height ?? null, null);
      return this.get(id);
    });
  }

  find(id: string): ContractRecord | undefined {
    const row = this.db.prepare('SELECT * FROM contracts WHERE id = ?').get(id) as Row | undefined;
    return row && toRecord(row);
  }

  get(id: string): ContractRecord {
    const c = this.find(id);
    if (!c) throw new WatchError('UNKNOWN_CONTRACT', expected('contract id', 'a contract in the book', id));
    return c;
  }

  list(role?: Role): ContractRecord[] {
    return this.rows(role).map(toRecord);
  }

  /**
   * Contracts the watcher still has to look at: not final, or final ('claimed'/'refunded')
   * but settled less than `reorgDepth` blocks below `tipHeight` (a reorg could reopen them).
   * Chosen on the rows, before their records are made: a record's terms cost about a
   * millisecond to parse, and the book keeps every contract ever made (each send adds one and
   * its watcher pass asks for the active ones).
   */
  active(role: Role, tipHeight: number, reorgDepth: number): ContractRecord[] {
    return this.rows(role)
      .filter((r) => {
        if (!isFinal(r.state)) return true;
        if (r.state === 'expired' || r.state === 'abandoned') return false;
        return r.settled_height === null || tipHeight - r.settled_height + 1 < reorgDepth;
      })
      .map(toRecord);
  }

  private rows(role?: Role): Row[] {
    return (role
      ? this.db.prepare('SELECT * FROM contracts WHERE role = ? ORDER BY created_at, id').all(role)
      : this.db.prepare('SELECT * FROM contracts ORDER BY created_at, id').all()) as Row[];
  }

  /**
   * Forgets contracts that never left 'created' (nothing was signed for them: e.g. the wallet
   * could not fund them). Returns how many rows went. Anything past 'created' is kept forever.
   */
  forgetUnsigned(ids: readonly string[]): number {
    return this.tx(() => {
      let n = 0;
      for (const id of ids) {
        if (this.find(id)?.state !== 'created') continue;
        this.db.prepare('DELETE FROM contract_events WHERE contract_id = ?').run(id);
        n += this.db.prepare("DELETE FROM contracts WHERE id = ? AND state = 'created'").run(id).changes;
      }
      return n;
    });
  }

  /** Sets columns without a state change (e.g. r received); recorded as a note in the history. */
  update(id: string, patch: ContractPatch, note: string, height: number | null = null): ContractRecord {
    return this.tx(() => {
      const c = this.get(id);
      this.write(id, c.state, patch);
      this.addEvent(id, note, c.state, c.state, height, null);
      return this.get(id);
    });
  }

  /** Applies a state-machine event (BAD_TRANSITION if not allowed) with its columns, atomically. */
  transition(id: string, event: PayerEvent | RelayEvent, opts: { height?: number | null; patch?: ContractPatch; detail?: string } = {}): ContractRecord {
    return this.tx(() => {
      const c = this.get(id);
      const next = c.role === 'payer'
        ? payerTransition(c.state as PayerState, event as PayerEvent)
        : relayTransition(c.state as RelayState, event as RelayEvent);
      this.write(id, next, opts.patch ?? {});
      this.addEvent(id, event, c.state, next, opts.height ?? null, opts.detail ?? null);
      return this.get(id);
    });
  }

  history(id: string): ContractEvent[] {
    const rows = this.db
      .prepare('SELECT seq, event, state_from, state_to, height, time, detail FROM contract_events WHERE contract_id = ? ORDER BY seq')
      .all(id) as { seq: number; event: string; state_from: string | null; state_to: string; height: number | null; time: number; detail: string | null }[];
    return rows.map((r) => ({ seq: r.seq, event: r.event, from: r.state_from, to: r.state_to, height: r.height, time: r.time, detail: r.detail }));
  }

  private write(id: string, state: ContractState, patch: ContractPatch): void {
    const sets = ['state = ?', 'updated_at = ?'];
    const values: unknown[] = [state, this.now()];
    for (const [k, v] of Object.entries(patch) as [keyof ContractPatch, unknown][]) {
      if (v === undefined) continue;
      sets.push(`${COLUMNS[k]} = ?`);
      values.push(v);
    }
    this.db.prepare(`UPDATE contracts SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  private addEvent(id: string, event: string, from: string | null, to: string, height: number | null, detail: string | null): void {
    this.db
      .prepare('INSERT INTO contract_events (contract_id, event, state_from, state_to, height, time, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, event, from, to, height, this.now(), detail);
  }
}

// Re-deriving terms validates two curve points (about 1 ms in pure JS); a script's terms never
// change, so each script is parsed once per process. Bounded so a long-lived relay stays flat.
const TERMS_CACHE_MAX = 20_000;
const termsCache = new Map<string, ContractTerms>();

function termsOf(script: Uint8Array): ContractTerms {
  const key = hex.encode(script);
  let t = termsCache.get(key);
  if (!t) {
    t = parseContractScript(script);
    if (termsCache.size >= TERMS_CACHE_MAX) termsCache.clear();
    termsCache.set(key, t);
  }
  // A copy: callers may not reach into the cached object.
  return { ...t, hk: t.hk.slice(), relayPubkey: t.relayPubkey.slice(), payerPubkey: t.payerPubkey.slice(), ...(t.hr ? { hr: t.hr.slice() } : {}) };
}

function toRecord(r: Row): ContractRecord {
  const script = u8(r.script);
  return {
    id: r.id, role: r.role, script, terms: termsOf(script), amount: r.amount, keyIndex: r.key_index, keyAccount: r.key_account,
    k: u8n(r.k), r: u8n(r.r), batch: r.batch,
    fundingTxid: r.funding_txid, fundingVout: r.funding_vout, fundingRaw: u8n(r.funding_raw),
    refundTxid: r.refund_txid, refundRaw: u8n(r.refund_raw), claimTxid: r.claim_txid, claimRaw: u8n(r.claim_raw),
    settledHeight: r.settled_height, state: r.state, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
