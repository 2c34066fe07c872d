// A real relay on 127.0.0.1:0 over a real in-process devnet chain, and a small client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import WebSocket from 'ws';
import { IdentityKeyPair, type PrivateKey } from '@signalapp/libsignal-client';
import { Devnet } from '../../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { buildContractScript, contractScriptPubKey, type ContractTerms } from '../../src/contracts/index.ts';
import {
  DepositCodec, OfferCodec, PaymentNoticeCodec, QuoteCodec, ReceiptCodec, tagOfSecret,
  type Deposit, type Offer, type PaymentMode, type Quote, type Receipt,
} from '../../src/core/objects/index.ts';
import { finish, DEFAULTS, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle, type RelayOverrides } from '../../src/relay/daemon.ts';
import { FRAME_HEADER, frame } from '../../src/core/wire/stream.ts';
import type { PrekeyBundle } from '../../src/core/objects/prekey-bundle.ts';
import { signPrekeyPublish } from '../../src/identity/prekey-publish.ts';
import { PrekeyPublishCodec, type PrekeyPublish } from '../../src/core/objects/prekey-publish.ts';
import { Wallet } from '../../src/wallet/index.ts';
import { openPartyDb } from '../../src/watch/index.ts';
import Database from 'better-sqlite3-multiple-ciphers';
import { keyStatements } from '../../src/store/sqlite.ts';
import { openRelayDataKey } from '../../src/relay/wallet.ts';

export const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
/** A cheap passphrase KDF for test wallets (the default costs about a second). */
export const LIGHT_SCRYPT = { log2N: 10, r: 8, p: 1 };
export const OCTET = { 'content-type': 'application/octet-stream' };

export interface TestRelay extends RelayHandle {
  dir: string;
  devnet: Devnet;
  clock: { t: number };
  close(): Promise<void>;
}

/** A relay with a controllable clock (clock.t, ms) on a fresh in-memory devnet. */
export async function testRelay(overrides: Partial<RelayConfig> = {}, o: RelayOverrides = {}): Promise<TestRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-'));
  const devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
  const clock = { t: Date.now() };
  const config = finish({ ...DEFAULTS, port: 0, dataDir: dir, rateLimitBurst: 0, logLevel: 'silent', ...overrides });
  const relay = await startRelay(config, {
    backend: new DevnetBackend(devnet),
    walletScrypt: LIGHT_SCRYPT,
    log: pino({ level: 'silent' }),
    now: () => clock.t,
    ...o,
  });
  return {
    ...relay, dir, devnet, clock,
    async close() {
      await relay.stop();
      devnet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestPayer {
  wallet: Wallet;
  /** A fresh contract key of the wallet (33 bytes). */
  key: Uint8Array;
  close(): void;
}

/** A wallet on the relay's devnet (party file in `dir`) with one confirmed 200,000-sat coin and a fresh contract key. */
export async function testPayer(relay: TestRelay, dir: string, name: string): Promise<TestPayer> {
  const db = openPartyDb(join(dir, `${name}.sqlite`));
  const wallet = Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend: new DevnetBackend(relay.devnet), scrypt: LIGHT_SCRYPT });
  relay.devnet.faucet(wallet.newReceiveAddress().script, 200_000);
  relay.devnet.mine(1);
  await wallet.sync();
  return { wallet, key: wallet.contractKey(wallet.nextContractKeyIndex()).pubkey33, close: () => { wallet.close(); db.close(); } };
}

/** Funds the contract of `terms` with `amount` (broadcast, unconfirmed): its outpoint and script. */
export async function fundContract(p: TestPayer, terms: ContractTerms, amount: number): Promise<{ txid: string; vout: number; script: Uint8Array }> {
  const script = buildContractScript(terms);
  const tx = await p.wallet.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount }], feeRate: 2 });
  await p.wallet.broadcast(tx.txid);
  return { txid: tx.txid, vout: 0, script };
}

/**
 * A recipient as the relay sees one: an identity key pair (for prekeys) and a tag with its
 * secret. `mailbox` is that tag (named for the per-user mailbox it stands in for): deposits go under it, and
 * whoever holds `secret` may fetch them.
 */
