/**
 * Sending one message (docs/protocol.md "One message, step by step", steps 1-4):
 *
 *   draft (contact, mode, content, options; persisted BEFORE any network step)
 *   -> Signal message (from the contact's verified prekey bundle on a first message)
 *   -> offer of its size class, at a minute's resolution -> quotes (with an open channel, that
 *      relay's alone within its standing terms: channelQuote; else the relay network, else
 *      each relay) -> the cheapest acceptable quote (signed, answers the offer, amount <=
 *      maxFee, T within the margins, still valid) -> sealed body and sealed header for that
 *      quote (with r for sender-pays)
 *   -> outbox row 'sealed' (persisted BEFORE anything leaves) -> deposit -> receipt verified
 *      and stored ('deposited') -> sender-pays: the contract is funded through the contract
 *      book, which persists it before broadcasting ('funded'). A deposit the relay refuses as
 *      unpaid mail (UNPAID_QUOTA_FULL, DEPOSITOR_QUOTA_FULL: docs/relay-api.md "Quotas") is
 *      funded first and deposited again carrying its funding, which the relay counts as paid.
 *
 * Sender-pays over a payment channel (an open channel with the quote's relay that can carry the
 * HTLC, unless `channel: false`): the row is sealed with the channel's id, then
 *
 *   HTLC(mode sender-pays, H(k), H(r), amount = price, T_i = the quote's T) added to the channel
 *   (committed in the channel book before it leaves) -> deposit carrying hr and the channel's
 *   payer key, no funding -> 'paid'.
 *
 * The add comes first because the relay stores a deposit without an on-chain contract only when
 * an in-flight HTLC already pays it (src/relay/channels.ts `paying`); it is safe because the
 * relay cannot settle a sender-pays HTLC without r, which only the recipient's sealed header
 * holds. A refused add (the relay's channel code, or the local core's: isChannelRefusal) is
 * undone in the channel book (ClientChannels.pay) and falls back to the chain path with a fresh
 * refund key AND a fresh r (the sealed header resealed with it): the relay saw the payer's
 * signature of the refused state, so the chain contract must not be claimable with the (H(k),
 * H(r)) of that HTLC. The old r never left this directory (the deposit comes after the add), so
 * nothing signed in the channel can ever be claimed. An outcome that is not a refusal (relay
 * unreachable after the add left, an answer that does not parse) never goes on chain: the add is
 * resent and resolved through the channel.
 *
 * A send is idempotent per intent (intentOf: contact, mode, content): a send whose intent has a
 * draft, an unfinished row, or a row whose last step was less than REPEAT_WINDOW_MS ago finishes
 * or returns that one instead of paying for a second message, unless `again`. An aborted send
 * throws SEND_INTERRUPTED with what it saved.
 *
 * resumeSends() sends the drafts first (quoted afresh), then continues every row a crash left
 * behind: a 'sealed' row is deposited again (byte-identical, so the relay answers the same
 * receipt), after making sure the relay has the
 * channel add if one was made (resent when the relay is a state behind), a sender-pays
 * 'deposited' row is funded. The contract watcher then moves 'funded' rows to 'delivered' (k
 * seen) or 'refunded'; the channel sync moves 'paid' rows to 'delivered' (settle taken) or
 * 'refunded' (HTLC failed back).
 */
import { hex } from '@scure/base';
import { ContractError, buildContractScript, checkQuoteLocktime, contractScriptPubKey, type ContractTerms } from '../contracts/index.ts';
import { H, bytesEqual, concatBytes } from '../core/hash.ts';
import {
  MessageContentCodec, QuoteCodec, ReceiptCodec, SignatureError, assertQuoteSigned, assertReceiptSigned, coarseOfferTime, messageIdOf, standingPrice,
  type Deposit, type MessageContent, type Offer, type PaymentMode, type Quote, type Receipt, type StandingTerms,
} from '../core/objects/index.ts';
import { encryptSignal, sealBody, sealHeader, sizeClassOf } from '../envelope/envelope.ts';
import { verifyBundle } from '../identity/bundle.ts';
import { type PrekeyBundle } from '../core/objects/prekey-bundle.ts';
import { IdentityError } from '../identity/errors.ts';
import { mailboxIdOf } from '../identity/keys.ts';
import { isChannelRefusal } from './channel-outcome.ts';
import { ClientError } from './errors.ts';
import { bundleFromNetwork } from './lookup.ts';
import { walletProblem, withFreshCoins, type MailContext } from './mail-context.ts';
import type { DraftRow, OutboxRow, OutboxState } from './mail-store.ts';
import type { ContactRow } from './store.ts';

/**
 * Half a day: a relay keeps a message no longer than its contract's locktime minus the claim
 * margin (default relay: 144 - 12 blocks, about 22 hours), so a longer default would be
 * refused by default relays. Ask for more with --retention-days where relays allow it.
 */
export const DEFAULT_RETENTION_DAYS = 0.5;

