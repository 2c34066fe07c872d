/**
 * Opening SQLite files the one way the project does it: WAL journal, a busy timeout,
 * foreign keys on, and an append-only list of migrations per store, tracked with
 * `PRAGMA user_version`. A store documents its schema in one comment next to its
 * migrations; never edit a migration that has shipped, append a new one.
 *
 * Encryption at rest: every database of a client or relay data directory is opened with the
 * directory's 32-byte data key (./data-key.ts) and encrypted page by page, WAL included, by
 * SQLite3 Multiple Ciphers (better-sqlite3-multiple-ciphers) with its `chacha20` cipher:
 * ChaCha20 with a Poly1305 tag per page, so a changed page is refused rather than read as
 * garbage, fast in software on any CPU (no AES instructions needed), and the construction the
 * project already trusts for its sealed secrets. The key is handed over raw (`x'…'`): it is
 * random, so no per-open key derivation is needed. A file from before encryption at rest is
 * encrypted in place on its first keyed open (encryptInPlace). The devnet chain database holds
 * only public data and is opened without a key.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { SatpostError } from '../core/errors.ts';
import { fsyncPath } from './files.ts';

export type Db = Database.Database;
export type Statement = Database.Statement;

export type StoreErrorCode =
  | 'MIGRATION_FAILED'
  | 'SCHEMA_TOO_NEW'
  | 'OPEN_FAILED'
  /** The file cannot be decrypted with the key given (damaged, or another directory's), or is not a plaintext database. */
  | 'UNREADABLE'
  | 'BAD_KEY'
  | 'ENCRYPTION_FAILED'
  /** The data-key file does not open with this passphrase. */
  | 'WRONG_PASSPHRASE'
  /** The data-key file is damaged. */
  | 'BAD_DATA_KEY'
  /** The data-key file was written by a newer satpost. */
  | 'DATA_KEY_TOO_NEW';
export class StoreError extends SatpostError<StoreErrorCode> {}

export const DATA_KEY_BYTES = 32;
const CIPHER = 'chacha20';
/** The first 16 bytes of every plaintext SQLite file; an encrypted one starts with its random salt. */
const PLAINTEXT_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** The encrypted copy being written by encryptInPlace; a leftover one is from a crash and is discarded. */
export const ENCRYPTING_SUFFIX = '.encrypting';
/** The key each open connection was keyed with, for a second connection to the same file (the identity commit worker). */
const keys = new WeakMap<Db, Uint8Array>();

export interface OpenOptions {
  /** File path, or ':memory:' for a throw-away database. */
  path: string;
  /** Ordered SQL migrations; index i brings user_version from i to i+1. */
  migrations: readonly string[];
  /**
   * 'FULL' fsyncs at every commit (durable against power loss and kill -9);
   * 'NORMAL' in WAL mode survives a process crash (kill -9) but may lose the last
   * commits on power loss. Default FULL: money state must never be lost.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  readonly?: boolean;
  /**
   * The data directory's data key (DATA_KEY_BYTES): the file is encrypted with it, and a
   * plaintext file from before encryption at rest is encrypted in place first. Absent: a
   * plaintext file, for public data only (the devnet chain) and ':memory:' databases.
   */
  key?: Uint8Array;
}

export function openDb(opts: OpenOptions): Db {
  const file = opts.path !== ':memory:';
  const key = file ? opts.key : undefined;
  if (key !== undefined) checkKey(key);
  if (file) mkdirSync(dirname(opts.path), { recursive: true });
  if (key !== undefined && !opts.readonly && isPlaintextDb(opts.path)) encryptInPlace(opts.path, key);
  let db: Db;
  try {
    db = new Database(opts.path, { readonly: opts.readonly ?? false });
  } catch (cause) {
    throw new StoreError('OPEN_FAILED', `cannot open database ${opts.path}: ${(cause as Error).message}`, { cause });
  }
  try {
    if (key !== undefined) applyKey(db, key);
    // The first read decrypts page 1: a wrong key or a damaged file fails here, before anything is written.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (cause) {
    db.close();
    throw unreadable(opts.path, key !== undefined, cause);
  }
  if (key !== undefined) {
    // Sorts and temporary indexes that spill to disk would otherwise be written in the clear.
    db.pragma('temp_store = MEMORY');
    keys.set(db, key);
  }
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  }
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db, opts.migrations);
  return db;
}

