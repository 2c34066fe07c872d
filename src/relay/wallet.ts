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
    /** HTLCs settled (or claimed on chain) in the relay's favour, over all channels. */
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
    const htlcs = rw.channelBook.htlcs(ch.id).filter((h) => h.status === 'settled' || h.status === 'claimed');
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

/** The wallet passphrase: the configured one, else a random one kept next to the node key. */
function passphraseOf(config: RelayConfig, log: Logger): string {
  if (config.passphrase !== '') return config.passphrase;
  log.warn('no relay passphrase configured (SATPOST_RELAY_PASSPHRASE): the wallet seed is encrypted with <dataDir>/wallet-passphrase');
  return relayWalletPassphrase(config);
}

export function openRelayWallet(config: RelayConfig, o: { backend?: ChainBackend; scrypt?: ScryptParams; log: Logger }): RelayWallet {
  const path = join(config.dataDir, 'wallet.sqlite');
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const passphrase = passphraseOf(config, o.log);
  const db: Db = openPartyDb(path);
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
