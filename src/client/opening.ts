/**
 * Creating and opening a client's data directory: the databases, keys and config that a
 * Client is made of (Parts), under one passphrase or the secrets an unlock agent holds.
 * The Client (./client.ts) is built from what these return.
 */
import { randomBytes } from 'node:crypto';
import type { ChainBackend } from '../chain/backend.ts';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import { expected } from '../core/errors.ts';
import type { NetworkName } from '../core/network.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { StoreError } from '../store/sqlite.ts';
import { createDataKey, hasDataKey, unlockDataKey } from '../store/data-key.ts';
import { openIdentityDb } from '../identity/db.ts';
import { IdentityError } from '../identity/errors.ts';
import { createIdentity, identityFromPrivateKey, unlockIdentity, unsealIdentityKey, type UnlockedIdentity } from '../identity/identity.ts';
import { PrekeyManager } from '../identity/prekeys.ts';
import { Wallet, WalletError } from '../wallet/index.ts';
import { openPartyDb } from '../watch/index.ts';
import { generateMnemonic } from '../wallet/keys.ts';
import { Transport } from '../net/transport.ts';
import { assertSecureChainUrl, checkProxy, makeConfig, normalizeChainUrl, readConfig, type ClientConfig } from './config.ts';
import { DataDir } from './datadir.ts';
import { ClientError } from './errors.ts';
import { ClientStore } from './store.ts';
import { checkRecoveryPhrase } from './backup.ts';

export interface ClientInitOptions {
  /** The data directory; created 0700 if missing. */
  dir: string;
  /** Seals the identity key, the wallet seed and the data key that encrypts the databases. */
  passphrase: string;
  network: NetworkName;
  /** Esplora API root; default DEFAULT_CHAIN_URLS[network]. */
  chainUrl?: string;
  /** The user's relays; the first four become the hints in her address. */
  relays?: string[];
  /** Key-derivation cost of the passphrase; default the secretbox default. Tests pass lighter. */
  scrypt?: ScryptParams;
  /**
   * `socks5h://host:port` (e.g. Tor's 127.0.0.1:9050), saved in config.json: every relay and
   * chain connection goes through it, names resolved by the proxy, one SOCKS username per host.
   */
  proxy?: string;
  /** Chain access instead of an EsploraBackend on chainUrl (same network). */
  backend?: ChainBackend;
  /** Unix milliseconds; default Date.now. */
  now?: () => number;
  /** Test-only crash points (see MailContext.failpoint). */
  failpoint?: (name: string) => void;
  /** Restore the wallet from this recovery phrase instead of a new one (BAD_RECOVERY_PHRASE when it is not one). */
  mnemonic?: string;
}

/**
 * What the passphrase unseals in a data directory (three scrypt derivations): with these,
 * Client.open runs none. The CLI's unlock agent holds them (src/cli/agent.ts).
 */
export interface ClientSecrets {
  /** The data key every database is encrypted with (src/store/data-key.ts). */
  dataKey: Uint8Array;
  /** The identity private key, serialized (src/identity/identity.ts). */
  identityKey: Uint8Array;
  /** The wallet's seed record (mnemonic and BIP39 passphrase; src/wallet/wallet.ts). */
  walletSecret: Uint8Array;
}

export interface ClientOpenOptions {
  dir: string;
  /** Unseals the keys (scrypt). Either this or `secrets`. */
  passphrase?: string;
  /** The keys already unsealed (Client.unseal): no scrypt. */
  secrets?: ClientSecrets;
  /** When given, must be the network the directory was initialized for. */
  network?: NetworkName;
  /** Overrides the config's chain URL for this session (not saved). */
  chainUrl?: string;
  /** Overrides the config's proxy for this session (not saved); see ClientInitOptions.proxy. */
  proxy?: string;
  backend?: ChainBackend;
  now?: () => number;
  /** Test-only crash points (see MailContext.failpoint). */
  failpoint?: (name: string) => void;
  /** Time allowed per relay request, ms (default 15,000). */
  relayTimeoutMs?: number;
}

export interface Parts {
  dir: DataDir;
  config: ClientConfig;
  identityDb: Db;
  walletDb: Db;
  failpoint?: ((name: string) => void) | undefined;
  relayTimeoutMs?: number | undefined;
  identity: UnlockedIdentity;
  wallet: Wallet;
  store: ClientStore;
  backend: ChainBackend;
  /** Every relay (and, unless `backend` was given, chain) connection: direct or through the proxy. */
  transport: Transport;
  now: () => number;
}


/**
 * Creates identity, prekeys, wallet and address book in `dir` under one passphrase and
 * returns the open client with the wallet's recovery phrase (shown to the user once; it is
 * not returned again). Nothing is handed out before config.json is written last, so a crash
 * mid-init leaves an `INIT_INCOMPLETE` directory that the next init discards and redoes.
 * Throws ALREADY_INITIALIZED, BAD_DATA_DIR (satpost databases without a config: not
 * touched), EMPTY_PASSPHRASE, NETWORK_MISMATCH, BAD_CHAIN_URL, BAD_RELAY_URL.
 */
