/**
 * The satpost wallet: a BIP39/BIP84 native-segwit wallet over any ChainBackend, with its
 * state in one SQLite file and its seed encrypted at rest (docs/wallet.md).
 *
 *   const w = Wallet.create({ db: 'wallet.db', passphrase, network: 'regtest', backend });
 *   await w.sync();
 *   const tx = await w.createTransaction({ outputs: [{ script, amount }] }); // persisted, not broadcast
 *   await w.broadcast(tx.txid);
 *
 * Money state is persisted before anything leaves the process: createTransaction stores
 * the signed transaction as 'pending' and reserves its inputs in the same SQLite commit.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import type { ChainBackend } from '../chain/backend.ts';
import { ChainError } from '../chain/backend.ts';
import { expected } from '../core/errors.ts';
import { NETWORKS, isNetworkName, type BtcNetwork, type NetworkName } from '../core/network.ts';
import { DEFAULT_SCRYPT, SecretBoxError, openSecret, sealSecret, type ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { addressToScript } from './address.ts';
import { outpointKey, selectCoins, checkPayments, type Coin } from './coin-select.ts';
import { WalletError } from './errors.ts';
import { DEFAULT_CONF_TARGET, DEFAULT_MAX_FEE_RATE, checkFeeRate, feeRateFromEstimates } from './fees.ts';
import { CHANGE, RECEIVE, WalletKeys, checkMnemonic, generateMnemonic, type KeyPair } from './keys.ts';
import { ensureAddress, recordOwnTx } from './ledger.ts';
import { buildSignedTx } from './spend.ts';
import { parseTx } from './tx-parse.ts';
import { Address, OutScript } from '@scure/btc-signer';
import { WalletStore, openWalletDb, type LockRow, type TxState, type UtxoRow } from './store.ts';
import { syncWallet, type SyncOptions, type SyncReport } from './sync.ts';

export const DEFAULT_GAP_LIMIT = 20;
export const COINBASE_MATURITY = 100;

export interface WalletOpenOptions {
  /** A file path (opened and migrated here, closed by close()) or an open handle (migrated, left open). */
  db: string | Db;
  /** Unlocks the encrypted seed (one scrypt). Either this or `secret`. */
  passphrase?: string;
  /** The seed already unsealed (as Wallet.unsealSecret returns it, e.g. held by an unlock agent): no scrypt. */
  secret?: Uint8Array;
  /**
   * Derive the keys (BIP32: a few secp256k1 multiplications, 100 ms and more in JavaScript) when
   * first used rather than now, and check them against the stored account key then (CORRUPT_WALLET
   * from that first use). For a `secret` already checked, as an unlock agent's is: a command that
   * never touches the wallet (inbox, contact list) then derives nothing.
   */
  deferKeys?: boolean;
  /** When given, must match the stored wallet's network. */
  network?: NetworkName;
  backend?: ChainBackend;
  /** Unix milliseconds; default Date.now. */
  now?: () => number;
  /** Sanity cap in sat/vB (default 1000): higher fee rates are refused with FEE_RATE_TOO_HIGH. */
  maxFeeRate?: number;
  /** Confirmation target in blocks for backend fee estimates (default 6). */
  confTarget?: number;
}

export interface WalletCreateOptions extends WalletOpenOptions {
  passphrase: string;
  network: NetworkName;
  /** Restore from this mnemonic; otherwise a new one is generated. */
  mnemonic?: string;
  /** Optional BIP39 passphrase ("25th word"); part of the seed, stored encrypted. */
  bip39Passphrase?: string;
  /** Length of a generated mnemonic (default 12). */
  words?: 12 | 24;
  /** Addresses scanned past the last used one (default 20). */
  gapLimit?: number;
  /** Key-derivation cost for the passphrase (default DEFAULT_SCRYPT; tests pass lighter). */
  scrypt?: ScryptParams;
  randomBytes?: (n: number) => Uint8Array;
  /**
   * The mnemonic is an existing wallet's (a restore): its contract keys start at a random index
   * in [2^24, 2^30) instead of 0, so that keys the lost directory gave relays (refund and
   * channel keys, counted from 0) are not given again, which would let a relay tie the restored
   * user to the messages and channels of the old one.
   */
  restored?: boolean;
}

/** Where a restored wallet's contract keys start: far above what any directory used, below MAX_INDEX. */
const RESTORED_KEYS_FROM = 2 ** 24;
const RESTORED_KEYS_SPAN = 2 ** 30 - 2 ** 24;

