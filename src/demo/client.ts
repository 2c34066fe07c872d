/**
 * What the users' software does against a relay, with every check the protocol asks of it:
 * Alice checks a quote before funding and a receipt after depositing; Carol proves she owns
 * her mailbox, checks what she lists, and opens a message only with a k she read on chain.
 */
import { hex } from '@scure/base';
import type { ChainBackend } from '../chain/backend.ts';
import { checkQuoteLocktime, parseContractScript, type LocktimeMargins } from '../contracts/index.ts';
import type { Aead } from '../core/aead.ts';
import { keyMatches, openBlob } from '../core/blob.ts';
import type { Ed25519 } from '../core/ed25519.ts';
import { expected } from '../core/errors.ts';
import { H, bytesEqual } from '../core/hash.ts';
import {
  MailboxAuthCodec, OfferCodec, QuoteCodec, ReceiptCodec, assertQuoteSigned, assertReceiptSigned, mailboxAuthBytes,
  type Offer, type Quote, type Receipt,
} from '../core/objects/index.ts';
import { openEnvelope, openHeader, type HeaderView, type OpenedEnvelope } from '../envelope/envelope.ts';
import type { DemoRelay, ListedMessage } from './bob.ts';
import { readClaimFromChain, type ClaimOnChain } from './chain.ts';
import { DemoError } from './errors.ts';
import type { Person } from './people.ts';

/** Sends the offer, and accepts the quote only if it is signed, answers this offer, and T is sane. */
export async function requestQuote(relay: DemoRelay, offer: Offer, o: { backend: ChainBackend; ed: Ed25519; margins: LocktimeMargins }): Promise<Quote> {
  const quote = QuoteCodec.decode(await relay.quote(OfferCodec.encode(offer)));
  assertQuoteSigned(quote, o.ed);
  const answers = bytesEqual(quote.offerId, offer.offerId) && bytesEqual(quote.mailbox, offer.mailbox) && quote.mode === offer.mode && quote.size === offer.size;
  if (!answers) throw new DemoError('BAD_RELAY_ANSWER', 'the quote does not answer this offer');
  if (quote.network !== 'regtest') throw new DemoError('BAD_RELAY_ANSWER', expected('quote network', 'regtest', quote.network));
  if (quote.amount > offer.maxFee) throw new DemoError('BAD_RELAY_ANSWER', expected('quote amount', `<= maxFee ${offer.maxFee}`, quote.amount));
  checkQuoteLocktime(quote.locktime, (await o.backend.getTip()).height, o.margins);
  return quote;
}

/** The depositor's receipt check (docs/protocol.md "Receipts"). */
export function checkReceipt(bytes: Uint8Array, quote: Quote, hc: Uint8Array, ed: Ed25519): Receipt {
  const receipt = ReceiptCodec.decode(bytes);
  assertReceiptSigned(receipt, ed);
  const binds = bytesEqual(receipt.relayId, quote.relayId) && bytesEqual(receipt.hk, quote.hk) && bytesEqual(receipt.hc, hc) && bytesEqual(receipt.mailbox, quote.mailbox);
  if (!binds) throw new DemoError('BAD_RELAY_ANSWER', 'the receipt does not bind this quote, mailbox and body');
  return receipt;
}

/** Carol signs the relay's fresh challenge with her identity key and lists her mailbox. */
export function listMailbox(carol: Person, relay: DemoRelay, now: number): ListedMessage[] {
  const challenge = relay.challenge();
  const unsigned = { mailbox: carol.identity.mailbox, identityKey: carol.identity.publicKey, challenge, timestamp: now };
  const signature = carol.identity.keyPair.privateKey.sign(Uint8Array.from(mailboxAuthBytes(unsigned)));
  return relay.list(MailboxAuthCodec.encode({ ...unsigned, signature }));
}

export interface Inspected {
  view: HeaderView;
  receipt: Receipt;
}

/**
 * Before paying anything: the header opens to Carol, its signature verifies, the sender is who
 * Carol expects, and the relay's receipt covers exactly this blob and key.
 */
export function inspect(carol: Person, item: ListedMessage, expectedSender: Uint8Array, ed: Ed25519): Inspected {
  const view = openHeader(carol.identity, item.sealedHeader, carol.identity.mailbox, item.hk);
  if (!bytesEqual(view.senderIdentityKey, expectedSender)) throw new DemoError('BAD_RELAY_ANSWER', 'the message is signed by another identity than the expected sender');
  const receipt = ReceiptCodec.decode(item.receipt);
  assertReceiptSigned(receipt, ed);
  if (!bytesEqual(receipt.hk, item.hk) || !bytesEqual(receipt.hblob, H(item.blob)) || !bytesEqual(receipt.hc, view.header.hc)) {
    throw new DemoError('BAD_RELAY_ANSWER', 'the receipt does not cover this blob, k and body hash');
  }
  if (item.contract) {
    const t = parseContractScript(item.contract.script);
    const r = view.header.r;
    if (!bytesEqual(t.hk, item.hk) || !r || !t.hr || !bytesEqual(t.hr, H(r))) {
      throw new DemoError('BAD_RELAY_ANSWER', "the listed contract is not locked to this message's H(k) and the sender's H(r)");
    }
  }
  return { view, receipt };
}

export interface Read {
  claim: ClaimOnChain;
  opened: OpenedEnvelope;
}

/** k from the confirmed claim on chain (never from the relay), then blob -> c -> Signal plaintext. */
export async function readWithKeyFromChain(
  carol: Person,
  item: ListedMessage,
  contract: { script: Uint8Array; outpoint: { txid: string; vout: number } },
  o: { backend: ChainBackend; aead: Aead },
): Promise<Read> {
  const claim = await readClaimFromChain(o.backend, contract.outpoint, contract.script);
  if (!keyMatches(claim.k, item.hk)) throw new DemoError('NO_CLAIM', expected('k on chain', `a preimage of H(k) ${hex.encode(item.hk)}`, claim.k));
  const c = openBlob(claim.k, item.blob, o.aead);
  const opened = await openEnvelope({
    recipient: { identity: carol.identity, sessions: carol.sessions }, sealedHeader: item.sealedHeader, body: c, mailbox: carol.identity.mailbox, hk: item.hk,
  });
  return { claim, opened };
}