export interface Identity {
  pair: IdentityKeyPair;
  identityKey: Uint8Array;
  secret: Uint8Array;
  mailbox: Uint8Array;
}

export function newIdentity(): Identity {
  const pair = IdentityKeyPair.generate();
  const identityKey = pair.publicKey.serialize();
  const secret = rnd(32);
  return { pair, identityKey, secret, mailbox: tagOfSecret(secret) };
}

export function offer(mailbox: Uint8Array, size: number, extra: Partial<Offer> = {}): Offer {
  return { offerId: rnd(16), tag: mailbox, mode: 'recipient-pays' as PaymentMode, size, maxFee: 100_000, retentionSecs: 3600, createdAt: Date.now(), ...extra };
}

export async function errorOf(res: Response): Promise<{ status: number; code: string; body: Record<string, unknown> }> {
  const body = (await res.json()) as { error: Record<string, unknown> & { code: string } };
  return { status: res.status, code: body.error.code, body: body.error };
}

export async function postQuote(url: string, o: Offer): Promise<Response> {
  return fetch(`${url}/v1/quote`, { method: 'POST', headers: OCTET, body: Buffer.from(OfferCodec.encode(o)) });
}

export async function getQuote(url: string, o: Offer): Promise<Quote> {
  const res = await postQuote(url, o);
  if (res.status !== 200) throw new Error(`quote refused: ${res.status} ${await res.text()}`);
  return QuoteCodec.decode(new Uint8Array(await res.arrayBuffer()));
}

export function depositFor(q: Quote, body = rnd(q.size), extra: Partial<Deposit> = {}): Deposit {
  return { quoteId: q.quoteId, tag: q.tag, sealedHeader: rnd(200), body, hr: undefined, funding: undefined, ...extra };
}

export async function postDeposit(url: string, d: Deposit): Promise<Response> {
  return fetch(`${url}/v1/deposit`, { method: 'POST', headers: OCTET, body: Buffer.from(DepositCodec.encode(d)) });
}

export async function deposit(url: string, d: Deposit): Promise<Receipt> {
  const res = await postDeposit(url, d);
  if (res.status !== 200) throw new Error(`deposit refused: ${res.status} ${await res.text()}`);
  return ReceiptCodec.decode(new Uint8Array(await res.arrayBuffer()));
}

/** POST /v1/tags/list for these tags (default: `who`'s tag), with an optional query string. */
export function listTags(url: string, tags: Uint8Array[], query = ''): Promise<Response> {
  return fetch(`${url}/v1/tags/list${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tags: tags.map((t) => Buffer.from(t).toString('hex')) }) });
}

/** POST /v1/tags/message for message `id` with a tag secret (default: `who`'s). */
export function fetchTagged(url: string, secret: Uint8Array, id: Uint8Array | string): Promise<Response> {
  const idHex = typeof id === 'string' ? id : Buffer.from(id).toString('hex');
  return fetch(`${url}/v1/tags/message?id=${idHex}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: Buffer.from(secret).toString('hex') }) });
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The relay's node key, from its information document (what a PrekeyPublish names). */
export async function relayIdOf(url: string): Promise<Uint8Array> {
  return new Uint8Array(Buffer.from(((await (await fetch(`${url}/.well-known/satpost`)).json()) as { relayId: string }).relayId, 'hex'));
}

/** A PrekeyPublish of `bundle` for relay `relayId` signed by `identityKey`: now and a random nonce unless told. */
export function signedPublish(bundle: PrekeyBundle, relayId: Uint8Array, identityKey: PrivateKey, fresh: { timestamp?: number; nonce?: Uint8Array } = {}): PrekeyPublish {
  return signPrekeyPublish(bundle, relayId, { timestamp: fresh.timestamp ?? Date.now(), nonce: fresh.nonce ?? rnd(16) }, identityKey);
}

/** POST /v1/prekeys with these bytes (a PrekeyPublish, or anything an attacker sends). */
export function postPrekeys(url: string, body: Uint8Array | PrekeyPublish): Promise<Response> {
  const bytes = body instanceof Uint8Array ? body : PrekeyPublishCodec.encode(body);
  return fetch(`${url}/v1/prekeys`, { method: 'POST', headers: OCTET, body: Buffer.from(bytes) });
}