export interface Balance {
  /** Confirmed, mature, not reserved: spendable now. */
  confirmed: number;
  /** In the mempool, not reserved (incoming payments and our own change). */
  unconfirmed: number;
  /** Coinbase outputs younger than 100 blocks. */
  immature: number;
  /** Wallet coins set aside by pending transactions or by lockUtxo. */
  reserved: number;
  /** Outputs of contracts registered by the contract layer and not yet released. */
  lockedInContracts: number;
}

export interface HistoryEntry {
  txid: string;
  state: TxState;
  own: boolean;
  height: number | null;
  blockTime: number | null;
  received: number;
  sent: number;
  /** received - sent: what the transaction changed in the wallet's balance. */
  net: number;
  fee: number | null;
}

export interface TxOutputRequest {
  script: Uint8Array;
  amount: number;
  /** When set, the output is registered as locked in a contract under this label. */
  contractLabel?: string;
}

export interface CreateTransactionRequest {
  outputs: TxOutputRequest[];
  /** sat/vB override; else the backend's estimate for confTarget. */
  feeRate?: number;
  confTarget?: number;
}

export interface CreatedTransaction {
  txid: string;
  raw: Uint8Array;
  psbt: Uint8Array;
  fee: number;
  vsize: number;
  feeRate: number;
  inputs: { txid: string; vout: number; value: number }[];
  /** The requested outputs in order (vout = position), then change if any. */
  outputs: { vout: number; script: Uint8Array; amount: number }[];
  changeVout: number | null;
}

interface Secret {
  v: 1;
  mnemonic: string;
  bip39Passphrase: string;
}

export class Wallet {
  readonly network: BtcNetwork;
  private closed = false;
  /** Syncs run one at a time; `broadcasts` tells a running sync that its view went stale. */
  private syncQueue: Promise<unknown> = Promise.resolve();
  private broadcasts = 0;
  /** The tip the last completed sync saw, and when: lets syncIfStale skip a needless scan. */
  private lastSync: { tipHash: string; at: number } | undefined;

  private constructor(
    private readonly openStore: WalletStore,
    private readonly keys: WalletKeys,
    private readonly ownsDb: boolean,
    private readonly gapLimit: number,
    private readonly backend: ChainBackend | undefined,
    private readonly now: () => number,
    private readonly maxFeeRate: number,
    private readonly confTarget: number,
  ) {
    this.network = keys.network;
  }

  static create(o: WalletCreateOptions): Wallet {
    if (!isNetworkName(o.network)) throw new WalletError('NETWORK_MISMATCH', expected('network', 'a known network', o.network));
    const network = NETWORKS[o.network];
    checkBackend(o.backend, network);
    const gapLimit = o.gapLimit ?? DEFAULT_GAP_LIMIT;
    if (!Number.isInteger(gapLimit) || gapLimit < 1 || gapLimit > 10_000) {
      throw new WalletError('BAD_INDEX', expected('gapLimit', 'an integer in 1..10000', gapLimit));
    }
    const rnd = o.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
    const mnemonic = o.mnemonic !== undefined ? checkMnemonic(o.mnemonic) : generateMnemonic(rnd, o.words ?? 12);
    const bip39Passphrase = o.bip39Passphrase ?? '';
    const keys = new WalletKeys(mnemonic, bip39Passphrase, network);
    const { db, owned } = openWalletDb(o.db);
    const store = new WalletStore(db);
    try {
      if (store.getWallet()) throw new WalletError('WALLET_EXISTS', 'this database already holds a wallet; open it instead');
      const secret: Secret = { v: 1, mnemonic, bip39Passphrase };
      const sealed = sealSecret(new TextEncoder().encode(JSON.stringify(secret)), o.passphrase, rnd, o.scrypt ?? DEFAULT_SCRYPT);
      const now = o.now ?? Date.now;
      store.insertWallet({ network: network.name, sealedSecret: sealed, accountXpub: keys.accountXpub, gapLimit, createdAt: now() });
      if (o.restored === true) {
        const r = rnd(4);
        store.setCounter('contract', RESTORED_KEYS_FROM + (new DataView(r.buffer, r.byteOffset, 4).getUint32(0) % RESTORED_KEYS_SPAN));
      }
      return new Wallet(store, keys, owned, gapLimit, o.backend, now, o.maxFeeRate ?? DEFAULT_MAX_FEE_RATE, o.confTarget ?? DEFAULT_CONF_TARGET);
    } catch (err) {
      keys.wipe();
      if (owned) db.close();
      throw err;
    }
  }

