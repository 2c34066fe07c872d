/**
 * The wallet's SQLite store. One file per wallet; every money change is one transaction.
 *
 * Schema (user_version 1):
 *
 *   wallet     the one row (id = 1): network name; sealed_secret = secretbox(JSON {v, mnemonic,
 *              bip39Passphrase}) — the only encrypted column; account_xpub (zpub/vpub, public,
 *              checked against the seed at unlock); gap_limit; created_at (unix ms).
 *   counters   name -> integer: 'receive' (next receive index to hand out), 'change' (next
 *              change index), 'contract' (next contract key index), 'synced_height' (chain
 *              height at the last sync; coinbase maturity and anti-fee-sniping locktime).
 *   addresses  every derived wallet address: script (scriptPubKey, PK), chain (0 receive,
 *              1 change), idx, address, used (1 once any transaction touched it).
 *   utxos      unspent outputs paying wallet addresses, as last seen by sync or by a
 *              transaction of our own: txid, vout, value (sats), script, height (NULL while
 *              unconfirmed), coinbase (1 for coinbase outputs: immature for 100 blocks).
 *   txs        history: txid, raw (bytes, when known), state ('pending' built and persisted,
 *              not yet seen by the chain | 'mempool' | 'confirmed' | 'failed' broadcast
 *              refused | 'abandoned' given up by the caller | 'dropped' vanished from the
 *              chain view), own (1 if this wallet built it), height, block_time, received and
 *              sent (sats to / from wallet addresses), fee (NULL when not all inputs are ours),
 *              created_at (unix ms).
 *   locks      outpoints kept from coin selection: kind 'reserved' (a wallet UTXO that a
 *              pending transaction or the caller set aside; ref = spending txid or a label)
 *              or 'contract' (an output of a contract this wallet funded, counted in
 *              lockedInContracts until released; ref = caller's label), amount in sats.
 *
 * Enum-like columns store strings, never ordinals. Migrations are append-only.
 */
import { openDb, migrate, type Db } from '../store/sqlite.ts';