export interface SendOptions {
  mode?: PaymentMode;
  /** Highest price accepted, sats. Default 10,000. */
  maxFee?: number;
  /** How long the relay keeps the message; default DEFAULT_RETENTION_DAYS (12 hours). */
  retentionDays?: number;
  /**
   * Use the sender's payment channels (default true): the message is quoted by the relay of an
   * open channel alone, within its standing terms, with no offer to the network (either mode),
   * and sender-pays is paid through a channel with the quote's relay when one can carry it.
   * false: the network's offer and, sender-pays, the chain.
   */
  channel?: boolean;
  /**
   * Send a new message even when an identical one (same contact, content and mode) is unfinished
   * or was sent less than REPEAT_WINDOW_MS ago; by default that one is finished or returned instead.
   */
  again?: boolean;
  /** Aborting leaves the message saved (SEND_INTERRUPTED): the next send of it or resume() finishes it. */
  signal?: AbortSignal;
}

export type SendContent = { text: string } | { file: { name: string; mediaType: string; data: Uint8Array } };

export interface SentMessage {
  /** Message id, hex. */
  id: string;
  to: string;
  relay: string;
  mode: PaymentMode;
  /** Body bytes deposited. */
  size: number;
  /** The relay's price, sats (sender-pays: locked in the contract; recipient-pays: what she pays). */
  price: number;
  expiresAt: number;
  /** Contract locktime T (block height). */
  locktime: number;
  state: OutboxState;
  /** Sender-pays: how the relay is paid: an HTLC in a payment channel, or a contract on chain. */
  via?: 'channel' | 'chain';
  /** Sender-pays over a channel: its id. */
  channelId?: string;
  /** Sender-pays on chain: the funding transaction. */
  fundingTxid?: string;
  /** Sender-pays on chain: the funding transaction's fee, sats (the wallet pays price + this). */
  fundingFee?: number;
  /** Sender-pays on chain, once the relay claimed its price: the claim transaction (it reveals k, so the recipient could read). */
  claimTxid?: string;
  /** What the user sent (text, or a file with its name and type); absent on messages sent before satpost kept it. */
  content?: MessageContent;
  /** When it was sealed (Unix ms): the time a conversation shows it at. */
  createdAt: number;
  /**
   * Set when this send made no new message: 'finished', an identical send left unfinished (an
   * interruption, a crash) was finished; 'already-sent', an identical message took its last step
   * (sent, finished, delivered) less than REPEAT_WINDOW_MS ago. `again: true` sends a new one.
   */
  repeat?: 'finished' | 'already-sent';
}

export const DEFAULT_MAX_FEE = 10_000;

/**
 * How long after its last step a sent message answers an identical send (same contact, content,
 * mode) instead of a second paid one: long enough for "it was interrupted, run it again" after
 * the send finished unseen (Ctrl-C after the funding), short enough that saying the same thing
 * later is a new message.
 */
export const REPEAT_WINDOW_MS = 15 * 60_000;

export async function sendMessage(ctx: MailContext, contact: ContactRow, content: SendContent, o: SendOptions = {}): Promise<SentMessage> {
  const mode = o.mode ?? 'sender-pays';
  const message: MessageContent = 'text' in content ? { kind: 'text', text: content.text } : { kind: 'file', ...content.file };
  const encoded = MessageContentCodec.encode(message);
  const intent = intentOf(contact.nameKey, mode, encoded);
  let draft = o.again ? undefined : ctx.mail.draftByIntent(intent);
  const repeat = draft ? ('finished' as const) : undefined;
  if (!draft) {
    const earlier = o.again ? undefined : await earlierSend(ctx, contact, intent, o.signal);
    if (earlier) return earlier;
    // Persisted before any network step: from here on an interruption leaves a message the next command finishes.
    ctx.mail.insertDraft({
      id: hex.encode(ctx.random(16)), contact: contact.nameKey, intent, mode, content: encoded, maxFee: o.maxFee ?? DEFAULT_MAX_FEE,
      retentionSecs: Math.round((o.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400), channel: o.channel !== false,
    });
    draft = ctx.mail.draftByIntent(intent)!;
    ctx.failpoint('after-draft');
  }
  const sealed: { id?: string } = {};
  try {
    const row = await finishDraft(ctx, draft, o.signal, sealed);
    return { ...sentView(ctx, row), ...(repeat ? { repeat } : {}) };
  } catch (err) {
    if (o.signal?.aborted) throw interrupted(contact, sealed.id !== undefined ? { id: sealed.id } : { draft: draft.id }, err);
    // Refused before it was sealed: nothing left, as if it had never been asked (the caller has the error).
    ctx.mail.deleteDraft(draft.id);
    throw err;
  }
}

/**
 * H(tag || len(name key) || name key || mode || content): what makes two sends the same
 * message to a person. The encrypted body cannot serve (each encryption differs), nor can the
 * options (a rerun with another --max-fee is still the same message).
 */
export function intentOf(contactKey: string, mode: PaymentMode, content: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode(contactKey);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, name.length);
  return H(concatBytes(INTENT_TAG, len, name, new Uint8Array([mode === 'sender-pays' ? 1 : 2]), content));
}
const INTENT_TAG = new TextEncoder().encode('satpost/v1/send-intent');

/**
 * An outbox row of the same intent that answers this send instead of a new paid message: one
 * left unfinished (finished now), or one whose last step was less than REPEAT_WINDOW_MS ago
 * (returned as it is; counted from the last step, so a message an earlier resume pass just
 * finished counts however long ago it was asked for). A row whose quote lapsed before its
 * deposit is marked failed and answers nothing.
 */