export async function initDirectory<C>(o: ClientInitOptions, make: (p: Parts) => C): Promise<{ client: C; mnemonic: string }> {
  checkPassphrase(o.passphrase);
  if (o.mnemonic !== undefined) o = { ...o, mnemonic: checkRecoveryPhrase(o.mnemonic) };
  const config = makeConfig({ network: o.network, chainUrl: o.chainUrl, relays: o.relays, ...(o.proxy !== undefined ? { proxy: o.proxy } : {}) });
  const transport = new Transport(config.proxy);
  const backend = o.backend ?? new EsploraBackend({ baseUrl: config.chainUrl, network: config.network, fetch: transport.fetch });
  checkBackend(backend, config.network);
  const now = o.now ?? Date.now;
  const dir = new DataDir(o.dir);
  dir.ensure();
  const state = dir.state();
  if (state === 'initialized') throw new ClientError('ALREADY_INITIALIZED', `${dir.path} already holds a satpost client`);
  if (state === 'damaged') throw damaged(dir);
  if (state === 'interrupted') dir.discardPartialInit();
  // A data key without databases may still be the only key to databases kept elsewhere: never replaced.
  if (hasDataKey(dir.path)) throw new ClientError('BAD_DATA_DIR', `${dir.path} holds a data-key but no client; move it away to start afresh`);
  dir.beginInit();
  let identityDb: Db | undefined;
  let walletDb: Db | undefined;
  let wallet: Wallet | undefined;
  let store: ClientStore | undefined;
  try {
    const key = createDataKey(dir.path, o.passphrase, o.scrypt ? { scrypt: o.scrypt } : {});
    identityDb = openIdentityDb(dir.createPrivateFile('identity'), { key });
    const identity = createIdentity(identityDb, o.passphrase, { ...(o.scrypt ? { scrypt: o.scrypt } : {}), now: now() });
    new PrekeyManager(identityDb, identity).initialize(now());
    const mnemonic = o.mnemonic ?? generateMnemonic((n) => new Uint8Array(randomBytes(n)));
    walletDb = openPartyDb(dir.createPrivateFile('wallet'), key);
    wallet = Wallet.create({
      db: walletDb,
      passphrase: o.passphrase,
      network: config.network,
      backend,
      mnemonic,
      ...(o.mnemonic !== undefined ? { restored: true } : {}),
      now,
      ...(o.scrypt ? { scrypt: o.scrypt } : {}),
    });
    store = ClientStore.open(dir.createPrivateFile('client'), key);
    dir.writeConfig(config);
    const client = make({ dir, config, identityDb, walletDb, identity, wallet, store, backend, transport, now, failpoint: o.failpoint });
    dir.finishInit();
    return { client, mnemonic };
  } catch (err) {
    store?.close();
    wallet?.close();
    if (walletDb?.open) walletDb.close();
    if (identityDb?.open) identityDb.close();
    dir.discardPartialInit();
    dir.removeConfig();
    dir.finishInit();
    throw err;
  }
}

/**
 * Opens an initialized data directory. Throws NOT_INITIALIZED (nothing there),
 * INIT_INCOMPLETE (an init was interrupted: run init again), BAD_DATA_DIR, BAD_CONFIG,
 * WRONG_PASSPHRASE, NETWORK_MISMATCH (`network` differs from the directory's).
 */
export function openDirectory<C>(o: ClientOpenOptions, make: (p: Parts) => C): C {
  const { dir, config } = checkedDir(o);
  const chainUrl = o.chainUrl !== undefined ? normalizeChainUrl(o.chainUrl) : config.chainUrl;
  const proxy = o.proxy !== undefined ? checkProxy(o.proxy) : config.proxy;
  assertSecureChainUrl(chainUrl, config.network, proxy !== undefined);
  const transport = new Transport(proxy);
  const backend = o.backend ?? new EsploraBackend({ baseUrl: chainUrl, network: config.network, fetch: transport.fetch });
  checkBackend(backend, config.network);
  const now = o.now ?? Date.now;
  const s = o.secrets;
  const passphrase = s === undefined ? needPassphrase(o.passphrase) : '';
  const key = s !== undefined ? s.dataKey : unlockWith(() => openDataKey(dir, passphrase), dir);
  const identityDb = openIdentityDb(dir.file('identity'), { key });
  let walletDb: Db | undefined;
  let wallet: Wallet | undefined;
  try {
    const identity = s !== undefined ? identityFromPrivateKey(identityDb, s.identityKey) : unlockWith(() => unlockIdentity(identityDb, passphrase), dir);
    walletDb = openPartyDb(dir.file('wallet'), key);
    const wdb = walletDb;
    // The agent's secrets were checked when it unlocked: the wallet keys are derived when first used.
    const unseal = s !== undefined ? { secret: s.walletSecret, deferKeys: true } : { passphrase };
    wallet = unlockWith(() => Wallet.open({ db: wdb, ...unseal, network: config.network, backend, now }), dir);
    const store = ClientStore.open(dir.file('client'), key);
    return make({
      dir, config: { ...config, chainUrl, ...(proxy !== undefined ? { proxy } : {}) }, identityDb, walletDb, identity, wallet, store, backend, transport, now, failpoint: o.failpoint, relayTimeoutMs: o.relayTimeoutMs,
    });
  } catch (err) {
    wallet?.close();
    if (walletDb?.open) walletDb.close();
    identityDb.close();
    throw err;
  }
}

