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
 *
 * This class is the SDK's one face; the work is done where each part lives: opening and
 * creating a directory (./opening.ts), the address book (./contact-book.ts), the relays
 * (./relays.ts), sending and the outbox (./send.ts), the inbox and reading (./receive.ts),
 * one live watch and following (./watch.ts, ./follow.ts), the watchers (./watchers.ts),
 * channels (./channels.ts), what wallet transactions were for (./history.ts).
 */
import { randomBytes } from 'node:crypto';
import type { ChainBackend } from '../chain/backend.ts';
import { ReceiptCodec } from '../core/objects/index.ts';
import type { NetworkName } from '../core/network.ts';
import { MAX_RELAY_HINTS, encodeAddress } from '../identity/address.ts';
import { fingerprintOf } from '../identity/keys.ts';
import { PrekeyManager } from '../identity/prekeys.ts';
import { Sessions } from '../identity/session.ts';
import { SignalStores } from '../identity/stores.ts';
import { type Balance, type SyncReport } from '../wallet/index.ts';
import { ChannelBook, ContractBook, PayerChannels, PayerContracts, type ChannelProblem, type ChannelStatusChange } from '../watch/index.ts';
import { hex } from '@scure/base';
import { ClientChannels, channelProblem, type ChannelOpenOptions, type ChannelSummary } from './channels.ts';
import { nodeAead } from '../crypto/aead-node.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { CLIENT_MARGINS, relayClients, type MailContext } from './mail-context.ts';
import { TagBook } from './tags.ts';
import { ClientEvents } from './events.ts';
import { follow, type FollowOptions, type WatchOptions } from './follow.ts';
import { watchInbox } from './watch.ts';
import { MailStore, type OutboxRow, type OutboxState } from './mail-store.ts';
import { publishPrekeys, type PublishResult } from './publish.ts';
import { entryView, findEntry, readMessage, refreshInbox, refreshStored, type InboxEntry, type ReadMessage, type ReadOptions } from './receive.ts';
import { previewSend, type SendPreview } from './preview.ts';
import { addressBookOf, importAddressBook, openAddressBook, sealAddressBook, type BookImport } from './backup.ts';
import { isUnfinished, resumeSends, sendMessage, sentView, type SendContent, type SendOptions, type SentMessage } from './send.ts';
import { contactView, type Contact } from './contacts.ts';
import { ClientError } from './errors.ts';
import { ClientStore } from './store.ts';
import { ClientWatchers } from './watchers.ts';
import { ContactBook } from './contact-book.ts';
import { purposesOf, type HistoryRow } from './history.ts';

export type { HistoryRow, Purpose } from './history.ts';
import { addRelay, checkRelays, removeRelay, type RelayChange, type RelaySetting, type RelayStatus } from './relays.ts';

export { checkRelays, type RelayChange, type RelayStatus } from './relays.ts';
import { initDirectory, openDirectory, unlockWith, unsealDirectory, type ClientInitOptions, type ClientOpenOptions, type ClientSecrets, type Parts } from './opening.ts';

export type { ClientInitOptions, ClientOpenOptions, ClientSecrets } from './opening.ts';

export interface SentPayment {
  txid: string;
  amount: number;
  fee: number;
  /** sat/vB actually paid. */
  feeRate: number;
  vsize: number;
}

