/**
 * Opening SQLite files the one way the project does it: WAL journal, a busy timeout,
 * foreign keys on, and an append-only list of migrations per store, tracked with
 * `PRAGMA user_version`. A store documents its schema in one comment next to its
 * migrations; never edit a migration that has shipped, append a new one.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SatpostError } from '../core/errors.ts';

export type Db = Database.Database;

export type StoreErrorCode = 'MIGRATION_FAILED' | 'SCHEMA_TOO_NEW' | 'OPEN_FAILED';
export class StoreError extends SatpostError<StoreErrorCode> {}

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
}

export function openDb(opts: OpenOptions): Db {
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
  let db: Db;
  try {
    db = new Database(opts.path, { readonly: opts.readonly ?? false });
  } catch (cause) {
    throw new StoreError('OPEN_FAILED', `cannot open database ${opts.path}: ${(cause as Error).message}`, { cause });
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