  static open(o: WalletOpenOptions): Wallet {
    const { db, owned } = openWalletDb(o.db);
    try {
      const store = new WalletStore(db);
      const row = store.getWallet();
      if (!row) throw new WalletError('NO_WALLET', 'this database holds no wallet; create one first');
      if (!isNetworkName(row.network)) throw new WalletError('CORRUPT_WALLET', expected('stored network', 'a known network', row.network));
      if (o.network !== undefined && o.network !== row.network) {
        throw new WalletError('NETWORK_MISMATCH', expected('network', `the wallet's network ${row.network}`, o.network));
      }
      const network = NETWORKS[row.network];
      checkBackend(o.backend, network);
      const secret = o.secret !== undefined ? parseSecret(o.secret) : unseal(row.sealedSecret, needPassphrase(o.passphrase));
      const keys = new WalletKeys(secret.mnemonic, secret.bip39Passphrase, network, { accountXpub: row.accountXpub });
      // Derives and checks them against the stored account key (CORRUPT_WALLET) now, or at first use.
      if (o.deferKeys !== true) keys.derive();
      return new Wallet(store, keys, owned, row.gapLimit, o.backend, o.now ?? Date.now, o.maxFeeRate ?? DEFAULT_MAX_FEE_RATE, o.confTarget ?? DEFAULT_CONF_TARGET);
    } catch (err) {
      if (owned) db.close();
      throw err;
    }
  }

  /**
   * The wallet's seed record unsealed with the passphrase (one scrypt), for Wallet.open's
   * `secret`: what an unlock agent holds instead of the passphrase. Throws WRONG_PASSPHRASE,
   * CORRUPT_WALLET, NO_WALLET.
   */
  static unsealSecret(db: Db, passphrase: string): Uint8Array {
    const row = new WalletStore(db).getWallet();
    if (!row) throw new WalletError('NO_WALLET', 'this database holds no wallet; create one first');
    const plain = openSealed(row.sealedSecret, passphrase);
    parseSecret(plain);
    return plain;
  }

  /** Account extended public key: zpub on mainnet, vpub on test networks. */
  get accountXpub(): string {
    return this.keys.accountXpub;
  }

  /** The mnemonic and BIP39 passphrase, for a backup. Asks for the wallet passphrase again. */
  revealMnemonic(passphrase: string): { mnemonic: string; bip39Passphrase: string } {
    const row = this.store.getWallet()!;
    const s = unseal(row.sealedSecret, passphrase);
    return { mnemonic: s.mnemonic, bip39Passphrase: s.bip39Passphrase };
  }

  /** Hands out the next receive address (never the same twice). */
  newReceiveAddress(): { address: string; script: Uint8Array; index: number } {
    return this.store.tx(() => {
      const index = this.store.takeCounter('receive');
      const a = ensureAddress(this.store, this.keys, RECEIVE, index);
      return { address: a.address, script: a.script, index };
    });
  }

  /** The receive address at an index, without handing it out. */
  receiveAddress(index: number): { address: string; script: Uint8Array } {
    return this.keys.address(RECEIVE, index);
  }

  /** Key for contract scripts, on its own hardened branch m/1017'/coin'/account'/index' (account 0 unless given). */
  contractKey(index: number, account?: number): KeyPair {
    return this.keys.contractKey(index, account);
  }

  /** Reserves and returns a fresh contract key index (persisted; never returned twice). */
  nextContractKeyIndex(): number {
    return this.store.takeCounter('contract');
  }

  async sync(opts: SyncOptions = {}): Promise<SyncReport> {
    const backend = this.need();
    const ctx = { store: this.store, keys: this.keys, backend, gapLimit: this.gapLimit, now: this.now };
    const run = this.syncQueue.then(() => syncWallet({ ...ctx, localEpoch: () => this.broadcasts }, opts));
    this.syncQueue = run.catch(() => undefined);
    const report = await run;
    this.lastSync = { tipHash: report.tip.hash, at: this.now() };
    return report;
  }