export class Client {
  /** The libsignal sessions of this user; peers are contacts' name keys. */
  readonly sessions: Sessions;
  private readonly stores: SignalStores;
  private closed = false;
  private readonly ctx: MailContext;
  private readonly watchers: ClientWatchers;
  private readonly book: ContactBook;
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
      // The outbox row a settled or failed HTLC paid: delivered or refunded, whichever call took it.
      onHtlcDone: (h) => this.watchers.htlcSettled(h),
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
      mail: new MailStore(p.store.db, p.now, this.events),
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
    this.watchers = new ClientWatchers(this.ctx, p.backend, this.events);
    this.book = new ContactBook({
      store: () => this.store(), stores: this.stores, network: p.config.network, proxied: p.config.proxy !== undefined, ownKey: p.identity.publicKey, now: p.now,
    });
  }

  /**
   * Creates identity, prekeys, wallet and address book in `dir` under one passphrase and
   * returns the open client with the wallet's recovery phrase (shown to the user once; it is
   * not returned again). Nothing is handed out before config.json is written last, so a crash
   * mid-init leaves an `INIT_INCOMPLETE` directory that the next init discards and redoes.
   * Throws ALREADY_INITIALIZED, BAD_DATA_DIR (satpost databases without a config: not
   * touched), EMPTY_PASSPHRASE, NETWORK_MISMATCH, BAD_CHAIN_URL, BAD_RELAY_URL (./opening.ts).
   */
  static async init(o: ClientInitOptions): Promise<{ client: Client; mnemonic: string }> {
    return initDirectory(o, (p) => new Client(p).withPublicInfo());
  }

  /**
   * A new data directory with the wallet of a recovery phrase and, when given, the address book
   * file exported under that phrase (./backup.ts), checked before anything is created: a wrong
   * phrase or a damaged file (WRONG_RECOVERY_PHRASE, BAD_RECOVERY_PHRASE, BAD_BACKUP) leaves no
   * directory behind. The identity key is new (it is not derived from the phrase): contacts see
   * a changed safety number and need the new address. Throws as init does besides.
   */
  static async restore(o: ClientInitOptions & { mnemonic: string; addressBook?: Uint8Array }): Promise<{ client: Client; imported?: BookImport }> {
    const book = o.addressBook !== undefined ? openAddressBook(o.addressBook, o.mnemonic) : undefined;
    const { client } = await Client.init(o);
    return { client, ...(book ? { imported: await importAddressBook(book, client) } : {}) };
  }

  /** The address book as a file sealed under the recovery phrase (./backup.ts), which the passphrase unseals (WRONG_PASSPHRASE). */
  exportAddressBook(passphrase: string): Uint8Array {
    const mnemonic = unlockWith(() => this.p.wallet.revealMnemonic(passphrase).mnemonic, this.p.dir);
    const pending = (nameKey: string, hints: string[]) => {
      const key = this.stores.trustRow(nameKey)?.untrusted;
      return key ? encodeAddress({ network: this.network, identityKey: key, relayHints: hints }) : undefined;
    };
    const contacts = this.store().contacts().map((r) => ({ ...contactView(r, this.network, null), pendingAddress: pending(r.nameKey, r.pendingHints ?? r.relayHints) }));
    return sealAddressBook(addressBookOf(this.network, contacts, this.p.now()), mnemonic, (n) => new Uint8Array(randomBytes(n)));
  }

  /** Adds the contacts of an address book file sealed under this wallet's recovery phrase, which the passphrase unseals; see importAddressBook. */
  importAddressBook(file: Uint8Array, passphrase: string): Promise<BookImport> {
    const mnemonic = unlockWith(() => this.p.wallet.revealMnemonic(passphrase).mnemonic, this.p.dir);
    return importAddressBook(openAddressBook(file, mnemonic), this);
  }

  /**
   * Opens an initialized data directory. Throws NOT_INITIALIZED (nothing there),
   * INIT_INCOMPLETE (an init was interrupted: run init again), BAD_DATA_DIR, BAD_CONFIG,
   * WRONG_PASSPHRASE, NETWORK_MISMATCH (`network` differs from the directory's).
   */
  static async open(o: ClientOpenOptions): Promise<Client> {
    // Every open refreshes public.json: directories from before it get one, and it follows the config.
    return openDirectory(o, (p) => new Client(p).withPublicInfo());
  }

  /**
   * What the passphrase unseals in the directory (data key, identity private key, wallet seed:
   * three scrypt derivations), checked by opening the client with them. For an unlock agent to
   * hold, so that its commands open with `secrets` and derive nothing. Throws as open does.
   */
  static async unseal(o: ClientOpenOptions & { passphrase: string }): Promise<ClientSecrets> {
    const { passphrase: _passphrase, ...rest } = o;
    return unsealDirectory(o, async (secrets) => (await Client.open({ ...rest, secrets })).close());
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
    return addRelay(this.relaySetting(), url, o.signal);
  }

  /** Removes a relay from config.json (UNKNOWN_RELAY, LAST_RELAY), publishes the prekeys to the rest, returns the new address. */
  async removeRelay(url: string, o: { signal?: AbortSignal } = {}): Promise<RelayChange> {
    this.assertOpen();
    return removeRelay(this.relaySetting(), url, o.signal);
  }

  private relaySetting(): RelaySetting {
    return {
      dir: this.p.dir, config: this.p.config, relayAt: (u) => this.ctx.relay(u), publish: (signal) => this.publish(signal ? { signal } : {}),
      address: () => this.address(), writePublicInfo: () => this.writePublicInfo(),
    };
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

  private withPublicInfo(): this {
    this.writePublicInfo();
    return this;
  }

  /**
   * Saves `address` under `name` and trusts its identity key for that contact (the address the
   * user typed is the root of trust). Throws INVALID_NAME, INVALID_ADDRESS (with `reason`: the
   * AddressError code such as BAD_CHECKSUM or WRONG_NETWORK, or OWN_ADDRESS), CONTACT_EXISTS
   * (the name, or the same identity key under another name).
   */
  addContact(name: string, address: string): Promise<Contact> {
    return this.book.add(name, address);
  }

  /**
   * Replaces a contact's address. Same identity key: her relay hints are updated. A different
   * key is recorded as a pending change and CONTACT_KEY_CHANGED is thrown (with `change`):
   * compare fingerprints with her, then trustContact(name). Also UNKNOWN_CONTACT, INVALID_ADDRESS.
   */
  updateContact(name: string, address: string): Promise<Contact> {
    return this.book.update(name, address);
  }

  /** Every contact, by name. */
  contacts(): Contact[] {
    return this.book.all();
  }

  /** One contact by name (case-insensitive). Throws UNKNOWN_CONTACT. */
  contact(name: string): Contact {
    return this.book.get(name);
  }

  /**
   * The contact, only if her identity key is the trusted one: what sending uses. Throws
   * CONTACT_KEY_CHANGED (with `change`) while a changed key awaits trustContact, UNKNOWN_CONTACT.
   */
  trustedContact(name: string): Contact {
    return this.book.trusted(name);
  }

  /**
   * Accepts a contact's changed identity key (after comparing fingerprints with her). Her old
   * sessions are dropped; her address becomes the new one. Throws NO_KEY_CHANGE, UNKNOWN_CONTACT.
   */
  trustContact(name: string): Promise<Contact> {
    return this.book.trust(name);
  }

  /**
   * Translates a session failure about a contact into the client's terms (IDENTITY_KEY_CHANGED
   * becomes CONTACT_KEY_CHANGED); other errors are returned unchanged.
   */
  explainSessionError(err: unknown): unknown {
    return this.book.explainSessionError(err);
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
    const purposes = purposesOf(this.ctx, (key) => this.p.store.contact(key)?.name);
    return this.p.wallet
      .history()
      .filter((h) => h.state !== 'abandoned')
      .map((h) => ({ ...h, purposes: purposes.get(h.txid) ?? [h.sent > 0 ? { kind: 'send' as const, to: this.p.wallet.payees(h.txid) } : { kind: 'receive' as const }] }));
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
    // The Signal stores' last commits (and their commit worker) finish before the file closes.
    return Promise.allSettled([this.watchers.stop(), this.stores.close()]).then(closeAll);
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
      return await sendMessage(this.ctx, this.book.row(contact.name), content, o);
    } catch (err) {
      throw this.explainSessionError(err);
    }
  }

  /**
   * The price of a send before it is made (./preview.ts): the quotes, the relay a send would
   * choose, channel or chain, price + funding fee. Pays, stores and encrypts nothing. Throws as
   * send does before its deposit (CONTACT_KEY_CHANGED, NO_ACCEPTABLE_QUOTE, INSUFFICIENT_FUNDS, ...).
   */
  async previewSend(contactName: string, content: SendContent, o: Omit<SendOptions, 'again'> = {}): Promise<SendPreview> {
    return previewSend(this.ctx, this.book.row(this.trustedContact(contactName).name), content, o);
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
      // A full id: the refresh stops once that message is in (a prefix may match several: it asks everywhere).
      const until = /^[0-9a-f]{64}$/i.test(id) ? { until: id.toLowerCase() } : {};
      await refreshStored(this.ctx, { ...(o.signal ? { signal: o.signal } : {}), ...until });
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
  watch(o: WatchOptions = {}): AsyncGenerator<InboxEntry> {
    this.assertOpen();
    return watchInbox(this.ctx, o, {
      syncChannels: () => this.syncChannels(),
      channelRelay: (id) => this.ctx.channels.get(id).relay,
      closed: () => this.closed,
    });
  }

  /** watch(), watched again after a pause whenever it ends on its own or on a relay's passing trouble, until `signal` aborts (./follow.ts). */
  follow(o: FollowOptions = {}): AsyncGenerator<InboxEntry> {
    this.assertOpen();
    return follow((w) => this.watch(w), o);
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
    await this.watchers.poll();
    const channels = await this.syncChannels(o);
    this.watchers.settleFromBook();
    return { sends, channels };
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
      this.watchers.settleFromBook();
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
      out.push({ id: r.id, settled: r.result?.settled.length ?? 0, failed: r.result?.failed.length ?? 0, ...(r.error !== undefined ? { error: r.error } : {}) });
    }
    return out;
  }

  /** Channel status changes and watcher problems (listeners added here see both watchers' passes). */
  onChannelEvent(event: 'status', fn: (e: ChannelStatusChange) => void): () => void;
  onChannelEvent(event: 'problem', fn: (e: ChannelProblem) => void): () => void;
  onChannelEvent(event: 'status' | 'problem', fn: (e: never) => void): () => void {
    this.watchers.channelEvents.on(event, fn as (e: unknown) => void);
    return () => this.watchers.channelEvents.off(event, fn as (e: unknown) => void);
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
    await this.watchers.poll();
  }

  /** Starts the contract and channel watchers once (./watchers.ts). */
  private startWatcher(signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    signal?.throwIfAborted();
    return this.watchers.start();
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