export function migrate(db: Db, migrations: readonly string[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `database schema version ${current} is newer than this program knows (${migrations.length}); upgrade satpost`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    const apply = db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    });
    try {
      apply();
    } catch (cause) {
      throw new StoreError('MIGRATION_FAILED', `migration ${v + 1} failed: ${(cause as Error).message}`, { cause });
    }
  }
}

/**
 * Migrations for a store that shares its file with another store (the contract book lives
 * in the party's wallet file, whose own migrations own `user_version`). Versions are kept
 * per store name in `store_versions(store TEXT PK, version INTEGER)`.
 */
export function migrateStore(db: Db, store: string, migrations: readonly string[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS store_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM store_versions WHERE store = ?').get(store) as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new StoreError('SCHEMA_TOO_NEW', `store "${store}" schema version ${current} is newer than this program knows (${migrations.length}); upgrade satpost`);
  }
  const set = db.prepare('INSERT INTO store_versions (store, version) VALUES (?, ?) ON CONFLICT (store) DO UPDATE SET version = excluded.version');
  for (let v = current; v < migrations.length; v++) {
    const apply = db.transaction(() => {
      db.exec(migrations[v]!);
      set.run(store, v + 1);
    });
    try {
      apply();
    } catch (cause) {
      throw new StoreError('MIGRATION_FAILED', `store "${store}" migration ${v + 1} failed: ${(cause as Error).message}`, { cause });
    }
  }
}

/** The data key `db` was opened with (undefined: a plaintext database). */
export function keyOf(db: Db): Uint8Array | undefined {
  return keys.get(db);
}

/**
 * The statements that key a fresh connection, in order (the first statements it runs).
 * Exported for the identity commit worker (plain JavaScript), which keys its own connection.
 */
export function keyStatements(key: Uint8Array): string[] {
  checkKey(key);
  return [`PRAGMA cipher = '${CIPHER}'`, `PRAGMA key = "x'${Buffer.from(key).toString('hex')}'"`];
}

