/**
 * The satpost client SDK: one user's identity, wallet and address book over one data
 * directory (./datadir.ts), unlocked by one passphrase.
 *
 *   const { client, mnemonic } = await Client.init({ dir, passphrase, network: 'regtest', chainUrl, relays });
 *   await client.addContact('carol', 'satpost1...');
 *   const balance = await client.balance();
 *   client.close();
 *
 * Messaging over relays: publish() puts the prekeys at the user's relays, send() quotes,
 * seals, deposits and (sender-pays) funds, inbox() finds and checks new messages by tag, read() pays
 * or hands over r and decrypts, watch() follows the user's tags live, resume() carries on what a
 * restart interrupted. wallet.sqlite holds the wallet, the contract book and the channel book
 * side by side; a ContractWatcher and a ChannelWatcher drive them while a messaging call is
 * running or watch() is open.
 *
 * Payment channels (./channels.ts): openChannel() funds one with a relay, send() (sender-pays)
 * and read() (recipient-pays) pay through an open one with the message's relay when it can
 * carry the HTLC, else on chain; syncChannels() takes the relay's settles (and fails back
 * expired HTLCs); closeChannel() closes cooperatively.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { ProtocolAddress, PublicKey } from '@signalapp/libsignal-client';
import type { ChainBackend } from '../chain/backend.ts';
import { EsploraBackend } from '../chain/esplora/backend.ts';
import { expected } from '../core/errors.ts';
import { QuoteCodec, ReceiptCodec } from '../core/objects/index.ts';
import { bytesEqual } from '../core/hash.ts';
import type { NetworkName } from '../core/network.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { Db } from '../store/sqlite.ts';
import { StoreError } from '../store/sqlite.ts';
import { createDataKey, hasDataKey, unlockDataKey } from '../store/data-key.ts';
import { AddressError, MAX_RELAY_HINTS, decodeAddress, encodeAddress, type SatpostAddress } from '../identity/address.ts';
import { DEVICE_ID } from '../identity/bundle.ts';
import { openIdentityDb } from '../identity/db.ts';
import { IdentityError } from '../identity/errors.ts';
import { createIdentity, identityFromPrivateKey, unlockIdentity, unsealIdentityKey, type UnlockedIdentity } from '../identity/identity.ts';
import { fingerprintOf } from '../identity/keys.ts';
import { PrekeyManager } from '../identity/prekeys.ts';
import { Sessions } from '../identity/session.ts';
import { SignalStores } from '../identity/stores.ts';
import { Wallet, WalletError, type Balance, type HistoryEntry, type SyncReport } from '../wallet/index.ts';
import {
  ChannelBook, ChannelWatcher, ContractBook, ContractWatcher, PayerChannels, PayerContracts, openPartyDb,
  type ChannelProblem, type ChannelStatusChange, type HtlcRecord, type KeyLearned, type Settled,
} from '../watch/index.ts';
import { messageIdOf } from '../core/objects/index.ts';
import { hex } from '@scure/base';
import { ClientChannels, channelProblem, type ChannelOpenOptions, type ChannelSummary } from './channels.ts';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { CLIENT_MARGINS, relayClients, type MailContext } from './mail-context.ts';
import { TagBook } from './tags.ts';
import { ClientEvents } from './events.ts';
import { MailStore, type OutboxRow, type OutboxState } from './mail-store.ts';
import { publishPrekeys, type PublishResult } from './publish.ts';
import { entryView, fetchOne, findEntry, readMessage, refreshInbox, withoutFraudulent, type InboxEntry, type ReadMessage, type ReadOptions } from './receive.ts';
import { isUnfinished, resumeSends, sendMessage, sentView, type SendContent, type SendOptions, type SentMessage } from './send.ts';
import { generateMnemonic } from '../wallet/keys.ts';
import { assertSecureChainUrl, assertSecureRelayUrl, checkProxy, makeConfig, normalizeChainUrl, normalizeRelayUrls, readConfig, type ClientConfig } from './config.ts';
import type { RelayClient } from './relay-client.ts';
import { Transport } from '../net/transport.ts';
import { checkContactName, contactView, type Contact } from './contacts.ts';
import { DataDir } from './datadir.ts';
import { ClientError } from './errors.ts';
import { ClientStore } from './store.ts';

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

export interface SentPayment {
  txid: string;
  amount: number;
  fee: number;
  /** sat/vB actually paid. */
  feeRate: number;
  vsize: number;
}

interface Parts {
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

export class Client {
  /** The libsignal sessions of this user; peers are contacts' name keys. */
  readonly sessions: Sessions;
  private readonly stores: SignalStores;
  private closed = false;
  private readonly ctx: MailContext;
  private watcher: ContractWatcher | undefined;
  private channelWatcher: ChannelWatcher | undefined;
  private watching: Promise<void> | undefined;
  private readonly channelEvents = new EventEmitter<{ status: [ChannelStatusChange]; problem: [ChannelProblem] }>();
  /** Message, inbox, balance and channel changes as they are committed (./events.ts). */
  readonly events = new ClientEvents();

  private constructor(private readonly p: Parts) {
    this.stores = new SignalStores(p.identityDb, p.identity, { clock: p.now });
    this.sessions = new Sessions(this.stores);
    const book = new ContractBook(p.walletDb, p.now);
    const relay = relayClients({ transport: p.transport, network: p.config.network, ...(p.relayTimeoutMs !== undefined ? { timeoutMs: p.relayTimeoutMs } : {}) });
    const channels = new ClientChannels({
      payer: new PayerChannels({ book: new ChannelBook(p.walletDb, p.now), wallet: p.wallet, backend: p.backend }),
      relays: p.store,
      tip: async (signal) => (await p.backend.getTip(signal)).height,
      now: p.now,
      relay,
      ed: nodeEd25519(),
    });
    this.ctx = {
      network: p.config.network,
      identity: p.identity,
      tags: new TagBook(p.store.db, p.identity.publicKey, p.now),
      sessions: this.sessions,
      prekeys: new PrekeyManager(p.identityDb, p.identity),
      wallet: p.wallet,
      backend: p.backend,
      payer: new PayerContracts({ book, wallet: p.wallet, backend: p.backend }),
      channels,
      mail: this.events.observe(new MailStore(p.store.db, p.now)),
      contacts: p.store,
      relays: p.config.relays,
      proofDir: p.dir.proofDir(),
      relay,
      ed: nodeEd25519(),
      aead: nodeAead,
      margins: CLIENT_MARGINS[p.config.network],
      now: p.now,
      random: (n) => new Uint8Array(randomBytes(n)),
      failpoint: p.failpoint ?? (() => undefined),
    };
  }

