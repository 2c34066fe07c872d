/**
 * The recipient's side (docs/protocol.md steps 5-6): list the mailbox at every relay (a fresh
 * signed challenge per request), fetch each new message and check it before paying anything
 * (the relay's quote and receipt signatures, the receipt binding this blob, the sealed header
 * opening to us with a valid sender authenticator over this hc, hk, relay and mailbox), then read:
 *
 *   sender-pays:    give r to the relay -> k (fast path), or k from the claim on chain;
 *   recipient-pays: over an open payment channel with the relay holding the message (unless
 *                   `channel: false`): the channel id stored on the inbox row, HTLC(H(k)) added
 *                   (committed first), the relay settles it in the add's answer -> k at once,
 *                   no transaction and no confirmation wait; a refused add falls back to:
 *                   fund HTLC(H(k)) through the contract book (persisted first), send the
 *                   PaymentNotice, wait for the confirmation the relay needs, unlock -> k,
 *                   or k from the relay's claim on chain;
 *
 * then H(k) = hk, blob -> c (the sealed body), H(c) = hc, c opens to the Signal message, Signal decrypts it. The message is stored in the inbox.
 * A paid blob that does not open to hc convicts the relay (openOrConvict: a fraud proof kept
 * with the message, RELAY_FRAUD); a copy failing a check before paying is kept as 'corrupt'.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PrivateKey } from '@signalapp/libsignal-client';
import { hex } from '@scure/base';
import { buildContractScript, checkQuoteLocktime, type ContractTerms } from '../contracts/index.ts';
import { BlobError, keyMatches, openBlob } from '../core/blob.ts';
import { makeFraudProof } from '../core/fraud.ts';
import { encodeFraudProofFile, verifyFraudProofFile } from '../core/fraud-file.ts';
import { H, bytesEqual } from '../core/hash.ts';
import { formatListCursor } from '../core/wire/list-cursor.ts';
import {
  ANSWER_INFO, FraudProofCodec, MAX_QUERY_TAGS, MessageContentCodec, TagAnswerCodec, assertQuoteSigned, assertReceiptSigned, coarseQueryTime, tagAnswerSigningBytes,
  type MessageContent, type PaymentMode, type TagAnswer,
} from '../core/objects/index.ts';
import { openEnvelope, openHeader, defaultPeerName, type HeaderView } from '../envelope/envelope.ts';
import { EnvelopeError } from '../envelope/errors.ts';
import { fingerprintOf } from '../identity/keys.ts';
import { StoredMessageCodec, type StoredMessage } from '../core/objects/stored-message.ts';
import { findClaim } from '../watch/index.ts';
import { isChannelRefusal } from './channel-outcome.ts';
import { RECIPIENT_HTLC_SLACK_BLOCKS } from './channels.ts';
import { saveFileDurably } from './datadir.ts';
import { ClientError } from './errors.ts';
import { walletProblem, withFreshCoins, type MailContext } from './mail-context.ts';
import { TagBook, type WantedTag } from './tags.ts';
import type { InboxRow, InboxState } from './mail-store.ts';
import type { ListedEntry } from './relay-client.ts';

export interface InboxEntry {
  /** Message id, hex (the CLI accepts a unique prefix). */
  id: string;
  relay: string;
  /** The contact's name, or the sender's fingerprint when she is not a contact. */
  from: string;
  /** True when the sender's key is the trusted key of a contact (the authenticator always verified). */
  verified: boolean;
  /** Body bytes. */
  size: number;
  mode: PaymentMode;
  /** Sats this user pays to read it (0 for sender-pays). */
  price: number;
  /** recipient-pays read over a payment channel: its id (no transaction on chain). */
  channelId?: string;
  /** recipient-pays paid on chain: the fee of the funding transaction (reading cost price + this). */
  fundingFee?: number;
  expiresAt: number;
  /** Unix ms the relay stored it (its listing's createdAt), else when this client first listed it. */
  depositedAt: number;
  state: InboxState;
  /** Once read. */
  message?: MessageContent;
  sentAt?: number;
  detail?: string;
  /** 'fraud': the exported proof file (`satpost verify-proof` checks it). */
  proofPath?: string;
}

export interface ReadOptions {
  /** recipient-pays: refuse (PRICE_TOO_HIGH) above this many sats. Default 10,000. */
  maxPrice?: number;
  /**
   * recipient-pays from a sender who is not a contact (her key is not a contact's trusted key):
   * pay anyway. Default false: UNKNOWN_SENDER, nothing paid (anyone can deposit recipient-pays
   * mail for free, so reading it must never pay a stranger without the user saying so).
   */
  payUnknownSender?: boolean;
  /** Called with a line about each wait (funding confirmation, relay, chain). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** Polling period while waiting for the relay or the chain, ms (tip changes also wake it). Default 1000. */
  pollMs?: number;
  /**
   * The longest read() waits for k (relay unreachable, funding unconfirmed), ms; then
   * WAIT_TIMEOUT with what it last waited for. Default DEFAULT_READ_WAIT_MS.
   */
  waitMs?: number;
  /** recipient-pays: pay through an open channel with the message's relay when one can (default true); false forces the chain. */
  channel?: boolean;
}