function applyKey(db: Db, key: Uint8Array): void {
  for (const sql of keyStatements(key)) db.exec(sql);
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== DATA_KEY_BYTES) {
    throw new StoreError('BAD_KEY', `a data key is ${DATA_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
}

function unreadable(path: string, keyed: boolean, cause: unknown): StoreError {
  // SQLITE_NOTADB is SQLite's stable result code for "page 1 is not a database page".
  if ((cause as { code?: unknown }).code === 'SQLITE_NOTADB') {
    return new StoreError(
      'UNREADABLE',
      keyed
        ? `${path} cannot be decrypted with this data directory's key: it is damaged, or was encrypted under another directory's key`
        : `${path} is not a plaintext SQLite database: it is encrypted, or damaged`,
      { cause },
    );
  }
  return new StoreError('OPEN_FAILED', `cannot open database ${path}: ${(cause as Error).message}`, { cause });
}

/** True when `path` is a non-empty SQLite file in the clear (a missing or empty file is a new database). */
export function isPlaintextDb(path: string): boolean {
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(PLAINTEXT_HEADER.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(PLAINTEXT_HEADER);
  } finally {
    closeSync(fd);
  }
}

/** The points of encryptInPlace between its durable steps (tests stop a process at each). */
export type EncryptStep = 'out-of-wal' | 'copied' | 'renamed';

/**
 * Encrypts the plaintext database at `path` with `key`, atomically: the schema and every row
 * are copied into `<path>.encrypting` (keyed) in one transaction, that file is fsynced and
 * renamed over the original, then the directory is fsynced. A crash at any point leaves the
 * old plaintext file or the new encrypted one in place, each complete; a leftover
 * `.encrypting` file is discarded by the next attempt. Nobody else may have the file open.
 * (SQLite3 Multiple Ciphers has no sqlcipher_export; the copy below is what it does.)
 */
export function encryptInPlace(path: string, key: Uint8Array, step: (s: EncryptStep) => void = () => undefined): void {
  checkKey(key);
  const tmp = path + ENCRYPTING_SUFFIX;
  for (const side of ['', '-journal', '-wal', '-shm']) rmSync(tmp + side, { force: true });
  // Leave WAL mode first: this checkpoints every committed transaction into the main file and
  // deletes the -wal, which would otherwise be replayed into the encrypted file after the rename.
  const plain = new Database(path);
  try {
    const mode = plain.pragma('journal_mode = DELETE', { simple: true }) as string;
    if (mode !== 'delete') throw new StoreError('ENCRYPTION_FAILED', `${path} stays in ${mode} journal mode (is another process using it?)`);
  } catch (cause) {
    plain.close();
    throw SatpostError.is(cause) ? cause : unreadable(path, false, cause);
  }
  plain.close();
  step('out-of-wal');
  // The copy gets the original's mode (0600 in a data directory) before SQLite writes to it.
  const mode = statSync(path).mode & 0o777;
  closeSync(openSync(tmp, 'wx', mode));
  chmodSync(tmp, mode);
  const enc = new Database(tmp);
  try {
    applyKey(enc, key);
    enc.pragma('temp_store = MEMORY');
    enc.pragma('synchronous = FULL');
    enc.prepare("ATTACH DATABASE ? AS plain KEY ''").run(path);
    copyDatabase(enc);
    enc.exec('DETACH DATABASE plain');
  } catch (cause) {
    enc.close();
    rmSync(tmp, { force: true });
    throw SatpostError.is(cause) ? cause : new StoreError('ENCRYPTION_FAILED', `cannot encrypt ${path}: ${(cause as Error).message}`, { cause });
  }
  enc.close();
  fsyncPath(tmp);
  step('copied');
  if (existsSync(`${path}-wal`)) throw new StoreError('ENCRYPTION_FAILED', `${path}-wal reappeared (is another process using it?)`);
  rmSync(`${path}-shm`, { force: true });
  renameSync(tmp, path);
  step('renamed');
  fsyncPath(dirname(path));
}

/** Copies schema, rows, AUTOINCREMENT counters and user_version from `plain` into `main`, in one transaction. */
function copyDatabase(db: Db): void {
  const objects = db
    .prepare("SELECT type, name, sql FROM plain.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY rowid")
    .all() as { type: string; name: string; sql: string }[];
  const tables = objects.filter((o) => o.type === 'table');
  const quoted = (name: string): string => `"${name.replaceAll('"', '""')}"`;
  const version = db.pragma('plain.user_version', { simple: true }) as number;
  db.transaction(() => {
    for (const t of tables) db.exec(t.sql);
    for (const t of tables) db.exec(`INSERT INTO main.${quoted(t.name)} SELECT * FROM plain.${quoted(t.name)}`);
    if (db.prepare("SELECT 1 FROM plain.sqlite_schema WHERE name = 'sqlite_sequence'").get() !== undefined) {
      // The inserts above advanced main's counters to the largest ids present; the plain file's may be higher.
      db.exec('DELETE FROM main.sqlite_sequence; INSERT INTO main.sqlite_sequence SELECT * FROM plain.sqlite_sequence');
    }
    // Indexes after the rows (faster), triggers last (so the copy fires none).
    for (const o of objects) if (o.type !== 'table') db.exec(o.sql);
    db.pragma(`user_version = ${version}`);
  })();
}