/** A WebSocket stream client: request(op, payload) resolves {status, payload}; events go to onEvent. */
export class StreamClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: { status: number; payload: Uint8Array }) => void>();
  readonly events: { id: number; payload: Uint8Array }[] = [];
  private eventWaiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const id = data.readUInt32BE(0);
      const status = data[4]!;
      const payload = new Uint8Array(data.subarray(FRAME_HEADER));
      if (status === 2) {
        this.events.push({ id, payload });
        for (const w of this.eventWaiters.splice(0)) w();
        return;
      }
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.({ status, payload });
    });
  }

  static open(url: string): Promise<StreamClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new StreamClient(ws)));
      ws.once('error', reject);
    });
  }

  request(op: number, payload: Uint8Array): Promise<{ status: number; payload: Uint8Array }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(frame(id, op, payload));
    });
  }

  async nextEvent(): Promise<{ id: number; payload: Uint8Array }> {
    while (this.events.length === 0) await new Promise<void>((r) => this.eventWaiters.push(r));
    return this.events.shift()!;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** A relay whose data directory outlives it: start() again after stop() is a restart. */
export class RelaySite {
  readonly dir = mkdtempSync(join(tmpdir(), 'satpost-relay-site-'));
  readonly devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
  readonly backend = new DevnetBackend(this.devnet);
  readonly config: RelayConfig = finish({ ...DEFAULTS, port: 0, dataDir: join(this.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent' });
  /** The relay's clock (ms): held still, so no rate-limit token refills during a test. */
  readonly clock = { t: Date.now() };
  relay: RelayHandle | undefined;
  private readonly closers: (() => void)[] = [];

  async start(): Promise<RelayHandle> {
    this.relay = await startRelay(this.config, { backend: this.backend, walletScrypt: LIGHT_SCRYPT, log: pino({ level: 'silent' }), now: () => this.clock.t });
    return this.relay;
  }

  async stop(): Promise<void> {
    await this.relay?.stop();
    this.relay = undefined;
  }

  /** A payer wallet with one confirmed coin and a fresh contract key. */
  async payer(name: string): Promise<{ wallet: Wallet; key: Uint8Array }> {
    const db = openPartyDb(join(this.dir, `${name}.sqlite`));
    const wallet = Wallet.create({ db, passphrase: 'pw', network: 'regtest', backend: this.backend, scrypt: LIGHT_SCRYPT });
    this.closers.push(() => { wallet.close(); db.close(); });
    this.devnet.faucet(wallet.newReceiveAddress().script, 200_000);
    this.devnet.mine(1);
    await wallet.sync();
    return { wallet, key: wallet.contractKey(wallet.nextContractKeyIndex()).pubkey33 };
  }

  async fund(wallet: Wallet, terms: ContractTerms, amount: number): Promise<{ txid: string; vout: number }> {
    const tx = await wallet.createTransaction({ outputs: [{ script: contractScriptPubKey(buildContractScript(terms)), amount }], feeRate: 2 });
    await wallet.broadcast(tx.txid);
    return { txid: tx.txid, vout: 0 };
  }

  unlock(body: unknown): Promise<Response> {
    return fetch(`${this.relay!.url}/v1/unlock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  notice(n: Parameters<typeof PaymentNoticeCodec.encode>[0]): Promise<Response> {
    return fetch(`${this.relay!.url}/v1/unlock`, { method: 'POST', headers: OCTET, body: Buffer.from(PaymentNoticeCodec.encode(n)) });
  }

  async close(): Promise<void> {
    await this.stop();
    for (const c of this.closers) c();
    this.devnet.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One of a relay's databases opened as another process would (an operator's own tools): keyed
 * with the data key of `dataDir`, unlocked by `passphrase` ('' = the generated wallet-passphrase).
 */
export function openRelayFile(dataDir: string, file: string, o: { passphrase?: string; readonly?: boolean } = {}): Database.Database {
  const { key } = openRelayDataKey(finish({ ...DEFAULTS, dataDir, passphrase: o.passphrase ?? '' }), { log: pino({ level: 'silent' }) });
  const db = new Database(join(dataDir, file), { readonly: o.readonly ?? false });
  for (const sql of keyStatements(key)) db.exec(sql);
  return db;
}
