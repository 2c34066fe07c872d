/**
 * The one Client the app fronts: created (first run), unlocked, locked; while unlocked it
 * watches the user's tags and forwards the SDK's events (src/client/events.ts) to every
 * connected page. No polling: the watch's subscriptions and the client's events drive it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, ClientError, type BookImport, type ClientInitOptions, type FollowPause, type InboxEntry, type SendOptions, type SentMessage } from '../client/index.ts';
import type { RelayChange } from '../client/client.ts';
import type { NetworkName } from '../core/network.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import { SatpostError } from '../core/errors.ts';
import { AppError } from './errors.ts';

export interface AppOptions {
  /** The user's data directory (created at first run). */
  dataDir: string;
  /** Network of a first run; default regtest. */
  network?: NetworkName;
  /** Esplora API root: saved at first run, an override for this session after. */
  chainUrl?: string;
  /** Relays offered at first run. */
  relays?: string[];
  /** Passphrase hardening of a first run (tests and the playground use a cheaper one on regtest). */
  scrypt?: ScryptParams;
  /** The devnet whose /dev/faucet the "get test coins" button asks (regtest only); default the chain URL. */
  faucetUrl?: string;
  /** Coins one press of the faucet button asks for. */
  faucetSats?: number;
}

/** What a page hears over the socket. */
export type AppEvent =
  | { type: 'state'; state: AppStatus }
  | { type: 'outbox'; id: string; state: string; detail?: string }
  | { type: 'inbox'; id: string; state: string; fresh: boolean }
  | { type: 'balance' }
  | { type: 'channel'; id: string; status: string }
  | { type: 'problem'; relay: string; code: string; message: string };

export type AppStatus = 'new' | 'locked' | 'unlocked';

/** Where a new identity's prekeys went. */
type Published = { url: string; error?: { code: string; message: string } }[];

export const DEFAULT_FAUCET_SATS = 100_000;
const OUTBOX_REFRESH_MS = 2_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** A JSON-safe view of an error (the page turns the code into a sentence: web/src/errors.ts). */
export function errorView(err: unknown): { code: string; message: string } {
  if (err instanceof SatpostError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: String((err as Error)?.message ?? err) };
}

export class AppState {
  private client: Client | undefined;
  private watching: AbortController | undefined;
  private readonly listeners = new Set<(e: AppEvent) => void>();
  private unsubscribe: (() => void) | undefined;

  constructor(readonly o: AppOptions) {}

  status(): AppStatus {
    if (this.client) return 'unlocked';
    return existsSync(join(this.o.dataDir, 'config.json')) ? 'locked' : 'new';
  }