  /**
   * Syncs unless the last sync saw the current tip less than `maxAgeMs` ago (default 10 s):
   * the wallet applies its own broadcasts at once, so until a block comes only unconfirmed
   * payments from others can be missing, and those are not spendable before they confirm.
   * A caller that wants them shown (a balance) runs sync(). Returns undefined when the scan
   * was skipped.
   */
  async syncIfStale(opts: SyncOptions & { maxAgeMs?: number } = {}): Promise<SyncReport | undefined> {
    await this.syncQueue; // a sync in flight may be the one that makes the view fresh
    const last = this.lastSync;
    if (last !== undefined && this.now() - last.at < (opts.maxAgeMs ?? 10_000)) {
      const tip = await this.need().getTip(opts.signal);
      if (tip.hash === last.tipHash) return undefined;
    }
    return this.sync(opts);
  }

  balance(): Balance {
    const reserved = this.lockedSet('reserved');
    const height = this.store.counter('synced_height');
    const b: Balance = { confirmed: 0, unconfirmed: 0, immature: 0, reserved: 0, lockedInContracts: 0 };
    for (const u of this.store.utxos()) {
      if (reserved.has(outpointKey(u))) b.reserved += u.value;
      else if (u.height === null) b.unconfirmed += u.value;
      else if (u.coinbase && !mature(u, height)) b.immature += u.value;
      else b.confirmed += u.value;
    }
    for (const l of this.store.locks('contract')) b.lockedInContracts += l.amount;
    return b;
  }

  history(): HistoryEntry[] {
    return this.store.txs().map((t) => ({
      txid: t.txid,
      state: t.state,
      own: t.own,
      height: t.height,
      blockTime: t.blockTime,
      received: t.received,
      sent: t.sent,
      net: t.received - t.sent,
      fee: t.fee,
    }));
  }

  /**
   * The outputs of a stored transaction that pay scripts the wallet never derived (what a send
   * paid, to whom), each with its address when the script has one; [] when the raw transaction
   * is not stored.
   */
  payees(txid: string): { address?: string; amount: number }[] {
    const raw = this.store.getTx(txid)?.raw;
    if (!raw) return [];
    return parseTx(raw)
      .outputs.filter((o) => !this.store.addressByScript(o.script))
      .map((o) => {
        let address: string | undefined;
        try {
          address = Address(this.network).encode(OutScript.decode(o.script));
        } catch {
          // OP_RETURN or a script without an address form
        }
        return { ...(address !== undefined ? { address } : {}), amount: o.value };
      });
  }

  /** One transaction of the history (e.g. a funding, for its fee), if the wallet knows it. */
  transaction(txid: string): HistoryEntry | undefined {
    return this.history().find((h) => h.txid === txid);
  }

  utxos(): UtxoRow[] {
    return this.store.utxos();
  }

  locks(): LockRow[] {
    return this.store.locks();
  }

  /** Keeps a wallet coin out of coin selection until unlockUtxo. */
  lockUtxo(txid: string, vout: number, label: string): void {
    const u = this.store.utxos().find((x) => x.txid === txid && x.vout === vout);
    if (!u) throw new WalletError('UNKNOWN_OUTPOINT', expected('outpoint', 'an unspent wallet output', `${txid}:${vout}`));
    this.store.insertLock({ txid, vout, kind: 'reserved', amount: u.value, ref: label, createdAt: this.now() });
  }

  unlockUtxo(txid: string, vout: number): boolean {
    const l = this.store.locks('reserved').find((x) => x.txid === txid && x.vout === vout);
    return l ? this.store.deleteLock(txid, vout) : false;
  }

  /** Counts a contract output in lockedInContracts (for contracts funded outside createTransaction). */
  lockContractOutput(c: { txid: string; vout: number; amount: number; label: string }): void {
    if (!/^[0-9a-f]{64}$/.test(c.txid)) throw new WalletError('UNKNOWN_OUTPOINT', expected('txid', '64 lowercase hex digits', c.txid));
    if (!Number.isSafeInteger(c.amount) || c.amount <= 0) throw new WalletError('BAD_AMOUNT', expected('amount', 'a positive integer of sats', c.amount));
    this.store.insertLock({ txid: c.txid, vout: c.vout, kind: 'contract', amount: c.amount, ref: c.label, createdAt: this.now() });
  }

  /** Ends a contract lock once the contract is claimed or refunded. */
  releaseContractOutput(txid: string, vout: number): boolean {
    const l = this.store.locks('contract').find((x) => x.txid === txid && x.vout === vout);
    return l ? this.store.deleteLock(txid, vout) : false;
  }