  /**
   * Creates identity, prekeys, wallet and address book in `dir` under one passphrase and
   * returns the open client with the wallet's recovery phrase (shown to the user once; it is
   * not returned again). Nothing is handed out before config.json is written last, so a crash
   * mid-init leaves an `INIT_INCOMPLETE` directory that the next init discards and redoes.
   * Throws ALREADY_INITIALIZED, BAD_DATA_DIR (satpost databases without a config: not
   * touched), EMPTY_PASSPHRASE, NETWORK_MISMATCH, BAD_CHAIN_URL, BAD_RELAY_URL.
   */
  static async init(o: ClientInitOptions): Promise<{ client: Client; mnemonic: string }> {
    checkPassphrase(o.passphrase);
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
      const mnemonic = generateMnemonic((n) => new Uint8Array(randomBytes(n)));
      walletDb = openPartyDb(dir.createPrivateFile('wallet'), key);
      wallet = Wallet.create({
        db: walletDb,
        passphrase: o.passphrase,
        network: config.network,
        backend,
        mnemonic,
        now,
        ...(o.scrypt ? { scrypt: o.scrypt } : {}),
      });
      store = ClientStore.open(dir.createPrivateFile('client'), key);
      dir.writeConfig(config);
      const client = new Client({ dir, config, identityDb, walletDb, identity, wallet, store, backend, transport, now, failpoint: o.failpoint });
      client.writePublicInfo();
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
  static async open(o: ClientOpenOptions): Promise<Client> {
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
      const client = new Client({
        dir, config: { ...config, chainUrl, ...(proxy !== undefined ? { proxy } : {}) }, identityDb, walletDb, identity, wallet, store, backend, transport, now, failpoint: o.failpoint, relayTimeoutMs: o.relayTimeoutMs,
      });
      // Every open refreshes it: directories from before public.json get one, and it follows the config.
      client.writePublicInfo();
      return client;
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
  static async unseal(o: ClientOpenOptions & { passphrase: string }): Promise<ClientSecrets> {
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
    const { passphrase: _passphrase, ...rest } = o;
    const client = await Client.open({ ...rest, secrets });
    await client.close();
    return secrets;
  }

  /** The network this client's directory was initialized for. */
  get network(): NetworkName {
    return this.p.config.network;
  }

  /** The data directory path. */
  get dataDir(): string {
    return this.p.dir.path;
  }

  /** Esplora API root in use (the config's, or the override given to open). */
  get chainUrl(): string {
    return this.p.config.chainUrl;
  }

  /** The user's relays, canonical URLs, in the order given at init. */
  get relays(): string[] {
    return [...this.p.config.relays];
  }

  /**
   * Each of the user's relays and whether it answers its information document now (its
   * relayId, name and network when it does, the error when not). Never throws for a relay.
   */
  async relayStatus(o: { signal?: AbortSignal } = {}): Promise<RelayStatus[]> {
    this.assertOpen();
    return checkRelays(this.p.config.relays, (url) => this.ctx.relay(url), o.signal, this.network);
  }

  /**
   * Adds a relay to config.json: the URL is checked (BAD_RELAY_URL, INSECURE_RELAY_URL outside
   * regtest, RELAY_EXISTS), the relay must answer its information document on this network
   * (RELAY_UNREACHABLE, BAD_RELAY_ANSWER, NETWORK_MISMATCH) before anything is saved; then the
   * prekeys are published to the new set and the new address (its hints) is returned.
   */
  async addRelay(url: string, o: { signal?: AbortSignal } = {}): Promise<RelayChange> {
    this.assertOpen();
    const [canonical] = normalizeRelayUrls([url]);
    assertSecureRelayUrl(canonical!, this.network, this.p.config.proxy !== undefined);
    if (this.p.config.relays.includes(canonical!)) throw new ClientError('RELAY_EXISTS', `${canonical} is already one of your relays`);
    const [status] = await checkRelays([canonical!], (u) => this.ctx.relay(u), o.signal, this.network);
    if (!status!.reachable) {
      const err = new ClientError(
        status!.error!.code === 'NETWORK_MISMATCH' || status!.error!.code === 'BAD_RELAY_ANSWER' ? status!.error!.code : 'RELAY_UNREACHABLE',
        `relay ${canonical} did not answer its information document (/.well-known/satpost): ${status!.error!.message}; nothing was changed`,
      );
      err.relay = canonical!;
      throw err;
    }
    return this.changeRelays([...this.p.config.relays, canonical!], o.signal);
  }

  /** Removes a relay from config.json (UNKNOWN_RELAY, LAST_RELAY), publishes the prekeys to the rest, returns the new address. */
  async removeRelay(url: string, o: { signal?: AbortSignal } = {}): Promise<RelayChange> {
    this.assertOpen();
    const [canonical] = normalizeRelayUrls([url]);
    if (!this.p.config.relays.includes(canonical!)) throw new ClientError('UNKNOWN_RELAY', `${canonical} is not one of your relays (${this.p.config.relays.join(', ') || 'none'})`);
    if (this.p.config.relays.length === 1) throw new ClientError('LAST_RELAY', `${canonical} is your only relay: nobody could reach you without one`);
    return this.changeRelays(this.p.config.relays.filter((r) => r !== canonical), o.signal);
  }

  /** Saves `relays` (config.json as on disk, only its relays changed), then public.json, then publishes. */
  private async changeRelays(relays: string[], signal?: AbortSignal): Promise<RelayChange> {
    const saved = readConfig(this.p.dir);
    this.p.dir.writeConfig({ ...saved, relays });
    // ctx.relays is the same array: publishing, sending and listing see the new set at once.
    this.p.config.relays.splice(0, this.p.config.relays.length, ...relays);
    this.writePublicInfo();
    let published: PublishResult | undefined;
    let publishError: { code: string; message: string } | undefined;
    try {
      published = await this.publish(signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted) throw err;
      const e = err as { code?: string; message?: string };
      publishError = { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) };
    }
    return { relays: [...relays], address: this.address(), ...(published ? { published } : {}), ...(publishError ? { publishError } : {}) };
  }

  /** The chain backend the wallet uses. */
  get backend(): ChainBackend {
    return this.p.backend;
  }

  /** The user's shareable satpost address: identity key and the first four relays as hints. */
  address(): string {
    this.assertOpen();
    return encodeAddress({ network: this.network, identityKey: this.p.identity.publicKey, relayHints: this.p.config.relays.slice(0, MAX_RELAY_HINTS) });
  }

  /** Fingerprint of the user's identity key, for contacts to compare out of band. */
  fingerprint(): string {
    this.assertOpen();
    return fingerprintOf(this.p.identity.publicKey);
  }

  /** Writes public.json: what `satpost address` prints without the passphrase. */
  private writePublicInfo(): void {
    this.p.dir.writePublic({ version: 1, network: this.network, address: this.address(), fingerprint: this.fingerprint(), relays: this.relays });
  }

  /**
   * Saves `address` under `name` and trusts its identity key for that contact (the address the
   * user typed is the root of trust). Throws INVALID_NAME, INVALID_ADDRESS (with `reason`: the
   * AddressError code such as BAD_CHECKSUM or WRONG_NETWORK, or OWN_ADDRESS), CONTACT_EXISTS
   * (the name, or the same identity key under another name).
   */
  async addContact(name: string, address: string): Promise<Contact> {
    const store = this.store();
    const n = checkContactName(name);
    const a = this.decode(address);
    if (store.contact(n.nameKey)) {
      throw new ClientError('CONTACT_EXISTS', `a contact named "${store.contact(n.nameKey)!.name}" already exists; give the new one another name`);
    }
    const other = store.contactByKey(a.identityKey);
    if (other) throw new ClientError('CONTACT_EXISTS', `this address is already saved as contact "${other.name}"`);
    await this.stores.identity.saveIdentity(peer(n.nameKey), PublicKey.deserialize(Uint8Array.from(a.identityKey)));
    await this.stores.commit();
    store.insertContact({ nameKey: n.nameKey, name: n.name, identityKey: a.identityKey, relayHints: a.relayHints, now: this.p.now() });
    return this.contact(n.name);
  }

  /**
   * Replaces a contact's address. Same identity key: her relay hints are updated. A different
   * key is recorded as a pending change and CONTACT_KEY_CHANGED is thrown (with `change`):
   * compare fingerprints with her, then trustContact(name). Also UNKNOWN_CONTACT, INVALID_ADDRESS.
   */
  async updateContact(name: string, address: string): Promise<Contact> {
    const store = this.store();
    const row = this.row(name);
    const a = this.decode(address);
    if (bytesEqual(a.identityKey, row.identityKey)) {
      store.setHints(row.nameKey, a.relayHints, this.p.now());
      return this.contact(name);
    }
    const other = store.contactByKey(a.identityKey);
    if (other) throw new ClientError('CONTACT_EXISTS', `this address is already saved as contact "${other.name}"`);
    await this.stores.identity.saveIdentity(peer(row.nameKey), PublicKey.deserialize(Uint8Array.from(a.identityKey)));
    await this.stores.commit();
    store.setPendingHints(row.nameKey, a.relayHints, this.p.now());
    throw this.keyChanged(row.name, row.nameKey);
  }

  /** Every contact, by name. */
  contacts(): Contact[] {
    return this.store()
      .contacts()
      .map((r) => contactView(r, this.network, this.stores.identityChange(r.nameKey)));
  }

  /** One contact by name (case-insensitive). Throws UNKNOWN_CONTACT. */
  contact(name: string): Contact {
    const row = this.row(name);
    return contactView(row, this.network, this.stores.identityChange(row.nameKey));
  }

  /**
   * The contact, only if her identity key is the trusted one: what sending uses. Throws
   * CONTACT_KEY_CHANGED (with `change`) while a changed key awaits trustContact, UNKNOWN_CONTACT.
   */
  trustedContact(name: string): Contact {
    const c = this.contact(name);
    if (c.keyChange) throw this.keyChanged(c.name, this.row(name).nameKey);
    return c;
  }

  /**
   * Accepts a contact's changed identity key (after comparing fingerprints with her). Her old
   * sessions are dropped; her address becomes the new one. Throws NO_KEY_CHANGE, UNKNOWN_CONTACT.
   */
  async trustContact(name: string): Promise<Contact> {
    const store = this.store();
    const row = this.row(name);
    const newKey = this.stores.trustRow(row.nameKey)?.untrusted;
    if (!newKey) throw new ClientError('NO_KEY_CHANGE', `the identity key of "${row.name}" has not changed; nothing to trust`);
    this.stores.trustNewIdentity(row.nameKey);
    store.replaceKey(row.nameKey, newKey, row.pendingHints ?? row.relayHints, this.p.now());
    return this.contact(name);
  }

  /**
   * Translates a session failure about a contact into the client's terms (IDENTITY_KEY_CHANGED
   * becomes CONTACT_KEY_CHANGED); other errors are returned unchanged.
   */
  explainSessionError(err: unknown): unknown {
    if (IdentityError.is(err, 'IDENTITY_KEY_CHANGED') && err.change) {
      const row = this.store().contact(err.change.contact);
      if (row) return this.keyChanged(row.name, row.nameKey, err);
    }
    return err;
  }

  /** A fresh receive address of the wallet (never handed out twice). */
  walletAddress(): string {
    this.assertOpen();
    return this.p.wallet.newReceiveAddress().address;
  }

  /** Brings the wallet up to date with the chain. */
  async sync(): Promise<SyncReport> {
    this.assertOpen();
    const report = await this.p.wallet.sync();
    if (report.newTxs > 0) this.events.wallet();
    return report;
  }

  /** The wallet balance after a sync with the chain. */
  async balance(): Promise<Balance> {
    await this.sync();
    return this.p.wallet.balance();
  }

  /**
   * The wallet's transactions after a sync with the chain, each with what it was for (see
   * Purpose). Drafts never broadcast (send builds one to check the wallet can pay: state
   * 'abandoned') moved no money and are left out.
   */
  async history(): Promise<HistoryRow[]> {
    await this.sync();
    const purposes = this.purposes();
    return this.p.wallet
      .history()
      .filter((h) => h.state !== 'abandoned')
      .map((h) => ({ ...h, purposes: purposes.get(h.txid) ?? [h.sent > 0 ? { kind: 'send' as const, to: this.p.wallet.payees(h.txid) } : { kind: 'receive' as const }] }));
  }

  /** txid → what it did, from the contract book (messages), the channel book and the outbox/inbox (contacts). */
  private purposes(): Map<string, Purpose[]> {
    const out = new Map<string, Purpose[]>();
    const add = (txid: string | null, p: Purpose) => {
      if (txid === null) return;
      const list = out.get(txid) ?? [];
      list.push(p);
      out.set(txid, list);
    };
    const message = (id: string): { messageId: string; contact?: string; direction?: 'to' | 'from' } => {
      const sent = this.ctx.mail.outbox(id);
      if (sent) return { messageId: id, contact: this.p.store.contact(sent.contact)?.name ?? sent.contact, direction: 'to' };
      const got = this.ctx.mail.inbox(id);
      if (got) return { messageId: id, contact: entryView(this.ctx, got).from, direction: 'from' };
      return { messageId: id };
    };
    for (const c of this.ctx.payer.book.list('payer')) {
      add(c.fundingTxid, { kind: 'message', ...message(c.id) });
      add(c.refundTxid, { kind: 'refund', ...message(c.id) });
    }
    for (const ch of this.ctx.channels.payer.book.list('payer')) {
      add(ch.fundingTxid, { kind: 'channel-open', channelId: ch.id });
      for (const t of [ch.closeTxid, ch.exitTxid, ch.commitmentTxid, ch.sweepTxid, ch.claimTxid]) add(t, { kind: 'channel-close', channelId: ch.id });
      for (const h of this.ctx.channels.payer.book.htlcs(ch.id)) add(h.refundTxid, { kind: 'refund', channelId: ch.id, messageId: hex.encode(messageIdOf(h.hk)) });
    }
    for (const list of out.values()) {
      const seen = new Set<string>();
      list.splice(0, list.length, ...list.filter((p) => !seen.has(JSON.stringify(p)) && seen.add(JSON.stringify(p))));
    }
    return out;
  }

  /**
   * Recipient-pays messages this user sent and still lists as 'deposited': asks the message's
   * relay for the listing of its tag (the receipt's), and marks each one the relay lists as
   * 'unlocked' (the recipient paid and took k) 'delivered'. The relay learns nothing new: it
   * stored the message under that tag from this sender. Per-relay failures leave rows as they
   * are and are returned.
   */
  async refreshOutbox(o: { signal?: AbortSignal } = {}): Promise<{ relay: string; error: unknown }[]> {
    this.assertOpen();
    const waiting = this.ctx.mail.outboxAll().filter((r) => r.mode === 'recipient-pays' && r.state === 'deposited' && r.receipt !== null);
    const byRelay = new Map<string, OutboxRow[]>();
    for (const r of waiting) byRelay.set(r.relay, [...(byRelay.get(r.relay) ?? []), r]);
    const problems: { relay: string; error: unknown }[] = [];
    await Promise.all(
      [...byRelay].map(async ([url, rows]) => {
        try {
          const tags = [...new Map(rows.map((r) => { const t = ReceiptCodec.decode(r.receipt!).tag; return [hex.encode(t), t] as const; })).values()];
          const ids = new Set(rows.map((r) => r.id));
          for await (const page of this.ctx.relay(url).listAll(tags, o.signal ? { signal: o.signal } : {})) {
            for (const m of page) if (ids.has(m.id) && m.state === 'unlocked') this.ctx.mail.setOutbox(m.id, 'delivered');
          }
        } catch (err) {
          if (o.signal?.aborted) throw err;
          problems.push({ relay: url, error: err });
        }
      }),
    );
    return problems;
  }

  /**
   * Pays `sats` to a Bitcoin address of the client's network after a sync; the transaction is
   * stored before it is broadcast. Wallet refusals (INSUFFICIENT_FUNDS, BAD_ADDRESS,
   * BAD_AMOUNT, DUST_OUTPUT, BAD_FEE_RATE, ...) are WalletErrors.
   */
  async sendBitcoin(address: string, sats: number, opts: { feeRate?: number } = {}): Promise<SentPayment> {
    await this.sync();
    const tx = await this.p.wallet.send(address, sats, opts.feeRate !== undefined ? { feeRate: opts.feeRate } : {});
    return { txid: tx.txid, amount: sats, fee: tx.fee, feeRate: tx.feeRate, vsize: tx.vsize };
  }

  /**
   * Stops the watchers (waiting for their passes in flight) and lets the Signal stores finish
   * their commits, then closes the databases; await it before removing the data directory.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const closeAll = () => {
      this.p.store.close();
      this.p.wallet.close();
      if (this.p.walletDb.open) this.p.walletDb.close();
      if (this.p.identityDb.open) this.p.identityDb.close();
    };
    const w = this.watcher;
    const cw = this.channelWatcher;
    this.watcher = undefined;
    this.channelWatcher = undefined;
    // The Signal stores' last commits (and their commit worker) finish before the file closes.
    return Promise.allSettled([w?.stop(), cw?.stop(), this.stores.close()]).then(closeAll);
  }

  // ---- messaging -------------------------------------------------------------------------

  /**
   * Publishes the prekey bundle at every relay of the config (one-time keys split between
   * them) and tops the pool up when the relays report it running low. Throws NO_RELAYS, or
   * RELAY_UNREACHABLE / BAD_RELAY_ANSWER when no relay took it; per-relay failures are in
   * the result.
   */
  publish(o: { signal?: AbortSignal } = {}): Promise<PublishResult> {
    this.assertOpen();
    return publishPrekeys(this.ctx, o);
  }

  /**
   * Sends a text or a file to a contact: quotes for exactly the sealed body's size, the
   * cheapest acceptable quote (signed, answers the offer, <= maxFee, T within the margins),
   * the contact's verified prekey bundle on a first message, the sealed envelope persisted in
   * the outbox before the deposit, the receipt verified and stored, and for sender-pays the
   * contract funded (persisted before broadcast). Idempotent per intent (contact, content,
   * mode): the send is saved as a draft before any network step, and an identical send finishes
   * that one (or one left unfinished, or returns one sent less than REPEAT_WINDOW_MS ago;
   * `repeat` says so) instead of paying for a second message, unless `again: true`. Aborting
   * `signal` throws SEND_INTERRUPTED (details.id, or details.draft before a quote): the message
   * stays saved and resume() or the same send finishes it. Throws UNKNOWN_CONTACT,
   * CONTACT_KEY_CHANGED, NO_RELAYS, NO_BUNDLE, NO_ACCEPTABLE_QUOTE (details.cheapest),
   * INSUFFICIENT_FUNDS, RELAY_UNREACHABLE, BAD_RELAY_ANSWER, or a relay's refusal code.
   */
  async send(contactName: string, content: SendContent, o: SendOptions = {}): Promise<SentMessage> {
    const contact = this.trustedContact(contactName);
    await this.startWatcher(o.signal);
    try {
      return await sendMessage(this.ctx, this.row(contact.name), content, o);
    } catch (err) {
      throw this.explainSessionError(err);
    }
  }

  /**
   * Sends that resume() would carry on: drafts (interrupted before a quote; no id yet, `draft`
   * is their local id), sealed messages not yet deposited, sender-pays deposits not yet funded.
   */
  unfinishedSends(): { id?: string; draft?: string; to: string; state: 'draft' | OutboxState }[] {
    this.assertOpen();
    const name = (key: string) => this.p.store.contact(key)?.name ?? key;
    return [
      ...this.ctx.mail.drafts().map((d) => ({ draft: d.id, to: name(d.contact), state: 'draft' as const })),
      ...this.ctx.mail.pendingOutbox().filter(isUnfinished).map((r) => ({ id: r.id, to: name(r.contact), state: r.state })),
    ];
  }

  /** The inbox as stored here (no relay asked), oldest first: what inbox() last found and watch() added. */
  storedInbox(): InboxEntry[] {
    this.assertOpen();
    return this.ctx.mail.inboxAll().map((r) => entryView(this.ctx, r));
  }

  /** Every message sent from this directory, oldest first, with its current state. */
  outbox(): SentMessage[] {
    this.assertOpen();
    return this.ctx.mail.outboxAll().map((r: OutboxRow) => sentView(this.ctx, r));
  }

  /**
   * Asks the relays of the config and the relay network for the tags the user's messages come
   * under (docs/protocol.md "Tags"), fetches and checks each new message before anything is paid
   * (relay signatures, the receipt covering the blob, the sender's authenticator in the sealed
   * header), and returns all
   * entries, oldest first. `problems` names relays that failed; all unreachable throws
   * RELAY_UNREACHABLE; NO_RELAYS without relays.
   */
  async inbox(o: { signal?: AbortSignal } = {}): Promise<{ entries: InboxEntry[]; problems: { relay: string; error: unknown }[] }> {
    this.assertOpen();
    return refreshInbox(this.ctx, o);
  }

  /**
   * Reads one inbox entry (id or unique prefix). Sender-pays: hands r to the relay and takes
   * k from its answer or from the claim on chain. Recipient-pays: refuses a sender who is not
   * a contact unless payUnknownSender (UNKNOWN_SENDER), refuses above maxPrice
   * (PRICE_TOO_HIGH), funds HTLC(H(k)) through the contract book (persisted first), sends the
   * PaymentNotice, waits for the confirmation (onProgress), then k from the relay or the
   * chain. Then H(k), the blob, H(c) and the Signal session are checked and the message is
   * stored. An id not in the local inbox is looked up at the relays first. Throws
   * MESSAGE_NOT_FOUND, UNKNOWN_SENDER, PRICE_TOO_HIGH, INSUFFICIENT_FUNDS, MESSAGE_EXPIRED, MESSAGE_CORRUPT (the
   * relay's copy failed a check before paying), RELAY_FRAUD (paid, and the blob does not match
   * the relay's signed receipt: the proof is stored, exported and the relay no longer chosen).
   */
  async read(id: string, o: ReadOptions = {}): Promise<ReadMessage> {
    this.assertOpen();
    try {
      findEntry(this.ctx, id);
    } catch (err) {
      // Not listed here yet (the user got the id elsewhere, or never ran inbox): look at the relays once.
      if (!ClientError.is(err, 'MESSAGE_NOT_FOUND') || !/^[0-9a-f]{4,64}$/i.test(id)) throw err;
      await refreshInbox(this.ctx, o.signal ? { signal: o.signal } : {});
      findEntry(this.ctx, id);
    }
    await this.startWatcher(o.signal);
    return readMessage(this.ctx, id, o);
  }

  /**
   * Follows the user's tags live: subscribes at every relay (WebSocket), then lists once so that
   * nothing stored between an earlier inbox() and the subscription is missed, and yields each
   * entry not in the inbox before, fetched and checked as inbox() does, until `signal` aborts
   * or the loop breaks. A message that fails its checks is not yielded; `onProblem` hears of it.
   * Meanwhile every `channelSyncMs` (default 5,000) the open channels are synced (syncChannels),
   * so sender-pays messages paid over a channel become 'delivered' as they are read.
   */
  async *watch(o: { signal?: AbortSignal; onProblem?: (relay: string, error: unknown) => void; channelSyncMs?: number } = {}): AsyncGenerator<InboxEntry> {
    this.assertOpen();
    // Settles of the user's channels (messages she paid for being read) are taken while watching.
    let syncing = false;
    const syncNow = () => {
      if (syncing || this.closed) return;
      syncing = true;
      this.syncChannels().then(
        (rs) => { for (const r of rs) if (r.error !== undefined) o.onProblem?.(this.ctx.channels.get(r.id).relay, r.error); },
        (err: unknown) => o.onProblem?.('', err),
      ).finally(() => (syncing = false));
    };
    const channelTimer = setInterval(syncNow, o.channelSyncMs ?? 5_000);
    channelTimer.unref();
    syncNow();
    const ac = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
    const events = new EventEmitter<{ entry: [InboxEntry] }>();
    // Created before anything can emit: on() buffers what arrives before the loop asks.
    const stream = on(events, 'entry', { signal }) as AsyncIterableIterator<[InboxEntry]>;
    const known = new Set(this.ctx.mail.inboxAll().map((r) => r.id));
    const announce = (id: string) => {
      if (known.has(id)) return;
      const row = this.ctx.mail.inbox(id);
      if (!row) return;
      known.add(id);
      events.emit('entry', entryView(this.ctx, row));
    };
    // Two subscriptions per relay: introduction tags never share a request with conversation
    // tags (anyone holding the address computes the former: together they would name the latter).
    const subs: { intro: boolean; sub: { close(): void; add(tags: Uint8Array[]): void } }[] = [];
    // The tags followed: a find moves a window, and the tags it opens are added to the conversation subscriptions.
    const following = TagBook.byHex(this.ctx.tags.wanted());
    const followMore = () => {
      const more = this.ctx.tags.wanted().filter((w) => !following.has(Buffer.from(w.tag).toString('hex')));
      for (const w of more) following.set(Buffer.from(w.tag).toString('hex'), w);
      for (const intro of [true, false]) {
        const tags = more.filter((w) => (w.owner.kind === 'intro') === intro).map((w) => w.tag);
        if (tags.length > 0) for (const s of subs) if (s.intro === intro) s.sub.add(tags);
      }
    };
    try {
      for (const url of withoutFraudulent(this.ctx, this.ctx.relays.map((u) => u.replace(/\/+$/, '')))) {
        const relay = this.ctx.relay(url);
        const onMessage = (id: Uint8Array, tag: Uint8Array) => {
          const hexId = Buffer.from(id).toString('hex');
          if (this.ctx.mail.inbox(hexId)) return announce(hexId);
          const wanted = following.get(Buffer.from(tag).toString('hex'));
          if (wanted === undefined) return;
          fetchOne(this.ctx, url, id, { id: hexId, tag: Buffer.from(tag).toString('hex') }, wanted, signal).then(
            () => {
              followMore();
              announce(hexId);
            },
            (err: unknown) => o.onProblem?.(url, err),
          );
        };
        for (const intro of [true, false]) {
          const tags = [...following.values()].filter((w) => (w.owner.kind === 'intro') === intro).map((w) => w.tag);
          if (tags.length > 0) // A dropped subscription ends the watch (the caller watches again: nothing is missed, the list runs first).
          subs.push({ intro, sub: await relay.subscribe(tags, onMessage, { signal, onClose: () => ac.abort() }) });
        }
      }
      const { entries, problems } = await refreshInbox(this.ctx, { signal });
      followMore();
      for (const p of problems) o.onProblem?.(p.relay, p.error);
      for (const e of entries) announce(e.id);
      for await (const [entry] of stream) yield entry;
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      clearInterval(channelTimer);
      ac.abort();
      for (const s of subs) s.sub.close();
    }
  }

  /**
   * Carries on after a restart: starts the contract and channel watchers (which resume every
   * contract and channel: fundings to broadcast, keys to learn, refunds once T has passed,
   * opening channels confirmed), sends the drafts an interrupted send left (a draft refused for
   * good is dropped: `dropped`), re-deposits sealed messages (resending a channel add the relay
   * lacks), funds sender-pays deposits left unfunded, and syncs every open channel (settles
   * taken, expired HTLCs failed back). Returns what was resumed.
   */
  async resume(o: { signal?: AbortSignal } = {}): Promise<{ sends: { id: string; error?: unknown; dropped?: boolean }[]; channels: ChannelSyncReport[] }> {
    await this.startWatcher(o.signal);
    const sends = await resumeSends(this.ctx, o.signal);
    await this.watcher!.poll();
    await this.channelWatcher!.poll();
    const channels = await this.syncChannels(o);
    this.settleFromBook();
    return { sends, channels };
  }

  /** Outbox rows whose contract or channel HTLC settled while no watcher event reached them (e.g. a crash). */
  private settleFromBook(): void {
    for (const row of this.ctx.mail.pendingOutbox()) {
      if (row.state === 'paid' && row.channelId !== null) {
        const hk = QuoteCodec.decode(row.quote).hk;
        const h = this.ctx.channels.payer.book.htlcs(row.channelId).find((x) => bytesEqual(x.hk, hk));
        if (h) this.htlcSettled(h);
        continue;
      }
      const c = row.state === 'funded' ? this.ctx.payer.book.find(row.id) : undefined;
      if (c?.k) this.settle(row.id, 'delivered');
      else if (c?.state === 'refunded') this.settle(row.id, 'refunded');
    }
  }

  /** The outbox row a sender-pays channel HTLC pays: delivered once its k is known, refunded once failed back. */
  private htlcSettled(h: HtlcRecord): void {
    if (this.closed || h.mode !== 'sender-pays') return;
    const id = hex.encode(messageIdOf(h.hk));
    const row = this.ctx.mail.outbox(id);
    if (!row || row.state !== 'paid') return;
    if (h.k && (h.status === 'settled' || h.status === 'claimed')) this.ctx.mail.setOutbox(id, 'delivered');
    else if (h.status === 'failed' || h.status === 'refunded') {
      this.ctx.mail.setOutbox(id, 'refunded', { detail: `nobody read it before block ${h.locktime}: the HTLC was ${h.status} back to the channel` });
    }
  }

  // ---- payment channels --------------------------------------------------------------------

  /**
   * Opens a payment channel of `sats` with a relay (capacity, life `blocks`, default 1008,
   * within the relay's terms): the wallet funds it (the funding broadcast), the relay is told.
   * Status 'opening' until the funding confirms (the channel watcher sees it on its next pass;
   * the relay takes HTLCs once it is `confirmations` deep there); then send() and read() use it
   * for messages at that relay. Throws CHANNELS_UNAVAILABLE, CHANNEL_TERMS (details.terms),
   * INSUFFICIENT_FUNDS, RELAY_UNREACHABLE, or the relay's code.
   */
  async openChannel(relayUrl: string, o: ChannelOpenOptions): Promise<ChannelSummary> {
    await this.startWatcher(o.signal);
    await this.p.wallet.sync();
    const opened = await this.ctx.channels.open(relayUrl, o);
    return this.ctx.channels.get(opened.id, await this.tipOrUndefined());
  }

  /** Every payer channel of this directory, with blocks left to T_ch when the chain answers. */
  async channels(): Promise<ChannelSummary[]> {
    this.assertOpen();
    return this.ctx.channels.list(await this.tipOrUndefined());
  }

  /**
   * Closes a channel (id or unique prefix) cooperatively: the relay's pending settles taken,
   * then its CloseRequest checked and signed; the relay broadcasts the close, and the channel
   * watcher sweeps the payer's output to the wallet once it confirms. Throws UNKNOWN_CHANNEL,
   * IN_FLIGHT_NOT_EMPTY (unread messages still hold HTLCs), BAD_STATE (not open),
   * RELAY_UNREACHABLE (its message says: without the relay, the watcher's exit after T_ch takes
   * the sats back on its own).
   */
  async closeChannel(id: string, o: { signal?: AbortSignal } = {}): Promise<ChannelSummary> {
    await this.startWatcher(o.signal);
    const full = this.ctx.channels.resolve(id);
    try {
      const closed = await this.ctx.channels.close(full, o.signal);
      return { ...closed, ...(await this.tipOrUndefined().then((t) => (t === undefined ? {} : { blocksLeft: closed.expiry - t }))) };
    } catch (err) {
      throw channelProblem(err);
    } finally {
      this.settleFromBook();
    }
  }

  /**
   * Takes the pending settles of every open channel (acknowledging each after checking k and r
   * against the hashes), fails back HTLCs past T_i − claim margin, and tells relays about opens
   * they missed. Sender-pays messages paid by a settled HTLC become 'delivered'. Per-channel
   * failures are in the result, never thrown.
   */
  async syncChannels(o: { signal?: AbortSignal } = {}): Promise<ChannelSyncReport[]> {
    this.assertOpen();
    const all = await this.ctx.channels.syncAll(o.signal);
    const out: ChannelSyncReport[] = [];
    for (const r of all) {
      for (const h of [...(r.result?.settled ?? []), ...(r.result?.failed ?? [])]) this.htlcSettled(h);
      out.push({ id: r.id, settled: r.result?.settled.length ?? 0, failed: r.result?.failed.length ?? 0, ...(r.error !== undefined ? { error: r.error } : {}) });
    }
    return out;
  }

  /** Channel status changes and watcher problems (listeners added here see both watchers' passes). */
  onChannelEvent(event: 'status', fn: (e: ChannelStatusChange) => void): () => void;
  onChannelEvent(event: 'problem', fn: (e: ChannelProblem) => void): () => void;
  onChannelEvent(event: 'status' | 'problem', fn: (e: never) => void): () => void {
    this.channelEvents.on(event, fn as (e: unknown) => void);
    return () => this.channelEvents.off(event, fn as (e: unknown) => void);
  }

  private async tipOrUndefined(): Promise<number | undefined> {
    try {
      return (await this.p.backend.getTip()).height;
    } catch {
      return undefined;
    }
  }

  /** One pass of the contract and channel watchers now (tests and `satpost resume` wait on it). */
  async syncContracts(): Promise<void> {
    await this.startWatcher();
    await this.p.wallet.sync();
    await this.watcher!.poll();
    await this.channelWatcher!.poll();
    this.settleFromBook();
  }

  /** Starts the contract and channel watchers once: their first passes resume every pending contract and channel. */
  private startWatcher(signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    signal?.throwIfAborted();
    if (!this.watching) {
      const w = new ContractWatcher({ backend: this.p.backend, payer: this.ctx.payer });
      const cw = new ChannelWatcher({ backend: this.p.backend, payer: this.ctx.channels.payer });
      this.watcher = w;
      this.channelWatcher = cw;
      w.on('key-learned', (e: KeyLearned) => this.settle(e.id, 'delivered'));
      w.on('refunded', (e: Settled) => this.settle(e.id, 'refunded'));
      cw.on('status', (e) => {
        this.channelEvents.emit('status', e);
        this.events.channel(e);
      });
      cw.on('problem', (e) => this.channelEvents.emit('problem', e));
      this.watching = Promise.all([w.start(), cw.start()]).then(
        () => undefined,
        async (err: unknown) => {
          // A first pass failed (chain unreachable?): unsubscribe both, so that the next call starts afresh.
          await Promise.allSettled([w.stop(), cw.stop()]);
          if (this.watcher === w) this.watcher = undefined;
          if (this.channelWatcher === cw) this.channelWatcher = undefined;
          this.watching = undefined;
          throw err;
        },
      );
    }
    return this.watching;
  }

  private settle(contractId: string, state: 'delivered' | 'refunded'): void {
    if (this.closed) return;
    const row = this.ctx.mail.outbox(contractId);
    if (row && row.state !== state) this.ctx.mail.setOutbox(contractId, state);
  }

  private decode(address: string): SatpostAddress {
    let a: SatpostAddress;
    try {
      a = decodeAddress(address, { expectNetwork: this.network });
    } catch (e) {
      if (!(e instanceof AddressError)) throw e;
      const err = new ClientError('INVALID_ADDRESS', `invalid satpost address: ${e.message}`, { cause: e });
      err.reason = e.code;
      throw err;
    }
    // Her relays would get our deposits and her logins in the clear: refused before anything is saved.
    for (const hint of a.relayHints) assertSecureRelayUrl(hint, this.network, this.p.config.proxy !== undefined);
    if (bytesEqual(a.identityKey, this.p.identity.publicKey)) {
      const err = new ClientError('INVALID_ADDRESS', 'that is your own satpost address');
      err.reason = 'OWN_ADDRESS';
      throw err;
    }
    return a;
  }

  private row(name: string) {
    const n = checkContactName(name);
    const row = this.store().contact(n.nameKey);
    if (!row) throw new ClientError('UNKNOWN_CONTACT', `no contact named "${n.name}"`);
    return row;
  }

  private keyChanged(name: string, nameKey: string, cause?: unknown): ClientError {
    const change = this.stores.identityChange(nameKey);
    const err = new ClientError(
      'CONTACT_KEY_CHANGED',
      `the identity key of "${name}" changed (trusted ${change?.trustedFingerprint ?? '?'}, new ${change?.newFingerprint ?? '?'})`,
      cause === undefined ? undefined : { cause },
    );
    if (change) err.change = { ...change, contact: name };
    return err;
  }

  private store(): ClientStore {
    this.assertOpen();
    return this.p.store;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientError('CLIENT_CLOSED', 'the client is closed');
  }
}

/** What syncChannels did for one channel. */
export interface ChannelSyncReport {
  id: string;
  /** Settles taken (messages now paid for). */
  settled: number;
  /** HTLCs failed back (their messages were never read in time). */
  failed: number;
  error?: unknown;
}

function peer(nameKey: string): ProtocolAddress {
  return ProtocolAddress.new(nameKey, DEVICE_ID);
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
function unlockWith<T>(unlock: () => T, dir: DataDir): T {
  try {
    return unlock();
  } catch (e) {
    if (IdentityError.is(e, 'WRONG_PASSPHRASE') || WalletError.is(e, 'WRONG_PASSPHRASE') || StoreError.is(e, 'WRONG_PASSPHRASE')) {
      throw new ClientError('WRONG_PASSPHRASE', `wrong passphrase for ${dir.path}`, { cause: e });
    }
    throw e;
  }
}

/** One of the user's relays as `relayStatus` found it. */
export interface RelayStatus {
  url: string;
  reachable: boolean;
  relayId?: string;
  name?: string;
  error?: { code: string; message: string };
}

/** What addRelay/removeRelay did: the new set, the new address, and the publish at the new set. */
export interface RelayChange {
  relays: string[];
  address: string;
  published?: PublishResult;
  /** The prekeys could not be published (the change is saved; `satpost publish` retries). */
  publishError?: { code: string; message: string };
}

/** Asks each relay for its information document, in parallel; a relay of another network is NETWORK_MISMATCH. */
export async function checkRelays(urls: readonly string[], relayAt: (url: string) => RelayClient, signal?: AbortSignal, network?: NetworkName): Promise<RelayStatus[]> {
  return Promise.all(
    urls.map(async (url): Promise<RelayStatus> => {
      try {
        const info = await relayAt(url).info(signal);
        const net = (info as { network?: unknown }).network;
        if (network !== undefined && net !== undefined && net !== network) {
          return { url, reachable: false, error: { code: 'NETWORK_MISMATCH', message: expected('relay network', network, net) } };
        }
        const name = (info as { name?: unknown }).name;
        return { url, reachable: true, relayId: info.relayId, ...(typeof name === 'string' && name !== '' ? { name } : {}) };
      } catch (err) {
        if (signal?.aborted) throw err;
        const e = err as { code?: string; message?: string };
        return { url, reachable: false, error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
      }
    }),
  );
}

/**
 * What a wallet transaction was for. message: the funding of a message's contract (sender-pays:
 * `direction` 'to' the contact; recipient-pays read: 'from' the sender); refund: a contract or a
 * channel HTLC that came back; channel-open / channel-close: a payment channel's funding, its
 * close or exit and the sweep of the payer's share; send: paid to an address; receive: coins
 * received (a faucet, a payment).
 */
export interface Purpose {
  kind: 'message' | 'refund' | 'channel-open' | 'channel-close' | 'send' | 'receive';
  messageId?: string;
  contact?: string;
  direction?: 'to' | 'from';
  channelId?: string;
  /** send: the outputs paid outside the wallet (address when the script has one, amount). */
  to?: { address?: string; amount: number }[];
}

export interface HistoryRow extends HistoryEntry {
  purposes: Purpose[];
}