export const DEFAULT_MAX_PRICE = 10_000;
/** Ten minutes: a block and a half on mainnet; a relay down longer than that is not coming back soon. */
export const DEFAULT_READ_WAIT_MS = 10 * 60_000;

export interface ReadMessage extends InboxEntry {
  message: MessageContent;
  sentAt: number;
}

/** Rounds of asking in one refresh: each find moves a window, and the next round asks for the tags it opened. */
const MAX_REFRESH_ROUNDS = 8;

/**
 * Asks for every tag the user wants (each contact's window and her introduction tags, see
 * ./tags.ts) at her own relays and, through the first of them that takes part in the relay
 * network, at every relay that signs an answer holding some; new messages are fetched, checked
 * and stored ('new'). Finds move windows, so it asks again until a round finds nothing new,
 * or, with `until` (a full message id), as soon as that message is stored: a read of one
 * message the inbox did not list yet waits for that one alone, not for the rounds after it (the
 * next inbox() asks for the tags its find opened), and first asks her own relays only for what
 * they stored after their last listing in this process (listedUpTo). Returns every entry.
 */
export async function refreshInbox(ctx: MailContext, o: { signal?: AbortSignal } = {}): Promise<{ entries: InboxEntry[]; problems: { relay: string; error: unknown }[] }> {
  const { problems } = await refreshStored(ctx, o);
  return { entries: ctx.mail.inboxAll().map((r) => entryView(ctx, r)), problems };
}

/** refreshInbox without the listing of every entry at the end (a read of one message needs none). */
export async function refreshStored(ctx: MailContext, o: { signal?: AbortSignal; until?: string } = {}): Promise<{ problems: { relay: string; error: unknown }[] }> {
  if (ctx.relays.length === 0) throw new ClientError('NO_RELAYS', 'your config.json lists no relays: nobody can deliver to you');
  const problems: { relay: string; error: unknown }[] = [];
  const caught = fraudulentUrls(ctx);
  const mine = withoutFraudulent(ctx, ctx.relays.map((u) => u.replace(/\/+$/, '')), caught);
  const reached = new Set<string>();
  for (let round = 0; round < MAX_REFRESH_ROUNDS; round++) {
    const wanted = ctx.tags.wanted();
    const byHex = TagBook.byHex(wanted);
    const found = () => o.until !== undefined && ctx.mail.inbox(o.until) !== undefined;
    if (round === 0 && o.until !== undefined) {
      // First what her own relays stored since this process last listed there: one new message is usually all there is.
      for (const url of mine) {
        try {
          await refreshRelay(ctx, url, wanted.map((w) => w.tag), byHex, [], o.signal, true);
        } catch (error) {
          // The full refresh below asks again and reports.
          if (o.signal?.aborted) throw error;
        }
        if (found()) return { problems };
      }
    }
    // At her own relays: every tag. At a relay found through the network: only the tags it signed for.
    const targets = new Map<string, Uint8Array[]>(mine.map((u) => [u, wanted.map((w) => w.tag)]));
    for (const [url, tags] of await discover(ctx, mine, wanted, byHex, problems, o.signal)) if (!targets.has(url) && !caught.has(url)) targets.set(url, tags);
    let fresh = 0;
    for (const [url, tags] of targets) {
      try {
        fresh += await refreshRelay(ctx, url, tags, byHex, problems, o.signal);
        reached.add(url);
      } catch (error) {
        if (o.signal?.aborted) throw error;
        problems.push({ relay: url, error });
      }
      if (found()) break;
    }
    if (fresh === 0 || found()) break;
  }
  if (reached.size === 0 && problems.length > 0 && problems.every((p) => ClientError.is(p.error, 'RELAY_UNREACHABLE'))) throw problems[0]!.error;
  return { problems };
}

/** The URLs of the relays caught cheating (relay_fraud). */
function fraudulentUrls(ctx: Pick<MailContext, 'contacts'>): Set<string> {
  return new Set(ctx.contacts.fraudulentRelays().map((f) => f.relay.replace(/\/+$/, '')));
}

/** `urls` without the relays caught cheating (relay_fraud), unless that would leave none. */
export function withoutFraudulent(ctx: Pick<MailContext, 'contacts'>, urls: string[], caught = fraudulentUrls(ctx)): string[] {
  const kept = urls.filter((u) => !caught.has(u));
  return kept.length > 0 ? kept : urls;
}

/** Hops a tag query may travel (a relay lowers it to its own queryHopLimit). */
export const QUERY_HOP_LIMIT = 8;

/**
 * The tags in the requests that ask for them: introduction tags never in the same request as
 * conversation tags (anyone holding her address computes her introduction tags, so one request
 * naming both would say whose the conversation tags are), each request at most MAX_QUERY_TAGS.
 */