async function earlierSend(ctx: MailContext, contact: ContactRow, intent: Uint8Array, signal?: AbortSignal): Promise<SentMessage | undefined> {
  for (const row of ctx.mail.outboxByIntent(intent)) {
    if (isUnfinished(row)) {
      let now: OutboxRow;
      try {
        now = await resumeOne(ctx, row, signal);
      } catch (err) {
        if (signal?.aborted) throw interrupted(contact, { id: row.id }, err);
        if (ctx.mail.outbox(row.id)!.state === 'failed') continue;
        throw err;
      }
      return { ...sentView(ctx, now), repeat: 'finished' };
    }
    if (row.state !== 'failed' && row.state !== 'refunded' && row.updatedAt > ctx.now() - REPEAT_WINDOW_MS) return { ...sentView(ctx, row), repeat: 'already-sent' };
  }
  return undefined;
}

function interrupted(contact: ContactRow, saved: { id: string } | { draft: string }, cause: unknown): ClientError {
  const what = 'id' in saved ? `message ${saved.id}` : `not yet quoted, draft ${saved.draft}`;
  const err = new ClientError(
    'SEND_INTERRUPTED',
    `the send to ${contact.name} was interrupted; the message is saved (${what}) and the next satpost command finishes it without sending it twice`,
    { cause },
  );
  err.details = { ...saved };
  return err;
}

/** A row a send has not taken as far as it goes without the chain: resumeSends and an identical send carry it on. */
export function isUnfinished(row: OutboxRow): boolean {
  return row.state === 'sealed' || (row.state === 'deposited' && row.mode === 'sender-pays');
}

/**
 * Quotes, seals and sends a draft: the body encrypted (her verified prekey bundle on a first
 * message), the cheapest acceptable quote, the sealed header, then the draft becomes its outbox
 * row 'sealed' in one transaction before anything is deposited or paid. `sealed.id` is set to
 * the message id once that row exists.
 */
async function finishDraft(ctx: MailContext, draft: DraftRow, signal?: AbortSignal, sealed: { id?: string } = {}): Promise<OutboxRow> {
  const contact = ctx.contacts.contact(draft.contact);
  if (!contact) throw new ClientError('UNKNOWN_CONTACT', `no contact with the name key "${draft.contact}" any more`);
  const { mode, maxFee, retentionSecs } = draft;
  const message = MessageContentCodec.decode(draft.content);
  const candidates = relaysFor(ctx, contact);

  // The tip is needed to check the quote and the channel HTLC: asked for while the body is encrypted and quoted.
  const tipAsked = ctx.backend.getTip(signal).then((t) => t.height);
  tipAsked.catch(() => undefined);
  const bundle = (await ctx.sessions.hasSession(contact.nameKey)) ? undefined : await fetchBundle(ctx, contact, candidates, signal);
  const recipient = { peer: contact.nameKey, identityKey: contact.identityKey, ...(bundle ? { bundle } : {}) };
  const sender = { identity: ctx.identity, sessions: ctx.sessions };
  const now = ctx.now();
  // Its tag is taken (and saved) first: the message tells the contact how to address his answers.
  const { tag, tells, index } = ctx.tags.outgoing(contact.nameKey, contact.identityKey);
  let rowSealed = false;
  try {
    // The Signal message first: its size class is what the offer states, and it does not depend on the relay.
    const signalMessage = await encryptSignal({ sender, recipient, message, tags: tells, now });

    const offer: Offer = { offerId: ctx.random(16), tag: tag, mode, size: sizeClassOf(signalMessage), maxFee, retentionSecs, createdAt: coarseOfferTime(now) };
    // With an open channel (either mode): that relay's own quote, held to its standing terms; else the network's offer.
    const direct = draft.channel ? await channelQuote(ctx, offer, candidates, signal, tipAsked) : undefined;
    const quote = direct ?? (await bestQuote(ctx, offer, candidates, signal, tipAsked));
    const tip = await tipAsked;
    const id = hex.encode(messageIdOf(quote.hk));
    const r = mode === 'sender-pays' ? ctx.random(32) : undefined;
    let payerKey: number | null = null;
    let channelId: string | null = null;
    if (mode === 'sender-pays') {
      const ch = !draft.channel ? undefined : await ctx.channels.usable(quote.relayUrl, { mode, hk: quote.hk, hr: H(r!), amount: quote.amount, locktime: quote.locktime }, signal, tip);
      if (ch) channelId = ch.channel.id;
      else {
        payerKey = ctx.wallet.nextContractKeyIndex();
        await checkAffordable(ctx, quote, payerKey, r!, signal);
      }
    }
    const body = sealBody({ signal: signalMessage, recipient, tag, hk: quote.hk });
    const sealedHeader = sealHeader({
      sender, recipient, hc: H(body), hk: quote.hk, relayId: quote.relayId, tag, mode, ...(r ? { r } : {}), now,
    });
    // Nothing may leave once aborted: the row would be sealed behind the caller's back.
    signal?.throwIfAborted();
    const sealedHere = ctx.mail.sealDraft(draft.id, {
      id, contact: contact.nameKey, relay: quote.relayUrl, mode, state: 'sealed', quote: QuoteCodec.encode(quote), sealedHeader, body,
      r: r ?? null, payerKey, channelId, size: body.length, amount: quote.amount, intent: draft.intent, content: draft.content,
    });
    rowSealed = sealedHere;
    if (!sealedHere) ctx.tags.release(contact.nameKey, index);
    return await afterSeal(ctx, draft, contact, id, sealedHere, sealed, tip, signal);
  } catch (err) {
    // Only a sealed row can put a message under this index at a relay: before that, the index goes back.
    if (!rowSealed) ctx.tags.release(contact.nameKey, index);
    throw err;
  }
}

