/**
 * The data key of a data directory (a client's or a relay's): 32 random bytes that every
 * SQLite database of the directory is encrypted with (./sqlite.ts), kept in `<dir>/data-key`
 * (mode 0600) sealed under the passphrase with src/core/secretbox.ts (scrypt, then
 * XChaCha20-Poly1305):
 *
 *   "SPDK" (4) | version (1) = 1 | sealed data key (a secretbox blob)
 *
 * One key per directory, unlocked once per start; the passphrase itself never reaches SQLite.
 * The file is created exclusively and never replaced: losing it loses every database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSecret, sealSecret, SecretBoxError, type ScryptParams } from '../core/secretbox.ts';
import { writeFileDurably } from './files.ts';
import { DATA_KEY_BYTES, StoreError } from './sqlite.ts';

export const DATA_KEY_FILE = 'data-key';
const MAGIC = Buffer.from('SPDK', 'latin1');
const VERSION = 1;

export function dataKeyPath(dir: string): string {
  return join(dir, DATA_KEY_FILE);
}

export function hasDataKey(dir: string): boolean {
  return existsSync(dataKeyPath(dir));
}

/** Makes a new data key for `dir`, seals it under `passphrase` and writes it durably; fails if one exists. */
export function createDataKey(dir: string, passphrase: string, o: { scrypt?: ScryptParams } = {}): Uint8Array {
  const key = new Uint8Array(randomBytes(DATA_KEY_BYTES));
  const sealed = sealSecret(key, passphrase, (n) => new Uint8Array(randomBytes(n)), o.scrypt);
  writeFileDurably(dataKeyPath(dir), Buffer.concat([MAGIC, Uint8Array.of(VERSION), sealed]), dir, { exclusive: true });
  return key;
}

/** The data key of `dir`. Throws WRONG_PASSPHRASE, BAD_DATA_KEY (damaged), DATA_KEY_TOO_NEW. */
export function unlockDataKey(dir: string, passphrase: string): Uint8Array {
  const path = dataKeyPath(dir);
  const file = readFileSync(path);
  if (file.length < MAGIC.length + 1 || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StoreError('BAD_DATA_KEY', `${path} is not a satpost data key`);
  }
  const version = file[MAGIC.length]!;
  if (version > VERSION) throw new StoreError('DATA_KEY_TOO_NEW', `${path} has format ${version}, newer than this program knows (${VERSION}); upgrade satpost`);
  if (version !== VERSION) throw new StoreError('BAD_DATA_KEY', `${path} has unknown format ${version}`);
  let key: Uint8Array;
  try {
    key = openSecret(new Uint8Array(file.subarray(MAGIC.length + 1)), passphrase);
  } catch (cause) {
    if (SecretBoxError.is(cause, 'WRONG_PASSPHRASE')) throw new StoreError('WRONG_PASSPHRASE', `wrong passphrase for ${path}`, { cause });
    throw new StoreError('BAD_DATA_KEY', `${path} is damaged`, { cause });
  }
  if (key.length !== DATA_KEY_BYTES) throw new StoreError('BAD_DATA_KEY', `${path} holds ${key.length} bytes, not a ${DATA_KEY_BYTES}-byte key`);
  return key;
}
