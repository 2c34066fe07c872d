// Shared set-up for identity and envelope tests: real SQLite files in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/store/sqlite.ts';
import { openIdentityDb } from '../../src/identity/db.ts';
import { createIdentity, unlockIdentity, type UnlockedIdentity } from '../../src/identity/identity.ts';
import { PrekeyManager, type PrekeyPolicy } from '../../src/identity/prekeys.ts';
import { SignalStores, type StoreOptions } from '../../src/identity/stores.ts';
import { Sessions } from '../../src/identity/session.ts';

export const LIGHT_SCRYPT = { log2N: 10, r: 8, p: 1 };
export const T0 = 1_700_000_000_000;

export interface User {
  name: string;
  path: string;
  db: Db;
  self: UnlockedIdentity;
  stores: SignalStores;
  sessions: Sessions;
  prekeys: PrekeyManager;
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-identity-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeUser(
  dir: string,
  name: string,
  policy: Partial<PrekeyPolicy> = { poolSize: 5, kyberPoolSize: 2, threshold: 2, kyberThreshold: 1 },
  storeOpts: StoreOptions = {},
): User {
  const path = join(dir, `${name}.db`);
  const db = openIdentityDb(path);
  const self = createIdentity(db, `pass-${name}`, { scrypt: LIGHT_SCRYPT, now: T0 });
  const prekeys = new PrekeyManager(db, self, policy);
  prekeys.initialize(T0);
  const stores = new SignalStores(db, self, storeOpts);
  return { name, path, db, self, stores, sessions: new Sessions(stores), prekeys };
}

/** Closes and reopens a user's database, as a process restart would. */
export function reopen(u: User, policy?: Partial<PrekeyPolicy>, storeOpts: StoreOptions = {}): User {
  u.db.close();
  const db = openIdentityDb(u.path);
  const self = unlockIdentity(db, `pass-${u.name}`);
  const stores = new SignalStores(db, self, storeOpts);
  return { ...u, db, self, stores, sessions: new Sessions(stores), prekeys: new PrekeyManager(db, self, policy ?? u.prekeys.policy) };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