async function afterSeal(ctx: MailContext, draft: DraftRow, contact: ContactRow, id: string, sealedHere: boolean, sealed: { id?: string }, tip: number, signal?: AbortSignal): Promise<OutboxRow> {
  if (!sealedHere) {
    // Another satpost process (a second command run meanwhile) sealed this draft first: carry on its message, this quote unused.
    const theirs = ctx.mail.outboxByIntent(draft.intent)[0];
    if (!theirs) throw new ClientError('CANCELLED', `the saved message to ${contact.name} was dropped by another satpost command meanwhile`);
    sealed.id = theirs.id;
    return advance(ctx, theirs.id, signal);
  }
  sealed.id = id;
  ctx.failpoint('after-seal');
  return advance(ctx, id, signal, tip, true);
}

/**
 * Moves one outbox row forward as far as it goes without waiting for the chain; `tip` if the
 * caller just fetched it; `sealedNow` when the caller sealed the row itself a moment ago (no
 * process can have added its HTLC yet: the channel book is not searched for it).
 */
export async function advance(ctx: MailContext, id: string, signal?: AbortSignal, tip?: number, sealedNow = false): Promise<OutboxRow> {
  let row = ctx.mail.outbox(id)!;
  if (row.state === 'sealed' && row.channelId !== null) {
    if (await payByChannel(ctx, row, signal, tip, sealedNow)) ctx.failpoint('after-channel-add');
    row = ctx.mail.outbox(id)!;
  }
  if (row.state === 'sealed') {
    const receipt = await depositOrPayFirst(ctx, row, signal);
    ctx.mail.setOutbox(id, row.channelId !== null ? 'paid' : 'deposited', { receipt: ReceiptCodec.encode(receipt), dropBody: true });
    ctx.failpoint('after-deposit');
    row = ctx.mail.outbox(id)!;
  }
  if (row.state === 'deposited' && row.mode === 'sender-pays') {
    await fund(ctx, row, signal);
    ctx.mail.setOutbox(id, 'funded', { contractId: row.id });
    row = ctx.mail.outbox(id)!;
  }
  return row;
}

/**
 * Every send a crash, an interruption or an unreachable relay left unfinished, drafts first;
 * failures are kept per entry. A draft refused for good (no acceptable quote, no funds, ...) is
 * dropped (`dropped`): it was never sealed, nothing of it left this directory.
 */
export async function resumeSends(ctx: MailContext, signal?: AbortSignal): Promise<{ id: string; error?: unknown; dropped?: boolean }[]> {
  const out: { id: string; error?: unknown; dropped?: boolean }[] = [];
  for (const draft of ctx.mail.drafts()) {
    const sealed: { id?: string } = {};
    try {
      await finishDraft(ctx, draft, signal, sealed);
      out.push({ id: sealed.id! });
    } catch (error) {
      if (signal?.aborted) throw error;
      const final = sealed.id === undefined && (error instanceof IdentityError || (ClientError.is(error) && !TRANSIENT.includes(error.code)));
      if (final) ctx.mail.deleteDraft(draft.id);
      out.push({ id: sealed.id ?? draft.id, error, ...(final ? { dropped: true } : {}) });
    }
  }
  for (const row of ctx.mail.pendingOutbox()) {
    if (!isUnfinished(row)) continue;
    try {
      await resumeOne(ctx, row, signal);
      out.push({ id: row.id });
    } catch (error) {
      if (signal?.aborted) throw error;
      out.push({ id: row.id, error });
    }
  }
  return out;
}

/** advance() for a row left behind; a sealed row whose quote lapsed is marked failed (it can never be deposited). */
async function resumeOne(ctx: MailContext, row: OutboxRow, signal?: AbortSignal): Promise<OutboxRow> {
  try {
    return await advance(ctx, row.id, signal);
  } catch (error) {
    if (signal?.aborted) throw error;
    const quote = QuoteCodec.decode(row.quote);
    // A lapsed quote can never be deposited: the message must be sent again.
    if (row.state === 'sealed' && (ClientError.is(error, 'QUOTE_EXPIRED') || ClientError.is(error, 'QUOTE_UNKNOWN') || ctx.now() > quote.validUntil)) {
      ctx.mail.setOutbox(row.id, 'failed', { detail: `the quote lapsed before the deposit (${(error as Error).message}); send it again`, dropBody: true });
    }
    throw error;
  }
}

export function sentView(ctx: MailContext, row: OutboxRow): SentMessage {
  const quote = QuoteCodec.decode(row.quote);
  const c = row.contractId ? ctx.payer.contract(row.contractId) : undefined;
  const fee = c?.fundingTxid ? ctx.wallet.transaction(c.fundingTxid)?.fee : undefined;
  return {
    id: row.id, to: ctx.contacts.contact(row.contact)?.name ?? row.contact, relay: row.relay, mode: row.mode, size: row.size,
    price: row.amount, expiresAt: quote.expiresAt, locktime: quote.locktime, state: row.state, createdAt: row.createdAt,
    ...(row.mode === 'sender-pays' ? { via: row.channelId !== null ? ('channel' as const) : ('chain' as const) } : {}),
    ...(row.channelId !== null ? { channelId: row.channelId } : {}),
    ...(c?.fundingTxid ? { fundingTxid: c.fundingTxid } : {}),
    ...(fee !== null && fee !== undefined ? { fundingFee: fee } : {}),
    ...(c?.claimTxid ? { claimTxid: c.claimTxid } : {}),
    ...(row.content !== null ? { content: MessageContentCodec.decode(row.content) } : {}),
  };
}

