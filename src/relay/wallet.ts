/**
 * The relay's wallet: one party file, <dataDir>/wallet.sqlite (mode 0600), holding the
 * BIP84 wallet (its seed encrypted with the relay passphrase) and the relay's contract
 * book. It is created with a fresh random mnemonic on first start. Per-quote contract key i
 * is the wallet's m/1017'/coin'/1'/i' (m/1017'/coin'/0'/i' for quotes issued before quote
 * keys had their own account; each quote stores its account), channel key 2^30 + n is
 * m/1017'/coin'/0'/(2^30 + n)'; claims pay to the wallet's own receive addresses.
 *
 * The relay's databases (this file and relay.sqlite) are encrypted with the directory's data
 * key (src/store/data-key.ts), sealed by the same passphrase as the wallet seed.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ChainBackend } from '../chain/backend.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { createDataKey, hasDataKey, unlockDataKey } from '../store/data-key.ts';
import { Wallet } from '../wallet/index.ts';
import { parseTx } from '../wallet/tx-parse.ts';
import { ChannelBook, ContractBook, RelayContracts, isFinalStatus, openPartyDb } from '../watch/index.ts';
import type { ContractKeys } from './chain-ports.ts';
import type { RelayConfig } from './config.ts';
import { loadOrCreateSecret } from './daemon.ts';
import { RelayError } from './errors.ts';

export interface RelayWallet {
  /** The party file (wallet, contract book, channel book). */
  db: Db;
  wallet: Wallet;
  book: ContractBook;
  channelBook: ChannelBook;
  keys: ContractKeys;
  relayContracts(config: RelayConfig): RelayContracts;
  /** The recovery phrase of a wallet created by this open (first start), for its operator to write down; else undefined. */
  newRecoveryPhrase: string | undefined;
  close(): void;
}

/** What the relay has earned, by source, and what it paid in fees (sats). */
export interface RelayEarnings {
  contracts: {
    /** Claims confirmed: in the wallet. */
    claimed: number;
    /** Claims signed or in the mempool: in the wallet once they confirm. */
    claiming: number;
    /** Contracts whose claim is confirmed or under way. */
    count: number;
  };
  channels: {
    /** HTLCs whose k the relay released (settled, or revealed and not yet acknowledged: enforceable on chain) or claimed on chain. */
    earned: number;
    /** Of `earned`, what is still inside channels not closed yet (in the wallet after the close). */
    inOpenChannels: number;
    count: number;
  };
  fees: {
    /** Fees of the relay's claim transactions (contract amount less what the claim paid the wallet). */
    claims: number;
    /** Fees of transactions the wallet built itself (withdrawals). */
    wallet: number;
  };
}

/**
 * Reads the earnings from the relay's contract book and channel book (same party file) and
 * the wallet's own transactions; pure reads, safe while the relay runs.
 */
export function relayEarnings(rw: RelayWallet): RelayEarnings {
  const contracts = rw.db
    .prepare(`SELECT state, amount, claim_raw AS claimRaw FROM contracts WHERE role = 'relay' AND state IN ('claimed', 'claim-broadcast', 'claim-signed')`)
    .all() as { state: string; amount: number; claimRaw: Buffer | null }[];
  let claimed = 0;
  let claiming = 0;
  let claimFees = 0;
  for (const c of contracts) {
    if (c.state === 'claimed') claimed += c.amount;
    else claiming += c.amount;
    if (c.claimRaw) claimFees += c.amount - parseTx(new Uint8Array(c.claimRaw)).outputs.reduce((s, o) => s + o.value, 0);
  }
  let earned = 0;
  let inOpen = 0;
  let count = 0;
  for (const ch of rw.channelBook.list('relay')) {
    const htlcs = rw.channelBook.htlcs(ch.id).filter((h) => h.status === 'settled' || h.status === 'revealed' || h.status === 'claimed');
    const sats = htlcs.reduce((s, h) => s + h.amount, 0);
    if (sats === 0) continue;
    count++;
    earned += sats;
    if (!isFinalStatus(ch.status)) inOpen += sats;
  }
  const walletFees = rw.wallet.history().reduce((s, h) => s + (h.own && h.state !== 'abandoned' && h.state !== 'failed' && h.fee !== null ? h.fee : 0), 0);
  return {
    contracts: { claimed, claiming, count: contracts.length },
    channels: { earned, inOpenChannels: inOpen, count },
    fees: { claims: claimFees, wallet: walletFees },
  };
}

