/**
 * The relay's wallet: one party file, <dataDir>/wallet.sqlite (mode 0600), holding the
 * BIP84 wallet (its seed encrypted with the relay passphrase) and the relay's contract
 * book. It is created with a fresh random mnemonic on first start. Per-quote contract key i
 * is the wallet's m/1017'/coin'/1'/i' (m/1017'/coin'/0'/i' for quotes issued before quote
 * keys had their own account; each quote stores its account), channel key 2^30 + n is
 * m/1017'/coin'/0'/(2^30 + n)'; claims pay to the wallet's own receive addresses.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ChainBackend } from '../chain/backend.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { Wallet } from '../wallet/index.ts';
import { ContractBook, RelayContracts, openPartyDb } from '../watch/index.ts';
import type { ContractKeys } from './chain-ports.ts';
import type { RelayConfig } from './config.ts';
import { loadOrCreateSecret } from './daemon.ts';
import { RelayError } from './errors.ts';

export interface RelayWallet {
  /** The party file (wallet, contract book, channel book). */
  db: Db;
  wallet: Wallet;
  book: ContractBook;
  keys: ContractKeys;
  relayContracts(config: RelayConfig): RelayContracts;
  close(): void;
}

/** The wallet passphrase: the configured one, else a random one kept next to the node key. */
function passphraseOf(config: RelayConfig, log: Logger): string {
  if (config.passphrase !== '') return config.passphrase;
  log.warn('no relay passphrase configured (SATPOST_RELAY_PASSPHRASE): the wallet seed is encrypted with <dataDir>/wallet-passphrase');
  return Buffer.from(loadOrCreateSecret(join(config.dataDir, 'wallet-passphrase'))).toString('hex');
}

export function openRelayWallet(config: RelayConfig, o: { backend?: ChainBackend; scrypt?: ScryptParams; log: Logger }): RelayWallet {
  const path = join(config.dataDir, 'wallet.sqlite');
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const passphrase = passphraseOf(config, o.log);
  const db: Db = openPartyDb(path);
  let wallet: Wallet;
  try {
    const exists = (db.prepare('SELECT COUNT(*) AS n FROM wallet').get() as { n: number }).n > 0;
    const common = { db, passphrase, network: config.network, ...(o.backend ? { backend: o.backend } : {}) };
    wallet = exists ? Wallet.open(common) : Wallet.create({ ...common, ...(o.scrypt ? { scrypt: o.scrypt } : {}) });
  } catch (cause) {
    db.close();
    throw new RelayError('BAD_CONFIG', `cannot open the relay wallet ${path}: ${(cause as Error).message}`, { cause });
  }
  const book = new ContractBook(db);
  const keys: ContractKeys = { pubkey: (i, account) => wallet.contractKey(i, account).pubkey33 };
  let relay: RelayContracts | undefined;
  return {
    db, wallet, book, keys,
    relayContracts(c) {
      relay ??= new RelayContracts({ book, wallet, backend: o.backend!, minConfirmations: c.confirmations, claimMargin: c.claimMarginBlocks });
      return relay;
    },
    close() {
      wallet.close();
      db.close();
    },
  };
}