  onEvent(fn: (e: AppEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: AppEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  /** The unlocked client; LOCKED otherwise. */
  get c(): Client {
    if (!this.client) throw new AppError(this.status() === 'new' ? 'NOT_INITIALIZED' : 'LOCKED', this.status() === 'new' ? 'no identity yet: create one first' : 'the app is locked: unlock it with your passphrase');
    return this.client;
  }

  async init(passphrase: string, relays: string[]): Promise<{ mnemonic: string; published: Published }> {
    if (this.client) throw new AppError('ALREADY_UNLOCKED', 'an identity is already open');
    const { client, mnemonic } = await Client.init(this.initOptions(passphrase, relays));
    return { mnemonic, published: await this.started(client, relays) };
  }

  /** First run from a recovery phrase (and an address book file of its wallet): Client.restore. */
  async restore(passphrase: string, relays: string[], mnemonic: string, addressBook?: Uint8Array): Promise<{ imported?: BookImport; published: Published }> {
    if (this.client) throw new AppError('ALREADY_UNLOCKED', 'an identity is already open');
    const { client, imported } = await Client.restore({ ...this.initOptions(passphrase, relays), mnemonic, ...(addressBook ? { addressBook } : {}) });
    return { ...(imported ? { imported } : {}), published: await this.started(client, relays) };
  }

  private initOptions(passphrase: string, relays: string[]): ClientInitOptions {
    return {
      dir: this.o.dataDir,
      passphrase,
      network: this.o.network ?? 'regtest',
      relays,
      ...(this.o.chainUrl !== undefined ? { chainUrl: this.o.chainUrl } : {}),
      ...(this.o.scrypt ? { scrypt: this.o.scrypt } : {}),
    };
  }

  /** A new identity served: its prekeys published at its relays (a relay down is reported, not thrown). */
  private async started(client: Client, relays: string[]): Promise<Published> {
    this.attach(client);
    let published: Published = [];
    try {
      const r = await client.publish();
      published = r.relays.map((p) => ({ url: p.url, ...(p.error ? { error: errorView(p.error) } : {}) }));
    } catch (err) {
      published = relays.map((url) => ({ url, error: errorView(err) }));
    }
    return published;
  }

  async unlock(passphrase: string): Promise<void> {
    if (this.client) return;
    const client = await Client.open({ dir: this.o.dataDir, passphrase, ...(this.o.chainUrl !== undefined ? { chainUrl: this.o.chainUrl } : {}) });
    this.attach(client);
  }

  async lock(): Promise<void> {
    const c = this.client;
    if (!c) return;
    this.client = undefined;
    this.watching?.abort();
    this.watching = undefined;
    this.unsubscribe?.();
    await c.close();
    this.emit({ type: 'state', state: this.status() });
  }

  /** Serves a client opened elsewhere (the playground's preset identities). */
  adopt(client: Client): void {
    if (this.client) throw new AppError('ALREADY_UNLOCKED', 'an identity is already open');
    this.attach(client);
  }

  private attach(client: Client): void {
    this.client = client;
    const ev = client.events;
    const outbox = (e: { id: string; state: string; detail?: string }) => this.emit({ type: 'outbox', ...e });
    const inbox = (e: { id: string; state: string; fresh: boolean }) => this.emit({ type: 'inbox', ...e });
    const balance = () => this.emit({ type: 'balance' });
    const channel = (e: { id: string; to: string }) => this.emit({ type: 'channel', id: e.id, status: e.to });
    ev.on('outbox', outbox);
    ev.on('inbox', inbox);
    ev.on('balance', balance);
    ev.on('channel', channel);
    this.unsubscribe = () => {
      ev.off('outbox', outbox);
      ev.off('inbox', inbox);
      ev.off('balance', balance);
      ev.off('channel', channel);
    };
    this.emit({ type: 'state', state: 'unlocked' });
    this.startWatch(client);
  }

  /** Follows the user's tags while unlocked (relays that drop are watched again); a watch that fails for good is reported and started again by the next relay-touching request. */
  private startWatch(client: Client): void {
    if (this.watching || client.relays.length === 0) return;
    const ac = new AbortController();
    this.watching = ac;
    const problem = (relay: string, err: unknown) => this.emit({ type: 'problem', relay, ...errorView(err) });
    // The relay tells no sender when her recipient-pays message is paid for: while one waits,
    // its relay's listing is asked every OUTBOX_REFRESH_MS (refreshOutbox; the state change is
    // then an 'outbox' event like any other).
    let refreshing = false;
    const timer = setInterval(() => {
      // refreshOutbox asks no relay when no recipient-pays message waits (and builds no message views).
      if (refreshing) return;
      refreshing = true;
      client.refreshOutbox({ signal: ac.signal }).then(
        (ps) => { for (const p of ps) problem(p.relay, p.error); },
        (err: unknown) => { if (!ac.signal.aborted) problem('', err); },
      ).finally(() => (refreshing = false));
    }, OUTBOX_REFRESH_MS);
    timer.unref();
    ac.signal.addEventListener('abort', () => clearInterval(timer));
    void (async () => {
      try {
        // Entries arrive through client.events ('inbox'); the loop only keeps the watch open.
        // A relay that drops or cannot be reached is watched again by follow() (1 s doubling to
        // RETRY_MAX_MS); the page hears of the first failure of a run of them.
        const onPause = (p: FollowPause) => { if (p.why === 'trouble' && p.pauseMs === RETRY_MIN_MS) problem('', p.error); };
        for await (const _entry of client.follow({ signal: ac.signal, onProblem: problem, onPause, minPauseMs: RETRY_MIN_MS, maxPauseMs: RETRY_MAX_MS }));
      } catch (err) {
        // Not the relays' passing trouble (e.g. the client closed): reported; rewatch() starts again on the next request that reaches relays.
        if (!ac.signal.aborted) problem('', err);
      } finally {
        clearInterval(timer);
        if (this.watching === ac) this.watching = undefined;
      }
    })();
  }

  /**
   * Adds or removes one of the user's relays (Client.addRelay / removeRelay: checked, saved,
   * prekeys published at the new set), then follows the new set: the watch starts again, and
   * the page hears 'state' to read the new relays and address.
   */
  async changeRelay(change: 'add' | 'remove', url: string): Promise<RelayChange> {
    const c = this.c;
    const out = change === 'add' ? await c.addRelay(url) : await c.removeRelay(url);
    this.watching?.abort();
    this.watching = undefined;
    this.startWatch(c);
    this.emit({ type: 'state', state: 'unlocked' });
    return out;
  }

  /** Starts the watch again if it stopped (called before requests that reach relays). */
  rewatch(): void {
    if (this.client) this.startWatch(this.client);
  }

  async close(): Promise<void> {
    await this.lock();
  }

  // ---- views ---------------------------------------------------------------------------

  info(): Record<string, unknown> {
    const status = this.status();
    if (!this.client) return { state: status, network: this.o.network ?? 'regtest', defaultRelays: this.o.relays ?? [], faucet: this.faucetUrl() !== undefined };
    const c = this.client;
    return {
      state: status, network: c.network, address: c.address(), fingerprint: c.fingerprint(), relays: c.relays, chainUrl: c.chainUrl,
      faucet: this.faucetUrl() !== undefined,
    };
  }

  faucetUrl(): string | undefined {
    const net = this.client?.network ?? this.o.network ?? 'regtest';
    if (net !== 'regtest') return undefined;
    return this.o.faucetUrl ?? this.client?.chainUrl ?? this.o.chainUrl;
  }

  async faucet(): Promise<{ txid: string; sats: number }> {
    const url = this.faucetUrl();
    if (url === undefined) throw new AppError('NO_FAUCET', 'test coins exist only on the devnet');
    const sats = this.o.faucetSats ?? DEFAULT_FAUCET_SATS;
    const address = this.c.walletAddress();
    let res: Response;
    try {
      res = await fetch(`${url.replace(/\/+$/, '')}/dev/faucet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address, sats }) });
    } catch (cause) {
      throw new AppError('NO_FAUCET', `the devnet at ${url} cannot be reached`, { cause });
    }
    const body = (await res.json().catch(() => ({}))) as { txid?: string; error?: { message?: string } };
    if (!res.ok || typeof body.txid !== 'string') throw new AppError('NO_FAUCET', `the devnet faucet refused: ${body.error?.message ?? res.status}`);
    await this.c.sync();
    this.emit({ type: 'balance' });
    return { txid: body.txid, sats };
  }

  /** Conversations: every contact (and unknown sender) with its messages, both directions, oldest first. */
  conversations(): { contacts: ReturnType<Client['contacts']>; sent: (Omit<SentMessage, 'content'> & { text?: string; at: number })[]; received: InboxEntry[] } {
    const c = this.c;
    // The outbox keeps what the user wrote (encrypted at rest with the rest of client.sqlite).
    // A file's bytes stay here: the page shows its name.
    const textOf = (x: SentMessage['content']) => (x?.kind === 'text' ? x.text : x ? `file "${x.name}"` : undefined);
    const sent = c.outbox().map(({ content, ...m }) => {
      const text = textOf(content);
      return { ...m, at: m.createdAt, ...(text !== undefined ? { text } : {}) };
    });
    return { contacts: c.contacts(), sent, received: c.storedInbox() };
  }

  async send(to: string, text: string, o: SendOptions): Promise<SentMessage> {
    this.rewatch();
    return this.c.send(to, { text }, o);
  }
}

/** Input of the API, checked: a string field. */
export function str(body: Record<string, unknown>, key: string, max = 100_000): string {
  const v = body[key];
  if (typeof v !== 'string' || v.length > max) throw new AppError('BAD_REQUEST', `"${key}" expected a string`);
  return v;
}

export function int(body: Record<string, unknown>, key: string, dflt?: number): number {
  const v = body[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new AppError('BAD_REQUEST', `"${key}" expected a whole number`);
  return v;
}

export { ClientError };