/**
 * The HTLC paying a sealed channel row: added and sent, or (added before a crash) resent if the
 * relay lacks it. True when the relay holds it; false when the channel refused it and the row
 * was moved to the chain path (fresh refund key, affordability checked). RELAY_UNREACHABLE and
 * other errors leave the row as it is for resumeSends.
 */
async function payByChannel(ctx: MailContext, row: OutboxRow, signal?: AbortSignal, tip?: number, sealedNow = false): Promise<boolean> {
  const quote = QuoteCodec.decode(row.quote);
  const channelId = row.channelId!;
  // Every HTLC the channel ever carried is in the book: searched only for a row met again (a resume).
  const made = !sealedNow && ctx.channels.htlcFor(channelId, quote.hk) !== undefined;
  try {
    if (made) await ctx.channels.resync(channelId, signal);
    else await ctx.channels.pay(channelId, { mode: 'sender-pays', hk: quote.hk, hr: H(row.r!), amount: quote.amount, locktime: quote.locktime }, signal, tip);
    return true;
  } catch (err) {
    // An add made before a crash may be in the relay's book: only a fresh add refused outright, and undone, goes on chain.
    if (signal?.aborted || made || !isChannelRefusal(err) || ctx.channels.signedFor(channelId, quote.hk)) throw err;
  }
  // A fresh r: the relay may keep the refused add's signed (H(k), H(r)); the contract pays another H(r).
  const contact = ctx.contacts.contact(row.contact);
  if (!contact || !row.body) throw new ClientError('BAD_DATA_DIR', `outbox entry ${row.id} lost its contact or body before it went on chain`);
  const r = ctx.random(32);
  const sealedHeader = sealHeader({
    sender: ctx, recipient: contact, hc: H(row.body), hk: quote.hk, relayId: quote.relayId, tag: quote.tag, mode: 'sender-pays', r, now: ctx.now(),
  });
  const payerKey = ctx.wallet.nextContractKeyIndex();
  await checkAffordable(ctx, quote, payerKey, r, signal);
  ctx.mail.outboxToChain(row.id, payerKey, { r, sealedHeader });
  return false;
}

/** Failures that say nothing about the request itself: trying again later may succeed. */
const TRANSIENT: string[] = ['RELAY_UNREACHABLE', 'CANCELLED', 'BAD_RELAY_ANSWER', 'RATE_LIMITED', 'CHAIN_UNAVAILABLE', 'INTERNAL', 'SHUTTING_DOWN'];

/** The recipient's relays first (her mailbox lives there), then the user's own. */
export function relaysFor(ctx: MailContext, contact: ContactRow): string[] {
  const urls = [...contact.relayHints, ...ctx.relays];
  const seen = new Set<string>();
  const out = urls.filter((u) => !seen.has(u.replace(/\/+$/, '')) && seen.add(u.replace(/\/+$/, '')));
  if (out.length === 0) throw new ClientError('NO_RELAYS', `neither ${contact.name}'s address nor your config names a relay`);
  return out;
}

/** The contact's bundle from the first of her relays that has one, checked against her trusted key. */
async function fetchBundle(ctx: MailContext, contact: ContactRow, relays: string[], signal?: AbortSignal): Promise<PrekeyBundle> {
  const mailbox = mailboxIdOf(contact.identityKey);
  let last: unknown;
  for (const url of relays) {
    try {
      const bundle = await ctx.relay(url).fetchPrekeys(mailbox, signal);
      try {
        verifyBundle(bundle, mailbox);
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        throw new ClientError('BAD_RELAY_ANSWER', `relay ${url} served a prekey bundle that fails its check: ${err.message}`, { cause: err });
      }
      if (!bytesEqual(bundle.identityKey, contact.identityKey)) throw new ClientError('BAD_RELAY_ANSWER', `relay ${url} served another identity's bundle`);
      return bundle;
    } catch (err) {
      if (signal?.aborted) throw err;
      last = err;
    }
  }
  // Her relays may be down or may not hold her keys any more: ask the relay network.
  const found = await bundleFromNetwork(ctx, mailbox, signal);
  if (found !== undefined && bytesEqual(found.identityKey, contact.identityKey)) return found;
  if (ClientError.is(last, 'RELAY_UNREACHABLE')) throw last;
  throw new ClientError('NO_BUNDLE', `none of ${contact.name}'s relays (${relays.join(', ')}) has her prekeys; ask her to run \`satpost publish\``, { cause: last });
}

