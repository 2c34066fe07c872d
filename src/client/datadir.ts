/**
 * A user's data directory (the CLI's default is $SATPOST_DATA_DIR, else
 * $XDG_DATA_HOME/satpost, else ~/.local/share/satpost):
 *
 *   wallet.sqlite     the Bitcoin wallet (src/wallet); the contract book joins it (src/watch)
 *   identity.sqlite   identity key, libsignal sessions and trust, prekeys (src/identity)
 *   client.sqlite     contacts, and later the outbox and inbox (./store.ts)
 *   data-key          the key every database above is encrypted with, sealed by the passphrase
 *                     (src/store/data-key.ts); without it the databases cannot be read
 *   config.json       network, chain URL, relays (./config.ts); written last by init
 *   public.json       what the user hands out anyway (her address, fingerprint, network,
 *                     relays), unencrypted so `satpost address` needs no passphrase; written
 *                     by init and refreshed by every open. Contacts are NOT in it: who she
 *                     writes to is private and stays in the sealed databases.
 *   init.pending      exists only while init runs: its presence means an init was interrupted
 *   agent.sock        exists only while a `satpost unlock` agent runs (src/cli/agent.ts): its
 *                     socket; the unsealed keys it serves are in its memory, never on disk
 *   fraud-proofs/     <message id>.json: proofs against relays caught cheating (./receive.ts),
 *                     for the user to hand to anyone (`satpost verify-proof FILE`)
 *
 * The directory is 0700 and every file 0600: the databases hold sealed keys and private
 * metadata (who talks to whom). SQLite gives its -wal/-shm files the database file's mode,
 * so creating each database file 0600 before SQLite opens it is enough.
 *
 * Other programs may share the directory (`satpost devnet` keeps devnet.sqlite there, a
 * relay its relay/ subdirectory); only the names above belong to the client.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from './errors.ts';
import type { ClientConfig } from './config.ts';
import { isNetworkName, type NetworkName } from '../core/network.ts';
import { DATA_KEY_FILE, fsyncPath, writeFileDurably } from '../store/files.ts';

export const DATA_FILES = {
  wallet: 'wallet.sqlite',
  identity: 'identity.sqlite',
  client: 'client.sqlite',
  config: 'config.json',
  public: 'public.json',
  dataKey: DATA_KEY_FILE,
  initMarker: 'init.pending',
} as const;

const DATABASES = [DATA_FILES.identity, DATA_FILES.wallet, DATA_FILES.client] as const;
const SQLITE_SIDE_FILES = ['', '-wal', '-shm', '-journal'];

/**
 * - empty: no client files (the directory may not exist);
 * - initialized: config.json present;
 * - interrupted: an init began and did not finish (init.pending present);
 * - damaged: databases without config.json and without init.pending (not ours to delete).
 */
export type DataDirState = 'empty' | 'initialized' | 'interrupted' | 'damaged';

export class DataDir {
  constructor(readonly path: string) {}

  file(name: keyof typeof DATA_FILES): string {
    return join(this.path, DATA_FILES[name]);
  }

  proofDir(): string {
    return join(this.path, 'fraud-proofs');
  }

  state(): DataDirState {
    if (existsSync(this.file('config'))) return 'initialized';
    if (existsSync(this.file('initMarker'))) return 'interrupted';
    return this.presentDatabases().length > 0 ? 'damaged' : 'empty';
  }

  /** A relay's directory (its node key and relay.sqlite, no client config): another program's. */
  isRelayDir(): boolean {
    return !existsSync(this.file('config')) && existsSync(join(this.path, 'node-key')) && existsSync(join(this.path, 'relay.sqlite'));
  }

  presentDatabases(): string[] {
    return DATABASES.filter((f) => existsSync(join(this.path, f)));
  }

  missingDatabases(): string[] {
    return DATABASES.filter((f) => !existsSync(join(this.path, f)));
  }