export const WALLET_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE wallet (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    network TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    account_xpub TEXT NOT NULL,
    gap_limit INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE addresses (
    script BLOB PRIMARY KEY,
    chain INTEGER NOT NULL CHECK (chain IN (0, 1)),
    idx INTEGER NOT NULL,
    address TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    UNIQUE (chain, idx)
  );
  CREATE TABLE utxos (
    txid TEXT NOT NULL,
    vout INTEGER NOT NULL,
    value INTEGER NOT NULL,
    script BLOB NOT NULL REFERENCES addresses(script),
    height INTEGER,
    coinbase INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (txid, vout)
  );
  CREATE TABLE txs (
    txid TEXT PRIMARY KEY,
    raw BLOB,
    state TEXT NOT NULL CHECK (state IN ('pending', 'mempool', 'confirmed', 'failed', 'abandoned', 'dropped')),
    own INTEGER NOT NULL DEFAULT 0,
    height INTEGER,
    block_time INTEGER,
    received INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    fee INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE locks (
    txid TEXT NOT NULL,
    vout INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reserved', 'contract')),
    amount INTEGER NOT NULL,
    ref TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (txid, vout)
  );
  CREATE INDEX locks_ref ON locks (ref);
  `,
];

export type TxState = 'pending' | 'mempool' | 'confirmed' | 'failed' | 'abandoned' | 'dropped';
export type LockKind = 'reserved' | 'contract';
export type CounterName = 'receive' | 'change' | 'contract' | 'synced_height';

export interface WalletRow {
  network: string;
  sealedSecret: Uint8Array;
  accountXpub: string;
  gapLimit: number;
  createdAt: number;
}

export interface AddressRow {
  script: Uint8Array;
  chain: 0 | 1;
  index: number;
  address: string;
  used: boolean;
}

export interface UtxoRow {
  txid: string;
  vout: number;
  value: number;
  script: Uint8Array;
  height: number | null;
  coinbase: boolean;
}

export interface TxRow {
  txid: string;
  raw: Uint8Array | null;
  state: TxState;
  own: boolean;
  height: number | null;
  blockTime: number | null;
  received: number;
  sent: number;
  fee: number | null;
  createdAt: number;
}

export interface LockRow {
  txid: string;
  vout: number;
  kind: LockKind;
  amount: number;
  ref: string;
  createdAt: number;
}

/** Opens a wallet database from a path (migrating it) or adopts an open handle. */
export function openWalletDb(db: string | Db): { db: Db; owned: boolean } {
  if (typeof db === 'string') return { db: openDb({ path: db, migrations: WALLET_MIGRATIONS }), owned: true };
  migrate(db, WALLET_MIGRATIONS);
  return { db, owned: false };
}

const u8 = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Typed queries over the schema above. Callers group writes with `tx`. */
export class WalletStore {
  constructor(readonly db: Db) {}

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getWallet(): WalletRow | undefined {
    const r = this.db.prepare('SELECT * FROM wallet WHERE id = 1').get() as
      | { network: string; sealed_secret: Buffer; account_xpub: string; gap_limit: number; created_at: number }
      | undefined;
    if (!r) return undefined;
    return {
      network: r.network,
      sealedSecret: u8(r.sealed_secret),
      accountXpub: r.account_xpub,
      gapLimit: r.gap_limit,
      createdAt: r.created_at,
    };
  }

  insertWallet(w: WalletRow): void {
    this.db
      .prepare('INSERT INTO wallet (id, network, sealed_secret, account_xpub, gap_limit, created_at) VALUES (1, ?, ?, ?, ?, ?)')
      .run(w.network, w.sealedSecret, w.accountXpub, w.gapLimit, w.createdAt);
  }

  counter(name: CounterName): number {
    const r = this.db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined;
    return r?.value ?? 0;
  }

  setCounter(name: CounterName, value: number): void {
    this.db
      .prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
      .run(name, value);
  }

  /** Returns the counter's value and stores value + 1, atomically. */
  takeCounter(name: CounterName): number {
    return this.tx(() => {
      const v = this.counter(name);
      this.setCounter(name, v + 1);
      return v;
    });
  }

  getAddress(chain: 0 | 1, index: number): AddressRow | undefined {
    const r = this.db.prepare('SELECT * FROM addresses WHERE chain = ? AND idx = ?').get(chain, index) as RawAddress | undefined;
    return r && toAddress(r);
  }

  addressByScript(script: Uint8Array): AddressRow | undefined {
    const r = this.db.prepare('SELECT * FROM addresses WHERE script = ?').get(script) as RawAddress | undefined;
    return r && toAddress(r);
  }

  insertAddress(a: Omit<AddressRow, 'used'>): void {
    this.db
      .prepare('INSERT OR IGNORE INTO addresses (script, chain, idx, address, used) VALUES (?, ?, ?, ?, 0)')
      .run(a.script, a.chain, a.index, a.address);
  }

  markUsed(script: Uint8Array): void {
    this.db.prepare('UPDATE addresses SET used = 1 WHERE script = ?').run(script);
  }

  addresses(chain?: 0 | 1): AddressRow[] {
    const rows = (
      chain === undefined
        ? this.db.prepare('SELECT * FROM addresses ORDER BY chain, idx').all()
        : this.db.prepare('SELECT * FROM addresses WHERE chain = ? ORDER BY idx').all(chain)
    ) as RawAddress[];
    return rows.map(toAddress);
  }

  utxos(): UtxoRow[] {
    const rows = this.db.prepare('SELECT * FROM utxos ORDER BY txid, vout').all() as RawUtxo[];
    return rows.map(toUtxo);
  }

  insertUtxo(u: UtxoRow): void {
    this.db
      .prepare('INSERT OR REPLACE INTO utxos (txid, vout, value, script, height, coinbase) VALUES (?, ?, ?, ?, ?, ?)')
      .run(u.txid, u.vout, u.value, u.script, u.height, u.coinbase ? 1 : 0);
  }

  deleteUtxo(txid: string, vout: number): void {
    this.db.prepare('DELETE FROM utxos WHERE txid = ? AND vout = ?').run(txid, vout);
  }

  replaceUtxos(rows: readonly UtxoRow[]): void {
    this.tx(() => {
      this.db.prepare('DELETE FROM utxos').run();
      for (const u of rows) this.insertUtxo(u);
    });
  }

  getTx(txid: string): TxRow | undefined {
    const r = this.db.prepare('SELECT * FROM txs WHERE txid = ?').get(txid) as RawTx | undefined;
    return r && toTx(r);
  }

  upsertTx(t: TxRow): void {
    this.db
      .prepare(
        `INSERT INTO txs (txid, raw, state, own, height, block_time, received, sent, fee, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (txid) DO UPDATE SET raw = COALESCE(excluded.raw, raw), state = excluded.state,
           own = MAX(own, excluded.own), height = excluded.height, block_time = excluded.block_time,
           received = excluded.received, sent = excluded.sent, fee = COALESCE(excluded.fee, fee)`,
      )
      .run(t.txid, t.raw, t.state, t.own ? 1 : 0, t.height, t.blockTime, t.received, t.sent, t.fee, t.createdAt);
  }

  setTxState(txid: string, state: TxState): void {
    this.db.prepare('UPDATE txs SET state = ? WHERE txid = ?').run(state, txid);
  }

  txs(): TxRow[] {
    const rows = this.db
      .prepare('SELECT * FROM txs ORDER BY height IS NULL, height, created_at, txid')
      .all() as RawTx[];
    return rows.map(toTx);
  }

  locks(kind?: LockKind): LockRow[] {
    const rows = (
      kind === undefined
        ? this.db.prepare('SELECT * FROM locks ORDER BY created_at, txid, vout').all()
        : this.db.prepare('SELECT * FROM locks WHERE kind = ? ORDER BY created_at, txid, vout').all(kind)
    ) as RawLock[];
    return rows.map((r) => ({ txid: r.txid, vout: r.vout, kind: r.kind, amount: r.amount, ref: r.ref, createdAt: r.created_at }));
  }

  insertLock(l: LockRow): void {
    this.db
      .prepare('INSERT OR REPLACE INTO locks (txid, vout, kind, amount, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(l.txid, l.vout, l.kind, l.amount, l.ref, l.createdAt);
  }

  deleteLock(txid: string, vout: number): boolean {
    return this.db.prepare('DELETE FROM locks WHERE txid = ? AND vout = ?').run(txid, vout).changes > 0;
  }

  deleteLocksByRef(kind: LockKind, ref: string): number {
    return this.db.prepare('DELETE FROM locks WHERE kind = ? AND ref = ?').run(kind, ref).changes;
  }
}

interface RawAddress {
  script: Buffer;
  chain: 0 | 1;
  idx: number;
  address: string;
  used: number;
}
interface RawUtxo {
  txid: string;
  vout: number;
  value: number;
  script: Buffer;
  height: number | null;
  coinbase: number;
}
interface RawTx {
  txid: string;
  raw: Buffer | null;
  state: TxState;
  own: number;
  height: number | null;
  block_time: number | null;
  received: number;
  sent: number;
  fee: number | null;
  created_at: number;
}
interface RawLock {
  txid: string;
  vout: number;
  kind: LockKind;
  amount: number;
  ref: string;
  created_at: number;
}

function toAddress(r: RawAddress): AddressRow {
  return { script: u8(r.script), chain: r.chain, index: r.idx, address: r.address, used: r.used === 1 };
}
function toUtxo(r: RawUtxo): UtxoRow {
  return { txid: r.txid, vout: r.vout, value: r.value, script: u8(r.script), height: r.height, coinbase: r.coinbase === 1 };
}
function toTx(r: RawTx): TxRow {
  return {
    txid: r.txid,
    raw: r.raw ? u8(r.raw) : null,
    state: r.state,
    own: r.own === 1,
    height: r.height,
    blockTime: r.block_time,
    received: r.received,
    sent: r.sent,
    fee: r.fee,
    createdAt: r.created_at,
  };
}