  /**
   * Selects coins, signs, and persists the transaction as 'pending' with its inputs
   * reserved, in one commit. Nothing is broadcast: call broadcast(txid) (or broadcast the
   * raw bytes yourself; the next sync sees it).
   */
  async createTransaction(req: CreateTransactionRequest): Promise<CreatedTransaction> {
    this.assertOpen();
    checkPayments(req.outputs);
    let feeRate: number;
    if (req.feeRate !== undefined) feeRate = req.feeRate;
    else feeRate = feeRateFromEstimates(await this.need().getFeeEstimates(), req.confTarget ?? this.confTarget);
    checkFeeRate(feeRate, this.maxFeeRate);

    const height = this.store.counter('synced_height');
    const locked = new Set([...this.store.locks()].map(outpointKey));
    const utxos = this.store.utxos();
    const spendable = utxos.filter((u) => this.spendable(u, height));
    const selection = selectCoins({ coins: spendable, locked, outputs: req.outputs, feeRate });
    const byKey = new Map(utxos.map((u) => [outpointKey(u), u]));

    return this.store.tx(() => {
      const outputs = req.outputs.map((o, vout) => ({ vout, script: o.script, amount: o.amount }));
      let changeVout: number | null = null;
      if (selection.change > 0) {
        const index = this.store.takeCounter('change');
        const change = ensureAddress(this.store, this.keys, CHANGE, index);
        changeVout = outputs.length;
        outputs.push({ vout: changeVout, script: change.script, amount: selection.change });
      }
      const inputs = selection.inputs.map((c: Coin) => {
        const u = byKey.get(outpointKey(c))!;
        const addr = this.store.addressByScript(u.script);
        if (!addr) throw new WalletError('CORRUPT_WALLET', `coin ${outpointKey(c)} pays a script the wallet never derived`);
        return { txid: u.txid, vout: u.vout, value: u.value, script: u.script, key: this.keys.walletKey(addr.chain, addr.index) };
      });
      const signed = buildSignedTx({ inputs, outputs, lockTime: height, masterFingerprint: this.keys.masterFingerprint });
      if (signed.fee !== selection.fee || signed.vsize > selection.vsize) {
        throw new WalletError('CORRUPT_WALLET', `signed transaction differs from its selection (fee ${signed.fee} vs ${selection.fee})`);
      }
      const now = this.now();
      recordOwnTx(this.store, signed.raw, 'pending', now);
      for (const i of inputs) {
        this.store.insertLock({ txid: i.txid, vout: i.vout, kind: 'reserved', amount: i.value, ref: signed.txid, createdAt: now });
      }
      req.outputs.forEach((o, vout) => {
        if (o.contractLabel !== undefined) {
          this.store.insertLock({ txid: signed.txid, vout, kind: 'contract', amount: o.amount, ref: o.contractLabel, createdAt: now });
        }
      });
      return {
        txid: signed.txid,
        raw: signed.raw,
        psbt: signed.psbt,
        fee: signed.fee,
        vsize: signed.vsize,
        feeRate,
        inputs: inputs.map((i) => ({ txid: i.txid, vout: i.vout, value: i.value })),
        outputs,
        changeVout,
      };
    });
  }

  /**
   * Broadcasts a stored transaction. A refusal by the chain marks it 'failed' and frees
   * its coins; an unreachable backend leaves it 'pending' (and its coins reserved) so it
   * can be retried.
   */
  async broadcast(txid: string): Promise<string> {
    this.assertOpen();
    const row = this.store.getTx(txid);
    if (!row?.raw || !row.own) throw new WalletError('UNKNOWN_TX', expected('txid', 'a transaction this wallet built', txid));
    try {
      await this.need().broadcast(row.raw);
    } catch (err) {
      const already = ChainError.is(err, 'DUPLICATE_TX');
      if (!already) {
        const refused = ChainError.is(err) && !ChainError.is(err, 'BACKEND_UNAVAILABLE');
        if (refused) this.release(txid, 'failed');
        const code = ChainError.is(err) ? err.code : 'unknown';
        throw new WalletError('BROADCAST_FAILED', `broadcast of ${txid} failed (${code}): ${(err as Error).message}`, { cause: err });
      }
    }
    recordOwnTx(this.store, row.raw, 'mempool', this.now());
    this.broadcasts++;
    return txid;
  }