/** The wallet passphrase of a relay without a configured one: the random one kept next to the node key. */
export function relayWalletPassphrase(config: RelayConfig): string {
  return Buffer.from(loadOrCreateSecret(join(config.dataDir, 'wallet-passphrase'))).toString('hex');
}

/** The cheapest secretbox cost, for a data key sealed by the generated (random) passphrase. */
const GENERATED_PASSPHRASE_SCRYPT: ScryptParams = { log2N: 10, r: 8, p: 1 };

/** What unlocks the relay's directory: its passphrase and the data key sealed by it. */
export interface RelayUnlock {
  passphrase: string;
  key: Uint8Array;
}

/** The wallet passphrase: the configured one, else a random one kept next to the node key. */
function passphraseOf(config: RelayConfig, log: Logger): string {
  if (config.passphrase !== '') return config.passphrase;
  log.warn('no relay passphrase configured (SATPOST_RELAY_PASSPHRASE): the wallet seed is encrypted with <dataDir>/wallet-passphrase');
  return relayWalletPassphrase(config);
}

/**
 * The data key of the relay's directory, created on first start. A directory from before
 * encryption at rest has a wallet but no key: the passphrase is first proved on the wallet
 * seed, so that a wrong one cannot seal a new data key; its databases are then encrypted in
 * place as they are opened with the new key. Throws BAD_CONFIG (wrong passphrase, damaged key).
 */
export function openRelayDataKey(config: RelayConfig, o: { scrypt?: ScryptParams; log: Logger }): RelayUnlock {
  const passphrase = passphraseOf(config, o.log);
  try {
    if (hasDataKey(config.dataDir)) return { passphrase, key: unlockDataKey(config.dataDir, passphrase) };
    const walletPath = join(config.dataDir, 'wallet.sqlite');
    if (statSync(walletPath, { throwIfNoEntry: false })?.size) {
      const plain = openPartyDb(walletPath);
      try {
        Wallet.open({ db: plain, passphrase, network: config.network }).close();
      } finally {
        plain.close();
      }
    }
    // The generated passphrase is 256 random bits: stretching it guards nothing, and each unlock
    // of a default-cost seal costs about as much as the rest of a relay's start.
    const scrypt = o.scrypt ?? (config.passphrase === '' ? GENERATED_PASSPHRASE_SCRYPT : undefined);
    return { passphrase, key: createDataKey(config.dataDir, passphrase, scrypt ? { scrypt } : {}) };
  } catch (cause) {
    throw new RelayError('BAD_CONFIG', `cannot unlock the relay data directory ${config.dataDir}: ${(cause as Error).message}`, { cause });
  }
}

export function openRelayWallet(config: RelayConfig, o: { unlock: RelayUnlock; backend?: ChainBackend; scrypt?: ScryptParams }): RelayWallet {
  const path = join(config.dataDir, 'wallet.sqlite');
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const { passphrase, key } = o.unlock;
  const db: Db = openPartyDb(path, key);
  let wallet: Wallet;
  let created = false;
  try {
    const exists = (db.prepare('SELECT COUNT(*) AS n FROM wallet').get() as { n: number }).n > 0;
    const common = { db, passphrase, network: config.network, ...(o.backend ? { backend: o.backend } : {}) };
    wallet = exists ? Wallet.open(common) : Wallet.create({ ...common, ...(o.scrypt ? { scrypt: o.scrypt } : {}) });
    created = !exists;
  } catch (cause) {
    db.close();
    throw new RelayError('BAD_CONFIG', `cannot open the relay wallet ${path}: ${(cause as Error).message}`, { cause });
  }
  const book = new ContractBook(db);
  const channelBook = new ChannelBook(db);
  const keys: ContractKeys = { pubkey: (i, account) => wallet.contractKey(i, account).pubkey33 };
  let relay: RelayContracts | undefined;
  return {
    db, wallet, book, channelBook, keys,
    newRecoveryPhrase: created ? wallet.revealMnemonic(passphrase).mnemonic : undefined,
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