/**
 * The quote of a relay the payer has an open channel with (ClientChannels.accounts, oldest
 * first), asked of that relay alone (POST /v1/quote, one round trip, no offer to the network)
 * and held to its standing terms for the channel (docs/protocol.md "Standing terms"): terms
 * held by this process while they hold, fetched afresh once they lapse. A relay is used only
 * where the recipient will find the message: it is one of her relays or the sender's, or it
 * and the first of those take part in the relay network. A quote above the terms is refused
 * (TERMS_EXCEEDED, kept in ClientChannels.termsRefusals; the terms are dropped, so the next
 * send fetches them again), as is one that fails quoteProblem; undefined when no channel gave an
 * acceptable quote: the caller offers the message to the network (bestQuote). Either mode: a
 * recipient-pays message is quoted the same way (the account's relay is the sender's relay;
 * the terms cap what the recipient is asked, who still decides at her read, paying over her own
 * channel with that relay when she holds one).
 */
export async function channelQuote(ctx: MailContext, offer: Offer, candidates: string[], signal?: AbortSignal, tipHeight?: Promise<number>): Promise<Quote | undefined> {
  const accounts = ctx.channels.accounts();
  if (accounts.length === 0) return undefined;
  const tip = tipHeight !== undefined ? await tipHeight : (await ctx.backend.getTip(signal)).height;
  const listed = new Set(candidates.map(canonicalUrl));
  const caught = new Set(ctx.contacts.fraudulentRelays().map((f) => f.relayId));
  for (const a of accounts) {
    try {
      if (!listed.has(a.relay) && !((await inRelayNetwork(ctx, a.relay, signal)) && (await inRelayNetwork(ctx, candidates[0]!, signal)))) continue;
      const terms = await ctx.channels.standingTerms(a.channelId, tip, signal);
      if (terms.network !== ctx.network || offer.retentionSecs > terms.maxRetentionSecs || caught.has(hex.encode(terms.relayId))) continue;
      const q = await ctx.relay(a.relay).quote(offer, signal);
      if (quoteProblem(ctx, q, offer, tip) !== undefined) continue;
      checkQuoteAgainstTerms(q, terms, offer);
      return q;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (ClientError.is(err, 'TERMS_EXCEEDED')) {
        ctx.channels.forgetTerms(a.channelId);
        ctx.channels.termsRefusals.push(err);
        if (ctx.channels.termsRefusals.length > 100) ctx.channels.termsRefusals.shift();
      }
      // Any other failure (relay unreachable, terms refused or malformed): the network path decides.
    }
  }
  return undefined;
}

/**
 * Throws TERMS_EXCEEDED unless `q` is within the standing terms `t` for this offer: the same
 * relay, a price of at most standingPrice(t, size, retention), a retention within the terms.
 */
export function checkQuoteAgainstTerms(q: Quote, t: StandingTerms, offer: Offer): void {
  const channelId = hex.encode(t.channelId);
  if (!bytesEqual(q.relayId, t.relayId)) throw new ClientError('BAD_RELAY_ANSWER', `the quote for channel ${channelId} is signed by another relay than its standing terms`);
  const limit = standingPrice(t, offer.size, offer.retentionSecs);
  if (q.amount > limit || offer.retentionSecs > t.maxRetentionSecs) {
    const err = new ClientError(
      'TERMS_EXCEEDED',
      `relay ${q.relayUrl} quoted ${q.amount} sats for ${offer.size} bytes kept ${offer.retentionSecs} s over channel ${channelId}, above its standing terms (${limit} sats, retention at most ${t.maxRetentionSecs} s)`,
    );
    err.details = { price: q.amount, limit, channelId };
    err.relay = q.relayUrl;
    throw err;
  }
}

const canonicalUrl = (u: string) => u.replace(/\/+$/, '');

/** Whether a relay says it takes part in the relay network (its information document's p2p.enabled), asked once a minute per relay. */
const networkMember = new WeakMap<object, { at: number; member: boolean }>();
async function inRelayNetwork(ctx: MailContext, url: string, signal?: AbortSignal): Promise<boolean> {
  const relay = ctx.relay(url);
  const known = networkMember.get(relay);
  if (known && known.at > ctx.now() - NOT_NETWORKED_MS) return known.member;
  let member = false;
  try {
    const info = await relay.info(signal);
    member = (info as { p2p?: { enabled?: unknown } }).p2p?.enabled === true;
  } catch (err) {
    if (signal?.aborted) throw err;
  }
  networkMember.set(relay, { at: ctx.now(), member });
  return member;
}

/**
 * Relays that said they route no offers (no relay network): asked directly for a while instead
 * of spending a round trip per message on POST /v1/offer. Keyed by the context's RelayClient.
 */
const notNetworked = new WeakMap<object, number>();
const NOT_NETWORKED_MS = 60_000;

/**
 * Quotes from the relay network (POST /v1/offer on the first relay that routes it: it answers
 * once every relay it expects has quoted or declined, or at its window; the offer is never
 * made at a second relay), else, when no relay routes it or the network brought no quote, one
 * per relay (POST /v1/quote: a refusal names the price); the cheapest that passes every check. NO_ACCEPTABLE_QUOTE carries the cheapest price seen
 * (`details.cheapest`) and, when the network's answer came at the window with relays still
 * silent, how many (`details.unanswered`: offering again may find them); RELAY_UNREACHABLE
 * when no relay answered at all.
 */
export async function bestQuote(ctx: MailContext, offer: Offer, relays: string[], signal?: AbortSignal, tipHeight?: Promise<number>): Promise<Quote> {
  const got = await gatherQuotes(ctx, offer, relays, signal, tipHeight);
  const best = got.judged.find((j) => j.problem === undefined)?.quote;
  if (!best) throw noAcceptableQuote(offer, got);
  return best;
}

