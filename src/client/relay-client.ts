/**
 * A typed client of one relay's API (docs/relay-api.md): the information document, quotes
 * (direct, or gathered from the relay network by POST /v1/offer), deposits, prekey bundles,
 * paged listing by tag + fetch with a tag secret, unlock, and the WebSocket subscription.
 *
 * Every call takes an AbortSignal and has a timeout. A relay's refusal becomes a ClientError
 * whose code is the relay's own (FEE_TOO_LOW, MESSAGE_UNKNOWN, ...) with `relay` and the
 * refusal's extra fields in `details`; a relay that cannot be reached is RELAY_UNREACHABLE;
 * an answer that does not parse is BAD_RELAY_ANSWER. Nothing a relay answers is trusted here:
 * signatures and bindings are checked by the callers (./send.ts, ./inbox.ts).
 */
import { createRequire } from 'node:module';
import type WebSocket from 'ws';
import { hex } from '@scure/base';
import type { Codec } from '../core/codec.ts';
import {
  DepositCodec, OfferCodec, StandingTermsCodec, TagQueryCodec, PaymentNoticeCodec, QuoteCodec, ReceiptCodec,
  type Deposit, type StandingTerms, type Offer, type TagQuery, type PaymentMode, type PaymentNotice, type Quote, type Receipt,
} from '../core/objects/index.ts';
import { PrekeyBundleCodec, type PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { PrekeyPublishCodec, type PrekeyPublish } from '../core/objects/prekey-publish.ts';
import { CHANNEL_AUTH_HEADER, ChannelAuthCodec, type ChannelAuth } from '../channels/auth.ts';
import type { ChannelView } from '../core/wire/channel-view.ts';
import { compareListCursors, parseListCursor, type ListCursor } from '../core/wire/list-cursor.ts';
import { StoredMessageCodec, type StoredMessage } from '../core/objects/stored-message.ts';
import { FRAME_HEADER, OP, STATUS, frame } from '../core/wire/stream.ts';
import { ClientError, type ClientErrorCode } from './errors.ts';
import type { NetworkName } from '../core/network.ts';
import { DIRECT, type Transport } from '../net/transport.ts';
import { assertSecureRelayUrl } from './config.ts';

/** ws, loaded by the first subscription (`inbox --watch`, `read --wait`): a command that only lists and fetches never pays for it. */
let wsClass: typeof WebSocket | undefined;
const webSocket = (): typeof WebSocket => (wsClass ??= createRequire(import.meta.url)('ws') as typeof WebSocket);

const OCTET = 'application/octet-stream';
const JSON_TYPE = 'application/json';
/** Default time allowed for one request, ms. */
export const DEFAULT_RELAY_TIMEOUT_MS = 15_000;

/** The relay's view of a channel (GET /v1/channel/:id, and every update's answer): the fields the client uses. */
export type RelayChannelView = Pick<ChannelView, 'id' | 'status' | 'n' | 'relayBalance' | 'fundingConfirmed'>;

/** The parts of /.well-known/satpost the client uses (unknown fields are kept). */
export interface RelayInfo {
  relayId: string;
  url: string;
  network: string;
  acceptedModes: PaymentMode[];
  price: { baseSats: number; perBlockSats: number; perDaySats: number };
  limits: { maxMessageBytes: number; maxRetentionSecs: number };
  confirmations: number;
  lockBlocks: number;
  claimMarginBlocks: number;
  [key: string]: unknown;
}

/** One entry of POST /v1/tags/list, as the relay states it (unverified). */
export interface ListedEntry {
  id: string;
  /** The tag it was deposited under, hex. */
  tag: string;
  size: number;
  mode: PaymentMode;
  state: string;
  createdAt: number;
  expiresAt: number;
  amount?: number;
  [key: string]: unknown;
}

/** One page of POST /v1/tags/list; `next` (a cursor for `after`) only when more follow. */
export interface ListedPage {
  messages: ListedEntry[];
  next?: string;
}

/** Pages a client follows before it gives up on one relay's listing (100 × 1,000 entries). */
export const LIST_MAX_PAGES = 100;

export type UnlockAnswer =
  | { state: 'unlocked'; k: Uint8Array; claimTxid?: string }
  | { state: 'awaiting-confirmation' | 'awaiting-payment'; [key: string]: unknown };

export interface RelayClientOptions {
  timeoutMs?: number;
  /** How connections are made (direct or through a SOCKS5 proxy); default direct. */
  transport?: Transport;
  /**
   * The client's network: outside regtest a plain http/ws URL is refused before any connection
   * (INSECURE_RELAY_URL), except a .onion host through a proxy. Unset: no check (tools, tests).
   */
  network?: NetworkName;
}

export class RelayClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly transport: Transport;
  private readonly network: NetworkName | undefined;

  /** `url` in canonical form (trailing slash or not). */
  constructor(url: string, o: RelayClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS;
    this.transport = o.transport ?? DIRECT;
    this.network = o.network;
  }

  /** Connect-time guard: no login, deposit or query leaves over plain http outside regtest. */
  private assertSecure(url: string): void {
    if (this.network === undefined) return;
    try {
      assertSecureRelayUrl(url, this.network, this.transport.proxyUrl !== undefined);
    } catch (err) {
      (err as ClientError).relay = this.url;
      throw err;
    }
  }

  async info(signal?: AbortSignal): Promise<RelayInfo> {
    const info = await this.json<RelayInfo>('GET', '/.well-known/satpost', undefined, signal);
    if (typeof info?.relayId !== 'string' || !Array.isArray(info.acceptedModes)) throw this.bad('information document without relayId / acceptedModes');
    return info;
  }

  /** This relay's node key: its information document's relayId (asked each time: a URL may change hands). */
  async relayId(signal?: AbortSignal): Promise<Uint8Array> {
    const id = (await this.info(signal)).relayId;
    if (!/^[0-9a-f]{64}$/.test(id)) throw this.bad('"relayId" expected 64 lowercase hex characters in the information document');
    return hex.decode(id);
  }

  /** POST /v1/quote: this relay's own signed quote for the offer. */
  async quote(offer: Offer, signal?: AbortSignal): Promise<Quote> {
    return this.decode(QuoteCodec, await this.binary('POST', '/v1/quote', OfferCodec.encode(offer), signal));
  }

  /**
   * POST /v1/offer: quotes gathered over the relay network (may be empty), and how many of the
   * relays the entry relay expected to answer did not before its window closed (0 from a relay
   * that does not say). Undefined when the relay has no network (404 NOT_FOUND from an older
   * relay, or P2P_OFF): ask each relay with quote() instead.
   */
  async offerToNetwork(offer: Offer, signal?: AbortSignal): Promise<{ quotes: Quote[]; unanswered: number } | undefined> {
    try {
      const out = await this.jsonFromBinary<{ quotes?: unknown; expected?: unknown; answered?: unknown }>('/v1/offer', OfferCodec.encode(offer), signal);
      if (!Array.isArray(out.quotes)) throw this.bad('offer answer without "quotes"');
      const quotes = out.quotes.map((q) => this.decode(QuoteCodec, hexBytes(q, 'quote', this)));
      const counted = Number.isSafeInteger(out.expected) && Number.isSafeInteger(out.answered);
      return { quotes, unanswered: counted ? Math.max(0, (out.expected as number) - (out.answered as number)) : 0 };
    } catch (err) {
      if (ClientError.is(err, 'NOT_FOUND') || ClientError.is(err, 'P2P_OFF')) return undefined;
      throw err;
    }
  }

  /**
   * POST /v1/tags/query: the sealed answers of every relay of the network holding messages
   * under some of the query's tags (open each with the answer key, info satpost/v1/query-answer,
   * aad queryId, to a signed TagAnswer). Undefined when the relay has no network (NOT_FOUND, P2P_OFF).
   */
  async queryNetwork(q: TagQuery, signal?: AbortSignal): Promise<Uint8Array[] | undefined> {
    try {
      const out = await this.jsonFromBinary<{ answers?: unknown }>('/v1/tags/query', TagQueryCodec.encode(q), signal);
      if (!Array.isArray(out.answers)) throw this.bad('query answer without "answers"');
      return out.answers.map((a) => hexBytes(a, 'answer', this));
    } catch (err) {
      if (ClientError.is(err, 'NOT_FOUND') || ClientError.is(err, 'P2P_OFF')) return undefined;
      throw err;
    }
  }

  /**
   * GET /v1/lookup/prekeys/:mailbox: the signed LookupAnswer bytes of every relay of the
   * network that holds a prekey bundle for `mailbox` (unverified: check them with
   * openLookupAnswer, ./lookup.ts does). Undefined when the relay has no network.
   */
  lookupPrekeys(mailbox: Uint8Array, o: { lookupId: Uint8Array; hops?: number }, signal?: AbortSignal): Promise<Uint8Array[] | undefined> {
    return this.lookupAnswers(`/v1/lookup/prekeys/${hex.encode(mailbox)}`, o, signal);
  }

  /** GET /v1/lookup/relays: the signed relay-info answers of the network's relays (unverified). */
  lookupRelays(o: { lookupId: Uint8Array; hops?: number }, signal?: AbortSignal): Promise<Uint8Array[] | undefined> {
    return this.lookupAnswers('/v1/lookup/relays', o, signal);
  }

  private async lookupAnswers(path: string, o: { lookupId: Uint8Array; hops?: number }, signal?: AbortSignal): Promise<Uint8Array[] | undefined> {
    const params = `?id=${hex.encode(o.lookupId)}${o.hops !== undefined ? `&hops=${o.hops}` : ''}`;
    try {
      const out = await this.json<{ answers?: unknown }>('GET', path + params, undefined, signal);
      if (!Array.isArray(out.answers)) throw this.bad('lookup answer without "answers"');
      return out.answers.map((a) => hexBytes(a, 'answer', this));
    } catch (err) {
      if (ClientError.is(err, 'NOT_FOUND') || ClientError.is(err, 'P2P_OFF')) return undefined;
      throw err;
    }
  }

  /** POST /v1/deposit: the relay's receipt (not yet verified), and whether it was a repeat. */
  async deposit(d: Deposit, signal?: AbortSignal): Promise<{ receipt: Receipt; bytes: Uint8Array }> {
    const bytes = await this.binary('POST', '/v1/deposit', DepositCodec.encode(d), signal);
    return { receipt: this.decode(ReceiptCodec, bytes), bytes };
  }

  /** POST /v1/prekeys: the pool sizes the relay now holds for the bundle's mailbox. */
  async publishPrekeys(publish: PrekeyPublish, signal?: AbortSignal): Promise<{ oneTimePreKeys: number; kyberPreKeys: number }> {
    const out = await this.jsonFromBinary<{ oneTimePreKeys?: unknown; kyberPreKeys?: unknown }>('/v1/prekeys', PrekeyPublishCodec.encode(publish), signal);
    if (typeof out.oneTimePreKeys !== 'number' || typeof out.kyberPreKeys !== 'number') throw this.bad('prekeys answer without pool sizes');
    return { oneTimePreKeys: out.oneTimePreKeys, kyberPreKeys: out.kyberPreKeys };
  }

  /** GET /v1/prekeys/:mailbox: one sender's bundle (unverified; verifyBundle it). NO_BUNDLE if none. */
  async fetchPrekeys(mailbox: Uint8Array, signal?: AbortSignal): Promise<PrekeyBundle> {
    return this.decode(PrekeyBundleCodec, await this.binary('GET', `/v1/prekeys/${hex.encode(mailbox)}`, undefined, signal));
  }

  /**
   * POST /v1/tags/list: one page of the messages under `tags` (1..1024), oldest first; `after`
   * is the previous page's `next`, `limit` 1..1000 (the relay's default is 1000). `next` is
   * present iff more follow.
   */
  async listPage(tags: Uint8Array[], page: { after?: string; limit?: number } = {}, signal?: AbortSignal): Promise<ListedPage> {
    const params = new URLSearchParams();
    if (page.after !== undefined) params.set('after', page.after);
    if (page.limit !== undefined) params.set('limit', String(page.limit));
    const qs = params.toString();
    const out = await this.outdatedIf404(() => this.json<{ messages?: unknown; next?: unknown }>('POST', `/v1/tags/list${qs ? `?${qs}` : ''}`, { tags: tags.map((t) => hex.encode(t)) }, signal));
    if (!Array.isArray(out.messages)) throw this.bad('list answer without "messages"');
    const asked = new Set(tags.map((t) => hex.encode(t)));
    for (const m of out.messages as ListedEntry[]) {
      if (typeof m?.id !== 'string' || !/^[0-9a-f]{64}$/.test(m.id)) throw this.bad('list entry without a 64-hex id');
      if (typeof m.tag !== 'string' || !asked.has(m.tag)) throw this.bad('list entry under a tag that was not asked for');
    }
    const messages = out.messages as ListedEntry[];
    if (out.next === undefined) return { messages };
    if (typeof out.next !== 'string' || cursorOf(out.next) === undefined) throw this.bad(`list answer with a malformed "next": ${JSON.stringify(out.next)?.slice(0, 80)}`);
    if (messages.length === 0) throw this.bad('list answer with "next" after an empty page');
    return { messages, next: out.next };
  }

  /**
   * Every page of the listing of `tags`, in order, following `next`. A `next` that does not move
   * forward is BAD_RELAY_ANSWER; more than `maxPages` (default LIST_MAX_PAGES) pages is
   * TOO_MANY_PAGES, thrown after the pages before it were yielded. `after`: from after that
   * position (an earlier listing's cursor) instead of the oldest entry.
   */
  async *listAll(tags: Uint8Array[], o: { limit?: number; maxPages?: number; signal?: AbortSignal; after?: string } = {}): AsyncGenerator<ListedEntry[], void, undefined> {
    const maxPages = o.maxPages ?? LIST_MAX_PAGES;
    let after: string | undefined = o.after;
    for (let pages = 1; ; pages++) {
      const page = await this.listPage(tags, { ...(after !== undefined ? { after } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) }, o.signal);
      yield page.messages;
      if (page.next === undefined) return;
      if (after !== undefined && compareListCursors(cursorOf(page.next)!, cursorOf(after)!) <= 0) throw this.bad(`the listing cursor went from ${after} back to ${page.next}`);
      if (pages >= maxPages) {
        const err = new ClientError('TOO_MANY_PAGES', `relay ${this.url} lists more than ${maxPages} pages for these tags; the messages after ${page.next} were not listed`);
        err.relay = this.url;
        err.details = { pages: maxPages, next: page.next };
        throw err;
      }
      after = page.next;
    }
  }

  /**
   * A relay older than the tag routes answers them 404 NOT_FOUND: said as RELAY_OUTDATED, naming
   * the version, instead of an error that looks like a missing message or an empty inbox.
   */
  private async outdatedIf404<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!ClientError.is(err, 'NOT_FOUND')) throw err;
      const e = new ClientError('RELAY_OUTDATED', `relay ${this.url} has no /v1/tags routes: it runs satpost 0.1 (per-user mailboxes) or older; its operator must upgrade it to 0.2, or remove it from your relays`, { cause: err });
      e.relay = this.url;
      throw e;
    }
  }

  /** POST /v1/tags/message: message `id`, proving its tag with the tag's secret. */
  async fetchMessage(secret: Uint8Array, id: Uint8Array, signal?: AbortSignal): Promise<StoredMessage> {
    const res = await this.raw('POST', `/v1/tags/message?id=${hex.encode(id)}`, JSON_TYPE, JSON.stringify({ secret: hex.encode(secret) }), signal);
    return this.decode(StoredMessageCodec, res.body);
  }

  /** POST /v1/channel/key: a fresh relay key for a channel (shape unchecked: ./channels.ts checks it); `auth` by the payer key to use. */
  channelKey(auth: ChannelAuth, signal?: AbortSignal): Promise<{ keyIndex: number; relayPubkey: string }> {
    return this.json('POST', '/v1/channel/key', {}, signal, channelAuthHeader(auth));
  }

  /** POST /v1/channel/open: tells the relay of a funded channel. */
  channelOpen(body: { open: string; funding: string; keyIndex: number }, signal?: AbortSignal): Promise<unknown> {
    return this.json('POST', '/v1/channel/open', body, signal);
  }

  /** POST /v1/channel/update: one payer update (canonical channel message bytes). */
  channelUpdate(message: Uint8Array, signal?: AbortSignal): Promise<{ channel?: RelayChannelView; settle?: unknown }> {
    return this.jsonFromBinary('/v1/channel/update', message, signal);
  }

  /** GET /v1/channel/:id: the relay's view of a channel; `auth` by the channel's payer key. */
  channelView(id: string, auth: ChannelAuth, signal?: AbortSignal): Promise<RelayChannelView> {
    return this.json('GET', `/v1/channel/${id}`, undefined, signal, channelAuthHeader(auth));
  }

  /** GET /v1/channel/:id/terms: the relay's StandingTerms for the channel (unverified); `auth` by the channel's payer key. */
  async channelTerms(id: string, auth: ChannelAuth, signal?: AbortSignal): Promise<StandingTerms> {
    const out = await this.json<{ terms?: unknown }>('GET', `/v1/channel/${id}/terms`, undefined, signal, channelAuthHeader(auth));
    return this.decode(StandingTermsCodec, hexBytes(out?.terms, 'terms', this));
  }

  /** GET /v1/channel/:id/settles: the settles revealed and not yet acknowledged (hex). */
  channelSettles(id: string, signal?: AbortSignal): Promise<{ settles?: string[] }> {
    return this.json('GET', `/v1/channel/${id}/settles`, undefined, signal);
  }

  /** POST /v1/channel/:id/close: the relay's CloseRequest (hex); `auth` by the channel's payer key. */
  channelClose(id: string, auth: ChannelAuth, signal?: AbortSignal): Promise<{ closeRequest: string }> {
    return this.json('POST', `/v1/channel/${id}/close`, {}, signal, channelAuthHeader(auth));
  }

  /** Sender-pays: hands over the recipient's receipt secret r. */
  async unlockWithR(messageId: Uint8Array, r: Uint8Array, signal?: AbortSignal): Promise<UnlockAnswer> {
    return this.unlockAnswer(await this.raw('POST', '/v1/unlock', JSON_TYPE, JSON.stringify({ id: hex.encode(messageId), r: hex.encode(r) }), signal));
  }

  /** Recipient-pays: tells the relay where the payer funded HTLC(H(k)). */
  async unlockWithPayment(notice: PaymentNotice, signal?: AbortSignal): Promise<UnlockAnswer> {
    return this.unlockAnswer(await this.raw('POST', '/v1/unlock', OCTET, PaymentNoticeCodec.encode(notice), signal));
  }

  /**
   * Live subscription (WebSocket /v1/stream) to messages stored under `tags` from now on;
   * `onMessage` gets each one's id and tag. Resolves once subscribed; add() follows more tags
   * on the same connection (a window that moved); close() ends it; `signal` aborts it.
   */
  subscribe(
    tags: Uint8Array[],
    onMessage: (id: Uint8Array, tag: Uint8Array) => void,
    o: { signal?: AbortSignal; onClose?: (err?: unknown) => void } = {},
  ): Promise<{ close(): void; add(tags: Uint8Array[]): void }> {
    const wsUrl = `${this.url.replace(/^http/, 'ws')}/v1/stream`;
    try {
      this.assertSecure(wsUrl);
      if (tags.length === 0) throw new ClientError('BAD_REQUEST', 'subscribe needs at least one tag');
    } catch (err) {
      return Promise.reject(err);
    }
    const ws = new (webSocket())(wsUrl, this.transport.webSocketOptions(wsUrl));
    const encodeTags = (ts: Uint8Array[]) => Buffer.concat(ts.map((t) => Buffer.from(t)));
    let nextId = 1;
    const SUBSCRIBE_ID = nextId++;
    return new Promise((resolve, reject) => {
      let subscribed = false;
      const timer = setTimeout(() => fail(new ClientError('RELAY_UNREACHABLE', `${this.url}: no subscription within ${this.timeoutMs} ms`)), this.timeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        ws.terminate();
        if (!subscribed) reject(err);
      };
      const onAbort = () => {
        ws.close();
        if (!subscribed) fail(new ClientError('CANCELLED', 'subscription aborted'));
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      ws.on('error', (cause) => {
        if (!subscribed) fail(new ClientError('RELAY_UNREACHABLE', `${this.url}: ${cause.message}`, { cause }));
      });
      ws.on('close', (code: number) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if (subscribed) o.onClose?.();
        // Closed before the subscription was answered (a relay stopping): the caller hears of it, never waits on.
        else fail(new ClientError('RELAY_UNREACHABLE', `${this.url}: closed the connection (${code}) before subscribing`));
      });
      ws.on('open', () => ws.send(frame(SUBSCRIBE_ID, OP.subscribe, encodeTags(tags))));
      ws.on('message', (data: Buffer) => {
        if (data.length < FRAME_HEADER) return;
        const id = data.readUInt32BE(0);
        const status = data[4]!;
        const payload = new Uint8Array(data.subarray(FRAME_HEADER));
        if (status === STATUS.error) {
          // A later add() refused (e.g. too many tags) ends the subscription: the caller lists instead.
          if (subscribed) ws.close();
          fail(this.refusal(parseJson(payload)));
          return;
        }
        if (id === SUBSCRIBE_ID && status === STATUS.ok && !subscribed) {
          subscribed = true;
          clearTimeout(timer);
          resolve({
            close: () => ws.close(),
            add: (more) => {
              if (more.length > 0 && ws.readyState === ws.OPEN) ws.send(frame(nextId++, OP.subscribe, encodeTags(more)));
            },
          });
        } else if (status === STATUS.event && payload.length === 64) onMessage(payload.slice(0, 32), payload.slice(32));
      });
    });
  }

  private unlockAnswer(res: { status: number; body: Uint8Array }): UnlockAnswer {
    const out = parseJson(res.body) as { state?: unknown; k?: unknown };
    if (out.state === 'unlocked') {
      const claim = (out as { claimTxid?: unknown }).claimTxid;
      return { state: 'unlocked', k: hexBytes(out.k, 'k', this), ...(typeof claim === 'string' && /^[0-9a-f]{64}$/.test(claim) ? { claimTxid: claim } : {}) };
    }
    if (out.state === 'awaiting-confirmation' || out.state === 'awaiting-payment') return out as UnlockAnswer;
    throw this.bad(`unlock answer with state ${JSON.stringify(out.state)}`);
  }

  private decode<T>(c: Codec<T>, bytes: Uint8Array): T {
    try {
      return c.decode(bytes);
    } catch (cause) {
      throw new ClientError('BAD_RELAY_ANSWER', `${this.url} answered a malformed object: ${(cause as Error).message}`, { cause });
    }
  }

  private async binary(method: string, path: string, body: Uint8Array | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    return (await this.raw(method, path, body ? OCTET : undefined, body, signal)).body;
  }

  private async jsonFromBinary<T>(path: string, body: Uint8Array, signal?: AbortSignal): Promise<T> {
    return parseJson((await this.raw('POST', path, OCTET, body, signal)).body) as T;
  }

  private async json<T>(method: string, path: string, body: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<T> {
    const res = await this.raw(method, path, body === undefined ? undefined : JSON_TYPE, body === undefined ? undefined : JSON.stringify(body), signal, headers);
    return parseJson(res.body) as T;
  }

  /** One request; a non-2xx answer becomes the relay's typed refusal. */
  private async raw(
    method: string, path: string, type: string | undefined, body: Uint8Array | string | undefined, signal?: AbortSignal, extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; body: Uint8Array }> {
    this.assertSecure(this.url);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await this.transport.fetch(this.url + path, {
        method,
        headers: { ...(type ? { 'content-type': type } : {}), ...extraHeaders },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength) } : {}),
        signal: both,
      });
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (cause) {
      if (signal?.aborted) throw new ClientError('CANCELLED', `request to ${this.url} aborted`, { cause });
      const why = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : ((cause as Error).cause as Error | undefined)?.message ?? (cause as Error).message;
      const err = new ClientError('RELAY_UNREACHABLE', `cannot reach relay ${this.url}: ${why}`, { cause });
      err.relay = this.url;
      throw err;
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, body: bytes };
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw this.bad(`HTTP ${res.status} without a JSON error body`);
    }
    throw this.refusal(parsed, res.status);
  }

  private refusal(parsed: unknown, status?: number): ClientError {
    const e = (parsed as { error?: { code?: unknown; message?: unknown } & Record<string, unknown> })?.error;
    if (typeof e?.code !== 'string') return this.bad(`refusal${status ? ` (HTTP ${status})` : ''} without an error code`);
    const { code, message, ...details } = e;
    const err = new ClientError(code as ClientErrorCode, `relay ${this.url}: ${typeof message === 'string' ? message : code}`);
    err.relay = this.url;
    if (Object.keys(details).length > 0) err.details = details;
    return err;
  }

  private bad(what: string): ClientError {
    const err = new ClientError('BAD_RELAY_ANSWER', `relay ${this.url}: ${what}`);
    err.relay = this.url;
    return err;
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ClientError('BAD_RELAY_ANSWER', `expected a JSON answer: ${(cause as Error).message}`, { cause });
  }
}

function cursorOf(s: string): ListCursor | undefined {
  try {
    return parseListCursor(s);
  } catch {
    return undefined;
  }
}

function hexBytes(v: unknown, what: string, c: RelayClient): Uint8Array {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/.test(v)) {
    throw new ClientError('BAD_RELAY_ANSWER', `relay ${c.url}: "${what}" expected lowercase hex, got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  return hex.decode(v);
}

function channelAuthHeader(auth: ChannelAuth): Record<string, string> {
  return { [CHANNEL_AUTH_HEADER]: hex.encode(ChannelAuthCodec.encode(auth)) };
}