/**
 * What the passphrase unseals in the directory (data key, identity private key, wallet seed:
 * three scrypt derivations), checked by opening the client with them. For an unlock agent to
 * hold, so that its commands open with `secrets` and derive nothing. Throws as open does.
 */
export async function unsealDirectory(o: ClientOpenOptions & { passphrase: string }, check: (secrets: ClientSecrets) => Promise<void>): Promise<ClientSecrets> {
  const { dir } = checkedDir(o);
  const dataKey = unlockWith(() => openDataKey(dir, o.passphrase), dir);
  const identityDb = openIdentityDb(dir.file('identity'), { key: dataKey });
  let identityKey: Uint8Array;
  try {
    identityKey = unlockWith(() => unsealIdentityKey(identityDb, o.passphrase), dir);
  } finally {
    identityDb.close();
  }
  const walletDb = openPartyDb(dir.file('wallet'), dataKey);
  let walletSecret: Uint8Array;
  try {
    walletSecret = unlockWith(() => Wallet.unsealSecret(walletDb, o.passphrase), dir);
  } finally {
    walletDb.close();
  }
  const secrets = { dataKey, identityKey, walletSecret };
  await check(secrets);
  return secrets;
}

/** The directory of `o.dir`, initialized and complete, with its config (on `o.network` when given). */
function checkedDir(o: { dir: string; network?: NetworkName | undefined }): { dir: DataDir; config: ClientConfig } {
  const dir = new DataDir(o.dir);
  if (dir.isRelayDir()) throw new ClientError('RELAY_DATA_DIR', `${dir.path} is a relay's data directory, not a client's`);
  const state = dir.state();
  if (state === 'empty') throw new ClientError('NOT_INITIALIZED', `no satpost client in ${dir.path}`);
  if (state === 'interrupted') {
    throw new ClientError('INIT_INCOMPLETE', `an init of ${dir.path} was interrupted before it finished; init again to start over (nothing from it was used)`);
  }
  if (state === 'damaged') throw damaged(dir);
  const config = readConfig(dir);
  if (o.network !== undefined && o.network !== config.network) {
    throw new ClientError('NETWORK_MISMATCH', expected('network', `${config.network} (the network of ${dir.path})`, o.network));
  }
  const missing = dir.missingDatabases();
  if (missing.length > 0) {
    throw new ClientError('BAD_DATA_DIR', `${dir.path} has config.json but lacks ${missing.join(', ')}; restore them from a backup`);
  }
  return { dir, config };
}

function needPassphrase(passphrase: string | undefined): string {
  if (passphrase === undefined) throw new ClientError('EMPTY_PASSPHRASE', 'opening a client needs its passphrase or its unsealed secrets');
  return passphrase;
}

function checkPassphrase(passphrase: unknown): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new ClientError('EMPTY_PASSPHRASE', expected('passphrase', 'a non-empty string', typeof passphrase === 'string' ? '""' : typeof passphrase));
  }
}

function checkBackend(backend: ChainBackend, network: NetworkName): void {
  if (backend.network !== network) throw new ClientError('NETWORK_MISMATCH', expected('chain backend network', network, backend.network));
}

function damaged(dir: DataDir): ClientError {
  return new ClientError(
    'BAD_DATA_DIR',
    `${dir.path} holds ${dir.presentDatabases().join(', ')} but no config.json; restore config.json from a backup, or move those files away to start afresh`,
  );
}

/**
 * The directory's data key (src/store/data-key.ts). A directory from before encryption at rest
 * has none: the passphrase is first proved on the identity key, so that a mistyped one cannot
 * seal a new data key and lock the user out; its databases are then encrypted in place as
 * they are opened with the new key.
 */
function openDataKey(dir: DataDir, passphrase: string): Uint8Array {
  if (hasDataKey(dir.path)) return unlockDataKey(dir.path, passphrase);
  const plain = openIdentityDb(dir.file('identity'));
  try {
    unlockIdentity(plain, passphrase);
  } finally {
    plain.close();
  }
  return createDataKey(dir.path, passphrase);
}

/** Runs an unlock and reports a wrong passphrase in the client's terms. */
export function unlockWith<T>(unlock: () => T, dir: DataDir): T {
  try {
    return unlock();
  } catch (e) {
    if (IdentityError.is(e, 'WRONG_PASSPHRASE') || WalletError.is(e, 'WRONG_PASSPHRASE') || StoreError.is(e, 'WRONG_PASSPHRASE')) {
      throw new ClientError('WRONG_PASSPHRASE', `wrong passphrase for ${dir.path}`, { cause: e });
    }
    throw e;
  }
}