function batches(tags: Uint8Array[], byHex: Map<string, WantedTag>): Uint8Array[][] {
  const intro = tags.filter((t) => byHex.get(hex.encode(t))?.owner.kind === 'intro');
  const rest = tags.filter((t) => byHex.get(hex.encode(t))?.owner.kind !== 'intro');
  const out: Uint8Array[][] = [];
  for (const group of [intro, rest]) for (let i = 0; i < group.length; i += MAX_QUERY_TAGS) out.push(group.slice(i, i + MAX_QUERY_TAGS));
  return out;
}

/**
 * The relays of the network holding messages under some wanted tags, each with the tags it
 * holds, from tag queries (nobody named, a one-time answer key) through the first of the
 * user's relays that takes part in the network (docs/protocol.md "Relay network"). Only an
 * answer that opens with the answer key, is for this query, names only asked-for tags and is
 * signed by the relay it names counts: a relay on the path cannot point the client elsewhere.
 */
async function discover(
  ctx: MailContext, relays: string[], wanted: WantedTag[], byHex: Map<string, WantedTag>, problems: { relay: string; error: unknown }[], signal?: AbortSignal,
): Promise<Map<string, Uint8Array[]>> {
  const found = new Map<string, Uint8Array[]>();
  const asked = new Set(wanted.map((w) => hex.encode(w.tag)));
  for (const url of relays) {
    let networked = false;
    for (const tags of batches(wanted.map((w) => w.tag), byHex)) {
      const answerKey = ephemeralAnswerKey();
      const query = { queryId: ctx.random(16), answerKey: answerKey.publicKey, tags, timestamp: coarseQueryTime(ctx.now()), hopLimit: QUERY_HOP_LIMIT, hopsLeft: QUERY_HOP_LIMIT };
      let answers: Uint8Array[] | undefined;
      try {
        answers = await ctx.relay(url).queryNetwork(query, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        problems.push({ relay: url, error });
        break;
      }
      if (answers === undefined) break;
      networked = true;
      for (const sealed of answers) {
        const a = openTagAnswer(ctx, answerKey, query.queryId, sealed);
        if (a === undefined || !/^https?:\/\//.test(a.url) || !a.tags.every((t) => asked.has(hex.encode(t)))) continue;
        const at = a.url.replace(/\/+$/, '');
        found.set(at, [...(found.get(at) ?? []), ...a.tags]);
      }
    }
    if (networked) return found;
  }
  return found;
}

/**
 * A one-query X25519 key pair in libsignal's encodings (public: 0x05 || 32 bytes), made with
 * Node's X25519 rather than libsignal's PrivateKey.generate: most queries get no answer (no
 * relay network, or nothing to find), and then the command never loads libsignal. The answers
 * are opened with libsignal (PrivateKey.deserialize clamps the scalar as X25519 does).
 */
function ephemeralAnswerKey(): { secret: Uint8Array; publicKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { secret: new Uint8Array(pkcs8.subarray(pkcs8.length - 32)), publicKey: Uint8Array.of(0x05, ...spki.subarray(spki.length - 32)) };
}

function openTagAnswer(ctx: MailContext, answerKey: { secret: Uint8Array }, queryId: Uint8Array, sealed: Uint8Array): TagAnswer | undefined {
  try {
    const key = PrivateKey.deserialize(Uint8Array.from(answerKey.secret));
    const a = TagAnswerCodec.decode(key.open(Uint8Array.from(sealed), ANSWER_INFO, Uint8Array.from(queryId)));
    if (!bytesEqual(a.queryId, queryId)) return undefined;
    return ctx.ed.verify(a.relayId, tagAnswerSigningBytes(a), a.signature) ? a : undefined;
  } catch {
    return undefined; // not sealed to this key, or not a TagAnswer: not an answer
  }
}

/**
 * Where the last listing of each request's tags ended at each relay (this process): the
 * position (createdAt, id) of its last entry, keyed by the RelayClient and the tags asked.
 * A relay lists a tag's unexpired messages oldest first, read ones included, so a tag that
 * gathers many messages (an introduction tag, until the first reply) costs a listing of all
 * of them per refresh; a read of one new message asks after this position first.
 */
const listedUpTo = new WeakMap<object, Map<string, string>>();
const tagsKey = (tags: Uint8Array[]): string => tags.map((t) => hex.encode(t)).join();
const ZERO_ID = '0'.repeat(64);

/**
 * Lists `tags` at one relay and fetches what is new; resolves how many messages were stored.
 * `sinceLast`: only the requests listed before in this process, each after the position its
 * last listing ended at (a shortcut that may miss a message stored behind that position and
 * leaves the listings of older entries as they were: a full refresh still follows when what
 * the caller looks for is not found).
 */
async function refreshRelay(
  ctx: MailContext, url: string, tags: Uint8Array[], byHex: Map<string, WantedTag>, problems: { relay: string; error: unknown }[], signal?: AbortSignal, sinceLast = false,
): Promise<number> {
  const relay = ctx.relay(url);
  let ends = listedUpTo.get(relay);
  if (!ends) listedUpTo.set(relay, (ends = new Map()));
  let fresh = 0;
  for (const chunk of batches(tags, byHex)) {
    const key = tagsKey(chunk);
    const after = ends.get(key);
    if (sinceLast && after === undefined) continue;
    // Nothing listed yet: the next shortcut lists them from the start.
    if (after === undefined) ends.set(key, formatListCursor({ createdAt: 0, id: ZERO_ID }));
    // Page by page (keyset cursor), each page handled before the next is asked for.
    for await (const listed of relay.listAll(chunk, { ...(signal ? { signal } : {}), ...(sinceLast ? { after } : {}) })) {
      const held = ctx.mail.inboxListings(listed.map((item) => item.id));
      for (const item of listed) {
        const known = held.get(item.id);
        if (known) {
          // Only a listing that changed is written: each write is a transaction of its own (an fsync), per message per refresh.
          if (known.state !== 'read' && known.listing !== JSON.stringify(item)) {
            ctx.mail.setInbox(item.id, known.state, { listing: item, ...(known.detail ? { detail: known.detail } : {}) });
          }
          continue;
        }
        const wanted = byHex.get(item.tag);
        if (wanted === undefined) continue;
        try {
          if (await fetchOne(ctx, url, hex.decode(item.id), item, wanted, signal)) fresh++;
        } catch (error) {
          // One bad message (spam, a cheating relay) must not hide the others.
          if (signal?.aborted || !ClientError.is(error, 'BAD_RELAY_ANSWER')) throw error;
          problems.push({ relay: url, error });
        }
      }
      // Past this page once it is handled: the next shortcut starts after its last entry.
      const last = listed.at(-1);
      if (last !== undefined && Number.isSafeInteger(last.createdAt) && last.createdAt >= 0) ends.set(key, formatListCursor({ createdAt: last.createdAt, id: last.id }));
    }
  }
  return fresh;
}

/**
 * Fetches one message and stores it ('new') if every check passes. One failing a check throws
 * BAD_RELAY_ANSWER; it is still kept as 'corrupt' (nothing paid) when its sender's authenticated header
 * opens, so a relay that spoils a real message cannot make it vanish. One whose header does not
 * open is nobody's message (anyone can deposit junk into a mailbox) and is not kept.
 */
export async function fetchOne(ctx: MailContext, url: string, id: Uint8Array, item: Partial<ListedEntry>, wanted: WantedTag, signal?: AbortSignal): Promise<boolean> {
  if (ctx.mail.inbox(hex.encode(id))) return false;
  const stored = await ctx.relay(url).fetchMessage(wanted.secret, id, signal);
  let view: HeaderView;
  try {
    view = inspect(ctx, url, id, stored, item, wanted.tag);
  } catch (err) {
    if (ClientError.is(err, 'BAD_RELAY_ANSWER')) keepCorrupt(ctx, url, id, stored, item, err);
    throw err;
  }
  ctx.mail.insertInbox({ ...inboxFields(url, id, stored, item), senderKey: view.senderIdentityKey, state: 'new' });
  // Found: the contact's window moves past it (a junk deposit under a wanted tag never gets here: its header does not open).
  ctx.tags.found(wanted.owner);
  return true;
}

function inboxFields(url: string, id: Uint8Array, stored: StoredMessage, item: Partial<ListedEntry>) {
  return {
    id: hex.encode(id), relay: url, mode: stored.quote.mode, size: stored.quote.size,
    price: stored.quote.mode === 'recipient-pays' ? stored.quote.amount : 0, expiresAt: stored.receipt.expiresAt, locktime: stored.quote.locktime,
    stored: StoredMessageCodec.encode(stored), listing: item,
  };
}

function keepCorrupt(ctx: MailContext, url: string, id: Uint8Array, stored: StoredMessage, item: Partial<ListedEntry>, problem: ClientError): void {
  let senderKey: Uint8Array;
  try {
    senderKey = openHeader(ctx.identity, stored.sealedHeader, stored.quote.tag, stored.quote.hk).senderIdentityKey;
  } catch (err) {
    if (err instanceof EnvelopeError) return;
    throw err;
  }
  ctx.mail.insertInbox({ ...inboxFields(url, id, stored, item), senderKey, state: 'corrupt', detail: `${problem.message}; nothing was paid` });
}

/** Every check possible before paying (docs/protocol.md "Fetch"). */
function inspect(ctx: MailContext, url: string, id: Uint8Array, m: StoredMessage, item: Partial<ListedEntry>, tag: Uint8Array): HeaderView {
  const bad = (why: string, cause?: unknown) => {
    const e = new ClientError('BAD_RELAY_ANSWER', `relay ${url}, message ${hex.encode(id).slice(0, 16)}: ${why}`, cause === undefined ? undefined : { cause });
    e.relay = url;
    return e;
  };
  try {
    assertQuoteSigned(m.quote, ctx.ed);
    assertReceiptSigned(m.receipt, ctx.ed);
  } catch (err) {
    throw bad((err as Error).message, err);
  }
  const q = m.quote;
  const r = m.receipt;
  if (!bytesEqual(r.messageId, id) || !bytesEqual(r.relayId, q.relayId) || !bytesEqual(r.hk, q.hk) || !bytesEqual(r.tag, tag) || !bytesEqual(q.tag, tag)) {
    throw bad('the quote and receipt do not bind this id, relay, k and tag');
  }
  if (!bytesEqual(r.hblob, H(m.blob))) throw bad('the receipt does not cover the blob served');
  if (q.network !== ctx.network) throw bad(`the quote is for ${q.network}, not ${ctx.network}`);
  let view: HeaderView;
  try {
    view = openHeader(ctx.identity, m.sealedHeader, tag, q.hk);
  } catch (err) {
    if (err instanceof EnvelopeError) throw bad(`the sealed header fails: ${err.message}`, err);
    throw err;
  }
  const h = view.header;
  if (!bytesEqual(h.hc, r.hc) || !bytesEqual(h.relayId, q.relayId) || h.mode !== q.mode) throw bad("the sender's authenticated header does not match the relay's receipt and quote");
  if (q.mode === 'sender-pays') {
    if (!h.r) throw bad('a sender-pays header without r');
    const hr = item.hr;
    if (typeof hr === 'string' && hr !== hex.encode(H(h.r))) throw bad("the listed H(r) is not the sender's");
  }
  return view;
}

export function entryView(ctx: MailContext, row: InboxRow): InboxEntry {
  const contact = ctx.contacts.contactByKey(row.senderKey);
  return {
    id: row.id, relay: row.relay, from: contact ? contact.name : fingerprintOf(row.senderKey), verified: contact !== undefined, size: row.size,
    mode: row.mode, price: row.price, expiresAt: row.expiresAt, state: row.state,
    depositedAt: typeof row.listing.createdAt === 'number' && Number.isSafeInteger(row.listing.createdAt) ? row.listing.createdAt : row.receivedAt,
    ...(row.content ? { message: MessageContentCodec.decode(row.content) } : {}),
    ...(row.sentAt !== null ? { sentAt: row.sentAt } : {}),
    ...(row.detail ? { detail: row.detail } : {}),
    ...(row.channelId !== null ? { channelId: row.channelId } : {}),
    ...fundingFeeOf(ctx, row),
    ...(row.state === 'fraud' ? { proofPath: proofPathOf(ctx, row.id) } : {}),
  };
}

function fundingFeeOf(ctx: MailContext, row: InboxRow): { fundingFee?: number } {
  if (row.mode !== 'recipient-pays' || row.channelId !== null) return {};
  const txid = ctx.payer.contract(row.id)?.fundingTxid;
  const fee = txid ? ctx.wallet.transaction(txid)?.fee : undefined;
  return fee !== null && fee !== undefined ? { fundingFee: fee } : {};
}

/** The inbox row for an id or a unique id prefix (at least 4 hex characters). */
export function findEntry(ctx: MailContext, id: string): InboxRow {
  const p = id.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(p)) throw new ClientError('MESSAGE_NOT_FOUND', `"${id}" is not a message id (4 to 64 hex characters)`);
  const rows = ctx.mail.inboxByPrefix(p);
  if (rows.length === 0) throw new ClientError('MESSAGE_NOT_FOUND', `no message ${id} in your inbox or at your relays`);
  if (rows.length > 1) throw new ClientError('MESSAGE_NOT_FOUND', `"${id}" matches several messages; give more of the id`);
  return rows[0]!;
}

export async function readMessage(ctx: MailContext, id: string, o: ReadOptions = {}): Promise<ReadMessage> {
  let row = findEntry(ctx, id);
  if (row.state === 'read') return entryView(ctx, row) as ReadMessage;
  if (row.state === 'fraud') throw fraudError(ctx, row);
  if (row.state === 'corrupt') {
    const e = new ClientError('MESSAGE_CORRUPT', `message ${row.id.slice(0, 16)} cannot be read: ${row.detail ?? 'the relay\'s copy fails its checks'}`);
    e.relay = row.relay;
    throw e;
  }
  const m = StoredMessageCodec.decode(row.stored);
  const view = openHeader(ctx.identity, m.sealedHeader, m.quote.tag, m.quote.hk);
  const k = row.mode === 'sender-pays' ? await keySenderPays(ctx, row, m, view, o) : await keyRecipientPays(ctx, row, m, o);
  if (!keyMatches(k, m.quote.hk)) throw new ClientError('BAD_RELAY_ANSWER', `the k for ${row.id.slice(0, 16)} does not hash to H(k)`);
  const c = openOrConvict(ctx, row, m, k);
  const opened = await openEnvelope({
    recipient: { identity: ctx.identity, sessions: ctx.sessions }, sealedHeader: m.sealedHeader, body: c, tag: m.quote.tag, hk: m.quote.hk,
    peerFor: (key) => ctx.contacts.contactByKey(key)?.nameKey ?? defaultPeerName(key),
  });
  // What the contact told of the addressing (where to write to him, how far he found ours), stored with the message.
  const from = ctx.contacts.contactByKey(opened.senderIdentityKey);
  ctx.mail.markRead(row.id, { content: MessageContentCodec.encode(opened.message), sentAt: opened.sentAt }, () => {
    if (from && opened.tags) ctx.tags.learn(from.nameKey, opened.tags);
  });
  row = ctx.mail.inbox(row.id)!;
  return entryView(ctx, row) as ReadMessage;
}

/**
 * The body c, when the blob opens under the released k to the receipt's hc. Otherwise the relay
 * was paid for a blob that is not the message it signed for: the fraud proof (receipt, k, blob)
 * is made, checked as anyone would check it, stored with the row ('fraud') together with the
 * relay's record in one transaction, exported as a file, and RELAY_FRAUD is thrown.
 */
function openOrConvict(ctx: MailContext, row: InboxRow, m: StoredMessage, k: Uint8Array): Uint8Array {
  try {
    const c = openBlob(k, m.blob, ctx.aead);
    if (bytesEqual(H(c), m.receipt.hc)) return c;
  } catch (err) {
    if (!BlobError.is(err)) throw err;
  }
  const proof = FraudProofCodec.encode(makeFraudProof(m.receipt, m.blob, k, { ed25519: ctx.ed, aead: ctx.aead }));
  const verdict = verifyFraudProofFile({ proof: FraudProofCodec.decode(proof), quote: m.quote }, { ed25519: ctx.ed, aead: ctx.aead });
  const proofPath = proofPathOf(ctx, row.id);
  ctx.mail.markFraud(row.id, proof, `the relay served a blob that does not match its signed receipt (${verdict.reason}); proof: ${proofPath}`, () =>
    ctx.contacts.recordFraudulentRelay({ relayId: verdict.relayId, relay: row.relay, messageId: row.id, reason: verdict.reason, proofPath, now: ctx.now() }),
  );
  throw fraudError(ctx, ctx.mail.inbox(row.id)!);
}

const proofPathOf = (ctx: MailContext, id: string): string => join(ctx.proofDir, `${id}.json`);

/**
 * RELAY_FRAUD for a 'fraud' row; its proof file is (re)written when missing, so a crash between
 * the row and the file loses nothing.
 */
function fraudError(ctx: MailContext, row: InboxRow): ClientError {
  const m = StoredMessageCodec.decode(row.stored);
  const file = { proof: FraudProofCodec.decode(row.proof!), quote: m.quote };
  const verdict = verifyFraudProofFile(file, { ed25519: ctx.ed, aead: ctx.aead });
  const proofPath = proofPathOf(ctx, row.id);
  if (!existsSync(proofPath)) saveFileDurably(ctx.proofDir, basename(proofPath), encodeFraudProofFile(file));
  const e = new ClientError(
    'RELAY_FRAUD',
    `the relay at ${row.relay} served a message that does not match its signed receipt after being paid (${verdict.reason}); a proof was saved at ${proofPath}; this relay will not be used again`,
  );
  e.relay = row.relay;
  e.details = { id: row.id, proofPath, ...verdict };
  return e;
}

/**
 * Waits until `attempt` yields, re-trying at every tip change and every pollMs, for at most
 * o.waitMs; `waitingFor` says what the last attempt waited for (the timeout's message).
 */
async function until<T>(ctx: MailContext, o: ReadOptions, id: string, waitingFor: () => string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + (o.waitMs ?? DEFAULT_READ_WAIT_MS);
  for (;;) {
    o.signal?.throwIfAborted();
    const got = await attempt();
    if (got !== undefined) return got;
    if (Date.now() >= deadline) {
      const e = new ClientError(
        'WAIT_TIMEOUT',
        `gave up waiting for the key of ${id.slice(0, 16)}… after ${Math.round((o.waitMs ?? DEFAULT_READ_WAIT_MS) / 1000)} s (${waitingFor() || 'no answer yet'}); nothing is lost: what was paid stays in its contract`,
      );
      e.details = { id };
      throw e;
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        off();
        o.signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        clearTimeout(timer);
        off();
        reject(new ClientError('CANCELLED', 'read aborted'));
      };
      const timer = setTimeout(done, Math.max(0, Math.min(o.pollMs ?? 1000, deadline - Date.now())));
      const off = ctx.backend.onTip(done);
      o.signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

function senderPaysTerms(m: StoredMessage, view: HeaderView, item: Record<string, unknown>): ContractTerms | undefined {
  const payer = item.payerPubkey;
  if (typeof payer !== 'string' || !/^[0-9a-f]{66}$/.test(payer)) return undefined;
  return { mode: 'sender-pays', hk: m.quote.hk, hr: H(view.header.r!), relayPubkey: m.quote.contractPubkey, payerPubkey: hex.decode(payer), locktime: m.quote.locktime };
}

function outpointOf(item: Record<string, unknown>): { txid: string; vout: number } | undefined {
  const f = item.funding as { txid?: unknown; vout?: unknown } | undefined;
  return f && typeof f.txid === 'string' && /^[0-9a-f]{64}$/.test(f.txid) && Number.isInteger(f.vout) ? { txid: f.txid, vout: f.vout as number } : undefined;
}

async function keySenderPays(ctx: MailContext, row: InboxRow, m: StoredMessage, view: HeaderView, o: ReadOptions): Promise<Uint8Array> {
  const r = view.header.r!;
  const relay = ctx.relay(row.relay);
  const id = hex.decode(row.id);
  let said = '';
  const say = (line: string) => {
    if (line !== said) o.onProgress?.((said = line));
  };
  return until(ctx, o, row.id, () => said, async () => {
    // The chain is the guarantee: a claim there publishes k whatever the relay says.
    const item = ctx.mail.inbox(row.id)!.listing;
    const terms = senderPaysTerms(m, view, item);
    const outpoint = outpointOf(item);
    if (terms && outpoint) {
      const claim = await findClaim(ctx.backend, outpoint, buildContractScript(terms), o.signal);
      if (claim && keyMatches(claim.k, m.quote.hk)) return claim.k;
    }
    try {
      const ans = await relay.unlockWithR(id, r, o.signal);
      if (ans.state === 'unlocked') return ans.k;
      say(`waiting for the sender's funding of ${row.id.slice(0, 16)}… to confirm (relay: ${ans.state})`);
    } catch (err) {
      if (ClientError.is(err, 'RELAY_UNREACHABLE')) say(`relay ${row.relay} unreachable; watching the chain`);
      else throw err;
    }
    // Marked only once k did not come at the first try: the usual read (k at once) commits once, when read.
    if (ctx.mail.inbox(row.id)!.state !== 'awaiting') ctx.mail.setInbox(row.id, 'awaiting');
    await refreshListing(ctx, row, o.signal);
    return undefined;
  });
}

/** The relay's current listing entry of this message (funding outpoint once known). */
async function refreshListing(ctx: MailContext, row: InboxRow, signal?: AbortSignal): Promise<void> {
  const relay = ctx.relay(row.relay);
  try {
    for await (const listed of relay.listAll([StoredMessageCodec.decode(row.stored).quote.tag], signal ? { signal } : {})) {
      const item = listed.find((e) => e.id === row.id);
      if (item) {
        ctx.mail.setInbox(row.id, ctx.mail.inbox(row.id)!.state, { listing: item });
        break;
      }
    }
  } catch (err) {
    // Not listed within the page bound: the listing stays as it was.
    if (!ClientError.is(err, 'RELAY_UNREACHABLE') && !ClientError.is(err, 'TOO_MANY_PAGES')) throw err;
  }
}

async function keyRecipientPays(ctx: MailContext, row: InboxRow, m: StoredMessage, o: ReadOptions): Promise<Uint8Array> {
  const q = m.quote;
  const maxPrice = o.maxPrice ?? DEFAULT_MAX_PRICE;
  // A payment already under way (on chain or over a channel) is resumed whoever sent the message.
  if (row.payerKey === null && row.channelId === null && !o.payUnknownSender && ctx.contacts.contactByKey(row.senderKey) === undefined) {
    throw new ClientError('UNKNOWN_SENDER', `${row.id.slice(0, 16)} is from ${fingerprintOf(row.senderKey)}, who is not one of your contacts; reading it costs ${q.amount} sats (pass payUnknownSender to pay anyway)`);
  }
  if (row.payerKey === null) {
    if (q.amount > maxPrice) {
      const e = new ClientError('PRICE_TOO_HIGH', `reading ${row.id.slice(0, 16)} costs ${q.amount} sats, more than your maximum of ${maxPrice}`);
      e.details = { price: q.amount, maxPrice };
      throw e;
    }
    const k = await keyOverChannel(ctx, row, m, o);
    if (k) return k;
    row = ctx.mail.inbox(row.id)!;
    checkQuoteLocktime(q.locktime, (await ctx.backend.getTip(o.signal)).height, ctx.margins);
    // The key index is stored before the contract exists, so a crash never funds twice with two keys.
    ctx.mail.setInbox(row.id, 'paying', { payerKey: ctx.wallet.nextContractKeyIndex() });
    row = ctx.mail.inbox(row.id)!;
  }
  const keyIndex = row.payerKey!;
  const payerPubkey = ctx.wallet.contractKey(keyIndex).pubkey33;
  const terms: ContractTerms = { mode: 'recipient-pays', hk: q.hk, relayPubkey: q.contractPubkey, payerPubkey, locktime: q.locktime };
  let contract = ctx.payer.contract(row.id);
  if (!contract) {
    o.onProgress?.(`paying ${q.amount} sats into HTLC(H(k)) for ${row.id.slice(0, 16)}…`);
    try {
      [contract] = await withFreshCoins(ctx, () => ctx.payer.fund([{ terms, amount: q.amount, keyIndex, id: row.id }], o.signal ? { signal: o.signal } : {}), o.signal);
    } catch (err) {
      ctx.mail.setInbox(row.id, 'new', {});
      throw walletProblem(err);
    }
  }
  ctx.mail.setInbox(row.id, 'awaiting');
  const funding = { txid: contract!.fundingTxid!, vout: contract!.fundingVout! };
  const relay = ctx.relay(row.relay);
  let said = '';
  const say = (line: string) => {
    if (line !== said) o.onProgress?.((said = line));
  };
  return until(ctx, o, row.id, () => said, async () => {
    const learned = await ctx.payer.learnKey(row.id, o.signal);
    if (learned && keyMatches(learned.k, q.hk)) return learned.k;
    const state = ctx.payer.contract(row.id)!.state;
    if (state === 'refunded' || state === 'refund-broadcast' || state === 'abandoned') {
      ctx.mail.setInbox(row.id, 'failed', { detail: `the payment was ${state}; k was never released` });
      throw new ClientError('MESSAGE_EXPIRED', `the relay never released k for ${row.id.slice(0, 16)}; your payment is ${state}`);
    }
    try {
      const ans = await relay.unlockWithPayment({ messageId: hex.decode(row.id), payerPubkey, funding }, o.signal);
      if (ans.state === 'unlocked') return ans.k;
      say(`waiting for your payment ${funding.txid.slice(0, 16)}… to confirm (relay: ${ans.state})`);
    } catch (err) {
      if (ClientError.is(err, 'RELAY_UNREACHABLE')) say(`relay ${row.relay} unreachable; watching the chain for its claim`);
      else throw err;
    }
    return undefined;
  });
}

/**
 * k for a recipient-pays message paid with an HTLC in a channel with the message's relay, or
 * undefined when no channel can carry it (the caller pays on chain). The channel id is stored on
 * the row before the add, so a crash is resumed: the add resent if the relay lacks it, the
 * relay's settle taken from its pending list.
 */
async function keyOverChannel(ctx: MailContext, row: InboxRow, m: StoredMessage, o: ReadOptions): Promise<Uint8Array | undefined> {
  const q = m.quote;
  let channelId = row.channelId;
  let locktime: number | undefined;
  let tipSeen: number | undefined;
  if (channelId === null) {
    if (o.channel === false) return undefined;
    const ch = await ctx.channels.usable(row.relay, { mode: 'recipient-pays', hk: q.hk, amount: q.amount }, o.signal);
    if (!ch) return undefined;
    channelId = ch.channel.id;
    locktime = ch.locktime;
    tipSeen = ch.tip;
    ctx.mail.setInbox(row.id, 'paying', { channelId });
  }
  const made = () => ctx.channels.htlcFor(channelId, q.hk);
  const h = made();
  try {
    if (h?.k) return h.k;
    if (!h) {
      o.onProgress?.(`paying ${q.amount} sats for ${row.id.slice(0, 16)}… through channel ${channelId.slice(0, 16)}… (no transaction on chain)`);
      const tip = tipSeen ?? (await ctx.backend.getTip(o.signal)).height;
      const s = ctx.channels.state(channelId);
      const at = locktime ?? Math.min(tip + s.claimMargin + 2 + RECIPIENT_HTLC_SLACK_BLOCKS, s.channelLocktime - s.claimMargin - 1);
      const { k } = await ctx.channels.pay(channelId, { mode: 'recipient-pays', hk: q.hk, amount: q.amount, locktime: at }, o.signal, tip);
      if (k) return k;
    } else {
      // Added before a crash: the relay gets the add again if it lacks it, then its pending settles are taken.
      await ctx.channels.sync(channelId, o.signal);
      const again = made();
      if (again?.k) return again.k;
    }
  } catch (err) {
    if (o.signal?.aborted) throw err;
    // Only a fresh add refused outright (and undone) may go on chain: an add from before a crash may be in the relay's book, and she would pay twice.
    if (isChannelRefusal(err) && !h && !ctx.channels.signedFor(channelId, q.hk)) {
      ctx.mail.inboxToChain(row.id);
      // H(k) is the message's own: a relay that saw her signature of a refused add with it could claim that too. Not on chain by itself then.
      if (!ctx.channels.signedFor(channelId, q.hk, { orRefused: true })) return undefined;
      throw new ClientError(
        ClientError.is(err) ? err.code : 'BAD_STATE', `${(err as Error).message}; the payment was taken back out of channel ${channelId.slice(0, 16)}…. It is not paid on chain by itself: the relay saw your signature ` +
          'of the refused payment, which pays the same key. Read it again (over the channel, once the relay takes it), or with channel: false (`satpost read --no-channel`) to pay on chain anyway',
        { cause: err },
      );
    }
    throw err;
  }
  ctx.mail.setInbox(row.id, 'awaiting', { detail: 'the relay took the channel HTLC without settling it; it is failed back after its expiry' });
  throw new ClientError(
    'BAD_RELAY_ANSWER',
    `relay ${row.relay} took the HTLC for ${row.id.slice(0, 16)}… in channel ${channelId.slice(0, 16)}… without settling it; the sats come back when it expires (syncChannels fails it back)`,
  );
}