  /** Pays `sats` to `address`: builds, persists as pending, broadcasts. */
  async send(address: string, sats: number, opts: { feeRate?: number; confTarget?: number } = {}): Promise<CreatedTransaction> {
    const script = addressToScript(address, this.network);
    const created = await this.createTransaction({ outputs: [{ script, amount: sats }], ...opts });
    await this.broadcast(created.txid);
    return created;
  }

  /** Transactions built but not yet seen by the chain (to rebroadcast after a restart). */
  pendingTransactions(): { txid: string; raw: Uint8Array }[] {
    return this.store
      .txs()
      .filter((t) => t.own && t.state === 'pending' && t.raw)
      .map((t) => ({ txid: t.txid, raw: t.raw! }));
  }

  /** Gives up a transaction the chain never accepted: its coins become spendable again. */
  abandonTransaction(txid: string): void {
    const row = this.store.getTx(txid);
    if (!row?.own) throw new WalletError('UNKNOWN_TX', expected('txid', 'a transaction this wallet built', txid));
    if (row.state === 'mempool' || row.state === 'confirmed') {
      throw new WalletError('UNKNOWN_TX', `transaction ${txid} is ${row.state}; only pending, failed or dropped ones can be abandoned`);
    }
    this.release(txid, 'abandoned');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keys.wipe();
    if (this.ownsDb) this.openStore.db.close();
  }

  private release(txid: string, state: TxState): void {
    this.store.tx(() => {
      this.store.setTxState(txid, state);
      this.store.deleteLocksByRef('reserved', txid);
      for (const l of this.store.locks('contract')) if (l.txid === txid) this.store.deleteLock(l.txid, l.vout);
    });
  }

  /** Confirmed mature coins, and unconfirmed change of our own transactions. */
  private spendable(u: UtxoRow, height: number): boolean {
    if (u.height === null) return this.store.getTx(u.txid)?.own === true;
    return !u.coinbase || mature(u, height);
  }

  private lockedSet(kind: 'reserved' | 'contract'): Set<string> {
    return new Set(this.store.locks(kind).map(outpointKey));
  }

  /** Every use of the database goes through here, so a closed wallet fails with WALLET_CLOSED. */
  private get store(): WalletStore {
    this.assertOpen();
    return this.openStore;
  }

  private need(): ChainBackend {
    this.assertOpen();
    if (!this.backend) throw new WalletError('NO_BACKEND', 'this wallet was opened without a chain backend');
    return this.backend;
  }

  private assertOpen(): void {
    if (this.closed) throw new WalletError('WALLET_CLOSED', 'the wallet is closed');
  }
}

function mature(u: UtxoRow, height: number): boolean {
  return u.height !== null && height - u.height + 1 >= COINBASE_MATURITY;
}

function checkBackend(backend: ChainBackend | undefined, network: BtcNetwork): void {
  if (backend && backend.network !== network.name) {
    throw new WalletError('NETWORK_MISMATCH', expected('backend network', network.name, backend.network));
  }
}

function unseal(sealed: Uint8Array, passphrase: string): Secret {
  return parseSecret(openSealed(sealed, passphrase));
}

function openSealed(sealed: Uint8Array, passphrase: string): Uint8Array {
  try {
    return openSecret(sealed, passphrase);
  } catch (err) {
    if (SecretBoxError.is(err, 'WRONG_PASSPHRASE')) throw new WalletError('WRONG_PASSPHRASE', 'wrong wallet passphrase', { cause: err });
    throw new WalletError('CORRUPT_WALLET', 'the encrypted seed is malformed', { cause: err });
  }
}

function parseSecret(plain: Uint8Array): Secret {
  let s: Secret;
  try {
    s = JSON.parse(new TextDecoder().decode(plain)) as Secret;
  } catch (cause) {
    throw new WalletError('CORRUPT_WALLET', 'the decrypted seed is not a seed record', { cause });
  }
  if (s === null || typeof s !== 'object' || s.v !== 1 || typeof s.mnemonic !== 'string' || typeof s.bip39Passphrase !== 'string') {
    throw new WalletError('CORRUPT_WALLET', 'the decrypted seed has an unknown format');
  }
  return s;
}

function needPassphrase(passphrase: string | undefined): string {
  if (passphrase === undefined) throw new WalletError('NO_PASSPHRASE', 'opening the wallet needs its passphrase or its unsealed seed');
  return passphrase;
}
