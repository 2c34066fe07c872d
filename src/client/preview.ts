/**
 * The price of a message before it is sent (the app's compose box shows it before the user
 * commits): the quotes that came back, the relay a send would choose, whether it would be
 * paid over a payment channel or on chain, and the total (price + funding fee).
 *
 * It asks exactly as send does (./send.ts): with an open channel, that relay alone within its
 * standing terms (channelQuote), else the relay network's offer or each relay (gatherQuotes),
 * judged by the same checks. Nothing is paid, stored, encrypted or saved: no draft, no Signal
 * session step, no tag taken. The offer is the Offer object a send makes, with nothing added:
 * a fresh offerId and a fresh random tag (a relay cannot tell it from a conversation tag; no
 * deposit ever comes under it), the size class the message will have at most (sizeClassBound:
 * encrypting would move the session), the mode, maxFee, retention and the coarse time. What a
 * relay learns from it is what it learns from any offer whose quote is not taken
 * (docs/protocol.md "Send previews").
 *
 * A preview's quote is not reused by the send that follows: the send quotes afresh (its offer
 * names its own tag and exact size class), so its price may differ from the preview's by the
 * market's movement in between, never above maxFee.
 */
import { hex } from '@scure/base';
import { coarseOfferTime, type MessageContent, type Offer, type PaymentMode, type Quote } from '../core/objects/index.ts';
import { H } from '../core/hash.ts';
import { sizeClassBound } from '../envelope/envelope.ts';
import { EnvelopeError } from '../envelope/errors.ts';
import type { MailContext } from './mail-context.ts';
import {
  DEFAULT_MAX_FEE, DEFAULT_RETENTION_DAYS, channelQuote, checkAffordable, gatherQuotes, noAcceptableQuote, relaysFor,
  type SendContent, type SendOptions,
} from './send.ts';
import type { ContactRow } from './store.ts';

/** One quote a preview's offer brought back. */
export interface QuoteSeen {
  relay: string;
  /** Relay id, hex. */
  relayId: string;
  price: number;
  /** Contract locktime T (block height). */
  locktime: number;
  /** Unix ms after which the relay no longer honours it. */
  validUntil: number;
  /** Why a send would not take it (above maxFee, lapsed, T outside the margins, ...); absent when acceptable. */
  problem?: string;
}

export interface SendPreview {
  to: string;
  mode: PaymentMode;
  /** The size class offered: the message's, or one class above it at a boundary. */
  size: number;
  /** Every quote that came back, acceptable ones first, cheapest first. */
  quotes: QuoteSeen[];
  /** 'channel': the relay of an open channel quoted alone within its standing terms; 'offer': the network's offer or each relay. */
  quotedBy: 'channel' | 'offer';
  /** The relay a send would choose now (the cheapest acceptable quote). */
  relay: string;
  /** Its price, sats (sender-pays: what the sender locks; recipient-pays: what the recipient is asked). */
  price: number;
  /** Sender-pays: an HTLC in an open channel with that relay, or a contract funded on chain. */
  via?: 'channel' | 'chain';
  channelId?: string;
  /** Sender-pays on chain: the funding transaction's fee, sats (a draft built and abandoned); 0 otherwise. */
  fee: number;
  /** price + fee: what the payer (the sender, or for recipient-pays the recipient) pays in all. */
  total: number;
}

export async function previewSend(ctx: MailContext, contact: ContactRow, content: SendContent, o: Omit<SendOptions, 'again'> = {}): Promise<SendPreview> {
  const mode = o.mode ?? 'sender-pays';
  const message: MessageContent = 'text' in content ? { kind: 'text', text: content.text } : { kind: 'file', ...content.file };
  const now = ctx.now();
  const size = sizeClassBound(message, now);
  if (size === undefined) throw new EnvelopeError('BAD_INPUT', 'the message is too large for the largest size class');
  const candidates = relaysFor(ctx, contact);
  const tipAsked = ctx.backend.getTip(o.signal).then((t) => t.height);
  tipAsked.catch(() => undefined);
  const offer: Offer = {
    offerId: ctx.random(16), tag: ctx.random(32), mode, size, maxFee: o.maxFee ?? DEFAULT_MAX_FEE,
    retentionSecs: Math.round((o.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400), createdAt: coarseOfferTime(now),
  };
  const channel = o.channel !== false;
  const direct = channel ? await channelQuote(ctx, offer, candidates, o.signal, tipAsked) : undefined;
  let judged: { quote: Quote; problem?: string }[];
  if (direct) judged = [{ quote: direct }];
  else {
    const got = await gatherQuotes(ctx, offer, candidates, o.signal, tipAsked);
    if (got.judged[0]?.problem !== undefined || got.judged.length === 0) throw noAcceptableQuote(offer, got);
    judged = got.judged;
  }
  const quote = judged[0]!.quote;
  let via: 'channel' | 'chain' | undefined;
  let channelId: string | undefined;
  let fee = 0;
  if (mode === 'sender-pays') {
    const tip = await tipAsked;
    // Any r: the HTLC probe and the draft funding only need its hash's and the script's sizes.
    const r = ctx.random(32);
    const ch = channel ? await ctx.channels.usable(quote.relayUrl, { mode, hk: quote.hk, hr: H(r), amount: quote.amount, locktime: quote.locktime }, o.signal, tip) : undefined;
    if (ch) {
      via = 'channel';
      channelId = ch.channel.id;
    } else {
      via = 'chain';
      // Key 0 stands in for the refund key a send would take: the draft is abandoned, never broadcast.
      fee = await checkAffordable(ctx, quote, 0, r, o.signal);
    }
  }
  return {
    to: contact.name, mode, size, quotedBy: direct ? 'channel' : 'offer',
    quotes: judged.map(({ quote: q, problem }) => ({
      relay: q.relayUrl, relayId: hex.encode(q.relayId), price: q.amount, locktime: q.locktime, validUntil: q.validUntil, ...(problem !== undefined ? { problem } : {}),
    })),
    relay: quote.relayUrl, price: quote.amount, ...(via ? { via } : {}), ...(channelId !== undefined ? { channelId } : {}), fee, total: quote.amount + fee,
  };
}