  /** Creates the directory if needed and makes it private (0700). */
  ensure(): void {
    mkdirSync(this.path, { recursive: true, mode: 0o700 });
    if (!statSync(this.path).isDirectory()) throw new ClientError('BAD_DATA_DIR', `${this.path} is not a directory`);
    chmodSync(this.path, 0o700);
  }

  /** Marks the start of an init; a crash from here on leaves state() === 'interrupted'. */
  beginInit(): void {
    writeFileDurably(this.file('initMarker'), `init started ${new Date().toISOString()}\n`, this.path);
  }

  finishInit(): void {
    rmSync(this.file('initMarker'), { force: true });
    fsyncPath(this.path);
  }

  /**
   * Deletes what an interrupted init left. Safe because init hands out nothing (no address,
   * no recovery phrase) before config.json is written: nobody can have used those keys.
   */
  discardPartialInit(): void {
    for (const db of DATABASES) for (const side of SQLITE_SIDE_FILES) rmSync(join(this.path, db + side), { force: true });
    rmSync(this.file('dataKey'), { force: true });
    rmSync(this.file('config') + '.tmp', { force: true });
  }

  /** Used when an init fails after writing config.json (only init calls it). */
  removeConfig(): void {
    rmSync(this.file('config'), { force: true });
    rmSync(this.file('public'), { force: true });
  }

  /** Creates an empty database file 0600 (fails if it exists), so SQLite inherits the mode. */
  createPrivateFile(name: 'wallet' | 'identity' | 'client'): string {
    const path = this.file(name);
    closeSync(openSync(path, 'wx', 0o600));
    chmodSync(path, 0o600);
    return path;
  }

  /** public.json, or undefined when there is none yet (a directory not opened since it was added). */
  readPublic(): PublicInfo | undefined {
    const path = this.file('public');
    const json = readJsonFile(path, true);
    return json === undefined ? undefined : parsePublicInfo(json, path);
  }

  /** Rewrites public.json (atomically) when it differs from `info`. */
  writePublic(info: PublicInfo): void {
    const text = JSON.stringify(info, null, 2) + '\n';
    try {
      if (readFileSync(this.file('public'), 'utf8') === text) return;
    } catch {
      // missing: written below
    }
    writeFileDurably(this.file('public'), text, this.path);
  }

  /** Replaces config.json atomically (temp file, fsync, rename, fsync the directory). */
  writeConfig(config: ClientConfig): void {
    writeFileDurably(this.file('config'), JSON.stringify(config, null, 2) + '\n', this.path);
  }
}

/** The user's public data (public.json): nothing in it needs the passphrase to be read. */
export interface PublicInfo {
  version: 1;
  network: NetworkName;
  address: string;
  fingerprint: string;
  relays: string[];
}

function parsePublicInfo(json: unknown, path: string): PublicInfo {
  const o = json as Partial<PublicInfo> | null;
  const ok =
    typeof o === 'object' && o !== null && o.version === 1 && typeof o.network === 'string' && isNetworkName(o.network) && typeof o.address === 'string' &&
    typeof o.fingerprint === 'string' && Array.isArray(o.relays) && o.relays.every((r) => typeof r === 'string');
  if (!ok) throw new ClientError('BAD_CONFIG', `${path} is not a satpost public.json (version 1: network, address, fingerprint, relays)`);
  return { version: 1, network: o.network!, address: o.address!, fingerprint: o.fingerprint!, relays: [...o.relays!] };
}

/** Writes `dir`/`name` atomically (the directory made 0700 if missing); returns its path. */
export function saveFileDurably(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  writeFileDurably(path, text, dir);
  return path;
}

/** The JSON in `path`; undefined for a missing file when `missingOk`. BAD_DATA_DIR (unreadable), BAD_CONFIG (not JSON). */
export function readJsonFile(path: string, missingOk: boolean): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (missingOk && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientError('BAD_DATA_DIR', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ClientError('BAD_CONFIG', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
