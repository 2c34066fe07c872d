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
import {
  DepositCodec, MailboxAuthCodec, OfferCodec, QuoteCodec, ReceiptCodec, mailboxAuthBytes, mailboxIdOf,
  type Deposit, type MailboxOperation, type Offer, type PaymentMode, type Quote, type Receipt,
} from '../../src/core/objects/index.ts';
import { finish, DEFAULTS, type RelayConfig } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle, type RelayOverrides } from '../../src/relay/daemon.ts';
import { FRAME_HEADER, frame } from '../../src/relay/wire.ts';
import type { PrekeyBundle } from '../../src/identity/bundle.ts';
import { PrekeyPublishCodec, signPrekeyPublish, type PrekeyPublish } from '../../src/identity/prekey-publish.ts';

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

export interface Identity {
  pair: IdentityKeyPair;
  identityKey: Uint8Array;
  mailbox: Uint8Array;
}

export function newIdentity(): Identity {
  const pair = IdentityKeyPair.generate();
  const identityKey = pair.publicKey.serialize();
  return { pair, identityKey, mailbox: mailboxIdOf(identityKey) };
}

export function offer(mailbox: Uint8Array, size: number, extra: Partial<Offer> = {}): Offer {
  return { offerId: rnd(16), mailbox, mode: 'recipient-pays' as PaymentMode, size, maxFee: 100_000, retentionSecs: 3600, createdAt: Date.now(), ...extra };
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
  return { quoteId: q.quoteId, mailbox: q.mailbox, sealedHeader: rnd(200), body, hr: undefined, funding: undefined, ...extra };
}

export async function postDeposit(url: string, d: Deposit): Promise<Response> {
  return fetch(`${url}/v1/deposit`, { method: 'POST', headers: OCTET, body: Buffer.from(DepositCodec.encode(d)) });
}

export async function deposit(url: string, d: Deposit): Promise<Receipt> {
  const res = await postDeposit(url, d);
  if (res.status !== 200) throw new Error(`deposit refused: ${res.status} ${await res.text()}`);
  return ReceiptCodec.decode(new Uint8Array(await res.arrayBuffer()));
}

/** A signed MailboxAuth for `operation` at the relay at `url` (its own relayId unless told) over a fresh challenge from it. */
export async function auth(
  url: string, who: Identity, operation: MailboxOperation, opts: { timestamp?: number; challenge?: Uint8Array; relayId?: Uint8Array } = {},
): Promise<Uint8Array> {
  let challenge = opts.challenge;
  if (challenge === undefined) {
    const res = await fetch(`${url}/v1/mailbox/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mailbox: Buffer.from(who.mailbox).toString('hex') }) });
    if (res.status !== 200) throw new Error(`challenge refused: ${res.status} ${await res.text()}`);
    challenge = new Uint8Array(Buffer.from(((await res.json()) as { challenge: string }).challenge, 'hex'));
  }
  return signAuth(who, { challenge, relayId: opts.relayId ?? (await relayIdOf(url)), operation }, opts.timestamp ?? Date.now());
}

export function signAuth(who: Identity, login: { challenge: Uint8Array; relayId: Uint8Array; operation: MailboxOperation }, timestamp: number, mailbox = who.mailbox): Uint8Array {
  const signature = who.pair.privateKey.sign(mailboxAuthBytes({ mailbox, ...login, timestamp }) as Uint8Array<ArrayBuffer>);
  return MailboxAuthCodec.encode({ mailbox, identityKey: who.identityKey, ...login, timestamp, signature });
}

/** Where the challenge sits in an encoded MailboxAuth (tag, version, mailbox, identityKey, relayId, operation before it). */
export const AUTH_CHALLENGE_AT = 2 + 32 + 33 + 32 + 1;

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
