/**
 * The identity database: one SQLite file per user holding the identity key (encrypted),
 * every libsignal store and the prekey pools. Opened through src/store/sqlite.ts.
 *
 * Schema (all times are unix milliseconds; keys are libsignal serializations):
 *
 *   identity_self          the user's own identity, one row (id = 1)
 *     public_key BLOB        33-byte identity public key (0x05 || 32)
 *     sealed_private BLOB    identity private key sealed with secretbox (scrypt + XChaCha20-Poly1305)
 *     registration_id INT    libsignal registration id (1..16380)
 *     created_at INT
 *   sessions               Double Ratchet state per peer device
 *     peer TEXT, device INT  PRIMARY KEY; peer is the caller's contact name
 *     record BLOB            libsignal SessionRecord
 *     updated_at INT
 *   identities             trust decisions about peers' identity keys
 *     peer TEXT PRIMARY KEY
 *     trusted_key BLOB       the key accepted (first use, or trustNewIdentity)
 *     untrusted_key BLOB     a different key seen since, NOT trusted until trustNewIdentity; NULL if none
 *     first_seen_at INT, changed_at INT NULL
 *   prekeys                one-time Curve25519 prekeys
 *     id INT PRIMARY KEY, record BLOB (PreKeyRecord), signature BLOB (64, satpost's own, see prekeys.ts)
 *     created_at INT, published_at INT NULL (NULL until included in a built bundle)
 *   signed_prekeys
 *     id INT PRIMARY KEY, record BLOB (SignedPreKeyRecord), created_at INT, retired_at INT NULL
 *   kyber_prekeys
 *     id INT PRIMARY KEY, kind TEXT ('one-time' | 'last-resort'), record BLOB (KyberPreKeyRecord)
 *     created_at INT, published_at INT NULL, retired_at INT NULL (last-resort keys only)
 *   kyber_last_resort_uses  every (last-resort key, signed prekey, base key) ever used, so a
 *     replayed PreKey message cannot reuse a last-resort key: PRIMARY KEY of the three, used_at INT
 *   counters               next id per prekey kind (ids are never reused)
 *     name TEXT PRIMARY KEY ('prekey' | 'signed' | 'kyber'), next INT
 */
import { openDb, type Db } from '../store/sqlite.ts';

export const IDENTITY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE identity_self (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     public_key BLOB NOT NULL,
     sealed_private BLOB NOT NULL,
     registration_id INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE sessions (
     peer TEXT NOT NULL,
     device INTEGER NOT NULL,
     record BLOB NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (peer, device)
   ) WITHOUT ROWID;
   CREATE TABLE identities (
     peer TEXT PRIMARY KEY,
     trusted_key BLOB NOT NULL,
     untrusted_key BLOB,
     first_seen_at INTEGER NOT NULL,
     changed_at INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE prekeys (
     id INTEGER PRIMARY KEY,
     record BLOB NOT NULL,
     signature BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     published_at INTEGER
   );
   CREATE TABLE signed_prekeys (
     id INTEGER PRIMARY KEY,
     record BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     retired_at INTEGER
   );
   CREATE TABLE kyber_prekeys (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('one-time', 'last-resort')),
     record BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     published_at INTEGER,
     retired_at INTEGER
   );
   CREATE TABLE kyber_last_resort_uses (
     kyber_id INTEGER NOT NULL,
     signed_prekey_id INTEGER NOT NULL,
     base_key BLOB NOT NULL,
     used_at INTEGER NOT NULL,
     PRIMARY KEY (kyber_id, signed_prekey_id, base_key)
   ) WITHOUT ROWID;
   CREATE TABLE counters (
     name TEXT PRIMARY KEY,
     next INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export interface IdentityDbOptions {
  /** See OpenOptions.synchronous; default FULL (ratchet state must survive power loss). */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /** The data directory's data key (see OpenOptions.key). */
  key?: Uint8Array;
}

export function openIdentityDb(path: string, opts: IdentityDbOptions = {}): Db {
  return openDb({ path, migrations: IDENTITY_MIGRATIONS, synchronous: opts.synchronous ?? 'FULL', ...(opts.key ? { key: opts.key } : {}) });
}

/** Next id of a counter, advanced in the caller's transaction. Ids start at 1. */
export function nextId(db: Db, name: 'prekey' | 'signed' | 'kyber'): number {
  const row = db.prepare('SELECT next FROM counters WHERE name = ?').get(name) as { next: number } | undefined;
  const id = row?.next ?? 1;
  db.prepare('INSERT INTO counters (name, next) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET next = excluded.next').run(name, id + 1);
  return id;
}
