/**
 * A user of the story (Alice, Carol): her own data directory holding a wallet file and an
 * identity file (libsignal stores and prekeys), both real SQLite, both sealed under her
 * passphrase. Bob the relay has only a wallet and a node key (bob.ts).
 */
import { join } from 'node:path';
import type { ChainBackend } from '../chain/backend.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { openIdentityDb } from '../identity/db.ts';
import { createIdentity, type UnlockedIdentity } from '../identity/identity.ts';
import { PrekeyManager } from '../identity/prekeys.ts';
import { Sessions } from '../identity/session.ts';
import { SignalStores } from '../identity/stores.ts';
import { Wallet } from '../wallet/index.ts';

export interface Person {
  name: string;
  dir: string;
  wallet: Wallet;
  identity: UnlockedIdentity;
  sessions: Sessions;
  prekeys: PrekeyManager;
  close(): void;
}

/** Small pools: the story uses two one-time keys, not Signal's hundred. */
const DEMO_PREKEYS = { poolSize: 10, kyberPoolSize: 2, threshold: 3, kyberThreshold: 1 };

/** The demo's throw-away passphrases (tests reopen the data dirs with them). */
export const walletPassphrase = (name: string): string => `${name} wallet passphrase`;
export const identityPassphrase = (name: string): string => `${name} identity passphrase`;

export function createWallet(o: { dir: string; name: string; backend: ChainBackend; scrypt: ScryptParams }): Wallet {
  return Wallet.create({ db: join(o.dir, 'wallet.sqlite'), passphrase: walletPassphrase(o.name), network: 'regtest', backend: o.backend, scrypt: o.scrypt });
}

export function createPerson(o: { root: string; name: string; backend: ChainBackend; scrypt: ScryptParams; now: number }): Person {
  const dir = join(o.root, o.name.toLowerCase());
  const wallet = createWallet({ dir, name: o.name, backend: o.backend, scrypt: o.scrypt });
  let db: Db | undefined;
  try {
    db = openIdentityDb(join(dir, 'identity.sqlite'));
    const identity = createIdentity(db, identityPassphrase(o.name), { scrypt: o.scrypt, now: o.now });
    const prekeys = new PrekeyManager(db, identity, DEMO_PREKEYS);
    prekeys.initialize(o.now);
    const sessions = new Sessions(new SignalStores(db, identity));
    const opened = db;
    return {
      name: o.name, dir, wallet, identity, sessions, prekeys,
      close: () => {
        wallet.close();
        opened.close();
      },
    };
  } catch (err) {
    wallet.close();
    db?.close();
    throw err;
  }
}