/** Every quote an offer brought back, each judged (problem: why it is not acceptable), acceptable ones first, cheapest first. */
export interface GatheredQuotes {
  judged: { quote: Quote; problem?: string }[];
  /** Refusals and failures met on the way (a relay's message each). */
  problems: string[];
  /** The cheapest price seen, a refusal's named price included. */
  cheapest?: number;
  /** Relays of the network still silent when its answer came at the window. */
  unanswered: number;
}

/**
 * The quotes of bestQuote (the network's offer, else one quote per relay), every one judged by
 * quoteProblem and the fraud list; bestQuote takes the first acceptable one, a send preview
 * (./preview.ts) shows them all. RELAY_UNREACHABLE when no relay answered at all.
 */
export async function gatherQuotes(ctx: MailContext, offer: Offer, relays: string[], signal?: AbortSignal, tipHeight?: Promise<number>): Promise<GatheredQuotes> {
  const quotes: Quote[] = [];
  const problems: string[] = [];
  let cheapest: number | undefined;
  let reached = 0;
  let networked = false;
  let unanswered = 0;
  const seen = (price: unknown) => {
    if (typeof price === 'number' && (cheapest === undefined || price < cheapest)) cheapest = price;
  };
  for (const url of relays) {
    const relay = ctx.relay(url);
    if ((notNetworked.get(relay) ?? -Infinity) > ctx.now() - NOT_NETWORKED_MS) continue;
    try {
      const got = await relay.offerToNetwork(offer, signal);
      reached++;
      if (got === undefined) {
        notNetworked.set(relay, ctx.now());
        continue;
      }
      // The network's answer, whatever it holds: offering the same offer at another relay would
      // reach nobody new (every relay that saw it drops it again) and only wait for the deadline.
      unanswered = got.unanswered;
      quotes.push(...got.quotes);
      networked = got.quotes.length > 0;
      break;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (ClientError.is(err, 'RELAY_UNREACHABLE')) continue;
      reached++;
      seen((err as ClientError).details?.price);
      problems.push((err as Error).message);
    }
  }
  if (!networked) {
    for (const url of relays) {
      try {
        quotes.push(await ctx.relay(url).quote(offer, signal));
        reached++;
      } catch (err) {
        if (signal?.aborted) throw err;
        if (!ClientError.is(err, 'RELAY_UNREACHABLE')) reached++;
        seen((err as ClientError).details?.price);
        problems.push((err as Error).message);
      }
    }
  }
  if (reached === 0) throw new ClientError('RELAY_UNREACHABLE', `no relay answered (${relays.join(', ')}): ${problems.join('; ') || 'all unreachable'}`);
  const tip = tipHeight !== undefined ? await tipHeight : (await ctx.backend.getTip(signal)).height;
  const caught = new Set(ctx.contacts.fraudulentRelays().map((f) => f.relayId));
  const judged: { quote: Quote; problem?: string }[] = [];
  for (const q of quotes) {
    seen(q.amount);
    const why = caught.has(hex.encode(q.relayId)) ? 'this relay was caught serving a message that does not match its signed receipt (see its fraud proof)' : quoteProblem(ctx, q, offer, tip);
    if (why) problems.push(`${q.relayUrl}: ${why}`);
    judged.push({ quote: q, ...(why !== undefined ? { problem: why } : {}) });
  }
  judged.sort((a, b) => Number(a.problem !== undefined) - Number(b.problem !== undefined) || a.quote.amount - b.quote.amount || a.quote.locktime - b.quote.locktime);
  return { judged, problems, ...(cheapest !== undefined ? { cheapest } : {}), unanswered };
}

/** NO_ACCEPTABLE_QUOTE for an offer whose gathered quotes hold none acceptable: the cheapest price seen (`details.cheapest`) and the silent relays (`details.unanswered`). */
export function noAcceptableQuote(offer: Offer, got: GatheredQuotes): ClientError {
  const { cheapest, unanswered, problems } = got;
  const err = new ClientError(
    'NO_ACCEPTABLE_QUOTE',
    `no relay quoted an acceptable price for ${offer.size} bytes, ${offer.mode}, at most ${offer.maxFee} sats${cheapest !== undefined ? ` (cheapest seen: ${cheapest} sats)` : ''}` +
      `${unanswered > 0 ? ` (${unanswered} relay(s) of the network did not answer in time)` : ''}: ${problems.join('; ')}`,
  );
  err.details = { ...(cheapest !== undefined ? { cheapest } : {}), maxFee: offer.maxFee, ...(unanswered > 0 ? { unanswered } : {}) };
  return err;
}

/** Why a quote is not acceptable, or undefined. */
export function quoteProblem(ctx: MailContext, q: Quote, offer: Offer, tip: number): string | undefined {
  try {
    assertQuoteSigned(q, ctx.ed);
  } catch (err) {
    if (err instanceof SignatureError) return 'its signature does not verify';
    throw err;
  }
  if (!bytesEqual(q.offerId, offer.offerId) || !bytesEqual(q.tag, offer.tag) || q.mode !== offer.mode || q.size !== offer.size) {
    return 'it does not answer this offer';
  }
  if (q.network !== ctx.network) return `it is for ${q.network}, not ${ctx.network}`;
  if (q.amount > offer.maxFee) return `price ${q.amount} sats > max fee ${offer.maxFee}`;
  if (q.validUntil <= ctx.now()) return 'it has already lapsed';
  try {
    checkQuoteLocktime(q.locktime, tip, ctx.margins);
  } catch (err) {
    if (err instanceof ContractError) return err.message;
    throw err;
  }
  return undefined;
}

/**
 * The deposit; an on-chain sender-pays one the relay refuses as unpaid mail (its unpaid
 * allowance for the mailbox or for this client is used up, by spam or not) is funded first
 * and deposited again with its funding: a paid deposit is judged against the paid allowance
 * only. The funding is in the contract book before it is broadcast, so a crash in between
 * resumes with a deposit carrying it.
 */
async function depositOrPayFirst(ctx: MailContext, row: OutboxRow, signal?: AbortSignal): Promise<Receipt> {
  try {
    return await deposit(ctx, row, signal);
  } catch (err) {
    const unpaidRefused = ClientError.is(err, 'UNPAID_QUOTA_FULL') || ClientError.is(err, 'DEPOSITOR_QUOTA_FULL');
    if (!unpaidRefused || row.mode !== 'sender-pays' || row.channelId !== null || ctx.payer.contract(row.id)) throw err;
    await fund(ctx, row, signal);
    return deposit(ctx, row, signal);
  }
}

async function deposit(ctx: MailContext, row: OutboxRow, signal?: AbortSignal): Promise<Receipt> {
  const quote = QuoteCodec.decode(row.quote);
  if (!row.body) throw new ClientError('BAD_DATA_DIR', `outbox entry ${row.id} lost its body before it was deposited`);
  const d: Deposit = {
    quoteId: quote.quoteId, tag: quote.tag, sealedHeader: row.sealedHeader, body: row.body,
    hr: row.r ? H(row.r) : undefined,
    // Over a channel the relay expects the channel's payer key (it matches the HTLC by H(k) and H(r)).
    ...(row.mode === 'sender-pays'
      ? { payerPubkey: row.channelId !== null ? ctx.channels.state(row.channelId).payerPubkey : ctx.wallet.contractKey(row.payerKey!).pubkey33 }
      : {}),
    funding: fundingOf(ctx, row),
  };
  const { receipt } = await ctx.relay(row.relay).deposit(d, signal);
  // The depositor's receipt check (docs/protocol.md "Receipts"): signed, and binding exactly this message.
  try {
    assertReceiptSigned(receipt, ctx.ed);
  } catch (err) {
    throw new ClientError('BAD_RELAY_ANSWER', `relay ${row.relay}: the receipt does not verify (${(err as Error).message})`, { cause: err });
  }
  const binds = bytesEqual(receipt.relayId, quote.relayId) && bytesEqual(receipt.hk, quote.hk) && bytesEqual(receipt.hc, H(row.body)) && bytesEqual(receipt.tag, quote.tag);
  if (!binds) throw new ClientError('BAD_RELAY_ANSWER', `relay ${row.relay}: the receipt does not bind this quote, mailbox and body`);
  return receipt;
}

/** The funding of a sender-pays row funded before its deposit (depositOrPayFirst), if any. */
function fundingOf(ctx: MailContext, row: OutboxRow): { txid: string; vout: number } | undefined {
  const c = row.mode === 'sender-pays' ? ctx.payer.contract(row.id) : undefined;
  return c?.fundingTxid != null && c.fundingVout != null ? { txid: c.fundingTxid, vout: c.fundingVout } : undefined;
}

function senderTerms(ctx: MailContext, quote: Quote, payerKey: number, r: Uint8Array): ContractTerms {
  return {
    mode: 'sender-pays', hk: quote.hk, hr: H(r), relayPubkey: quote.contractPubkey, payerPubkey: ctx.wallet.contractKey(payerKey).pubkey33, locktime: quote.locktime,
  };
}

async function fund(ctx: MailContext, row: OutboxRow, signal?: AbortSignal): Promise<void> {
  if (ctx.payer.contract(row.id)) return; // funded before a crash: the watcher carries it on
  const quote = QuoteCodec.decode(row.quote);
  try {
    const item = { terms: senderTerms(ctx, quote, row.payerKey!, row.r!), amount: quote.amount, keyIndex: row.payerKey!, id: row.id };
    await withFreshCoins(ctx, () => ctx.payer.fund([item], signal ? { signal } : {}), signal);
  } catch (err) {
    throw walletProblem(err);
  }
}

/**
 * Fails with INSUFFICIENT_FUNDS before anything is deposited: coin selection on a draft that is
 * then abandoned. Returns the funding fee that draft would have paid (a send preview shows it).
 */
export async function checkAffordable(ctx: MailContext, quote: Quote, payerKey: number, r: Uint8Array, signal?: AbortSignal): Promise<number> {
  signal?.throwIfAborted();
  let draft: { txid: string; fee: number };
  try {
    const output = { script: contractScriptPubKey(buildContractScript(senderTerms(ctx, quote, payerKey, r))), amount: quote.amount };
    draft = await withFreshCoins(ctx, () => ctx.wallet.createTransaction({ outputs: [output] }), signal);
  } catch (err) {
    throw walletProblem(err);
  }
  ctx.wallet.abandonTransaction(draft.txid);
  return draft.fee;
}
