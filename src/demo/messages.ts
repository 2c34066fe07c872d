/**
 * The two messages of the story (docs/protocol.md "One message, step by step"), sent and read
 * through the Client SDK against the three relays: the first paid by Alice on delivery
 * (sender-pays), the second paid by Carol when she chooses to read it (recipient-pays). What
 * the SDK does not return (the quotes it weighed, the claim) is read from the relays' stores
 * and from the chain, and checked against what the SDK did.
 */
import { hex } from '@scure/base';
import type { InboxEntry, ReadMessage, SentMessage } from '../client/index.ts';
import { messageIdOf, type PaymentMode, type Quote } from '../core/objects/index.ts';
import { contractOutput, readClaim, spenderOf, txFigure } from './chain.ts';
import { DemoError } from './errors.ts';
import { sats, short, type TxFigure } from './narrator.ts';
import { issuedQuotes, pollUntil, quoteIds, type DemoRelay } from './relays.ts';
import { mineBlock, relayAt, type World } from './world.ts';

const MAX_FEE = 10_000;
/** Half a day: within every relay's retention ceiling (T - claim margin, in blocks of 10 minutes). */
const RETENTION_DAYS = 0.5;

export interface MessageOutcome {
  text: string;
  mode: PaymentMode;
  id: string;
  /** The relay's price: what the contract locked. */
  price: number;
  /** Every quote the network returned for the offer, by relay name. */
  quotes: { relay: string; amount: number }[];
  storedAt: string;
  /** The relay Carol's inbox query entered the network at. */
  askedAt: string;
  funding: TxFigure;
  claim: TxFigure;
}

interface Sent {
  sent: SentMessage;
  relay: DemoRelay;
  quotes: { relay: string; amount: number }[];
}

/** Alice's SDK: offer to the network, quotes, the cheapest chosen, sealed, deposited, receipt checked. */
async function send(w: World, text: string, mode: PaymentMode): Promise<Sent> {
  const { n } = w;
  const entry = relayAt(w, w.alice.contact('carol').relayHints[0]!);
  const before = w.relays.map(quoteIds);
  n.say(`Alice's SDK encrypts the message for Carol (Signal) and offers it to the relay network through ${entry.name}'s relay`);
  n.say(`  (the first relay in Carol's address): ${mode}, at most ${sats(MAX_FEE)}, kept 12 hours`);
  const sent = await w.alice.send('carol', { text }, { mode, maxFee: MAX_FEE, retentionDays: RETENTION_DAYS });

  const quotes: { relay: DemoRelay; quote: Quote }[] = w.relays.flatMap((r, i) =>
    issuedQuotes(r).filter((q) => !before[i]!.has(hex.encode(q.quoteId))).map((quote) => ({ relay: r, quote })));
  const offers = new Set(quotes.map((q) => hex.encode(q.quote.offerId)));
  if (quotes.length !== w.relays.length || offers.size !== 1) {
    throw new DemoError('STORY_MISMATCH', `expected one quote from each of the ${w.relays.length} relays for one offer, got ${quotes.length} quote(s) for ${offers.size} offer(s)`);
  }
  n.say(`the offer (size class ${sent.size} bytes, not the message's length; offer id ${short([...offers][0]!)}) spreads over gossipsub; every relay whose price fits answers with a signed quote and a fresh k:`);
  for (const { relay, quote } of quotes) {
    n.say(`  ${relay.name}'s relay quotes ${sats(quote.amount)}, T = block ${quote.locktime}, H(k) ${short(hex.encode(quote.hk))}`);
  }
  const chosen = quotes.find((q) => hex.encode(messageIdOf(q.quote.hk)) === sent.id);
  const cheapest = [...quotes].sort((a, b) => a.quote.amount - b.quote.amount)[0]!;
  if (!chosen || chosen.relay !== cheapest.relay || relayAt(w, sent.relay) !== chosen.relay || chosen.quote.amount !== sent.price) {
    throw new DemoError('STORY_MISMATCH', `Alice's SDK deposited at ${sent.relay} for ${sent.price} sats; the cheapest quote was ${cheapest.relay.name}'s ${cheapest.quote.amount} sats`);
  }
  const name = chosen.relay.name;
  n.say(`Alice's SDK checks each quote (Ed25519 signature, answers her offer, price <= max fee, T within the margins) and takes the cheapest: ${name}'s, ${sats(sent.price)}`);
  n.say(`Alice's SDK seals the Signal message, padded to the class, and the header to Carol's key for ${name} (her deniable authenticator over H(c), H(k), relay, tag${mode === 'sender-pays' ? ', and her receipt secret r' : ''}) and deposits at ${chosen.relay.url}`);
  n.say(`${name}'s relay seals c with its one-time key k: stores blob = AEAD_k(c), forgets c, and signs the storage receipt for message ${short(sent.id)}`);
  n.say(`Alice's SDK verifies the receipt: ${name}'s signature, and it binds H(blob), H(k), H(c) and the message's tag (Carol's introduction tag of the day: a first contact)`);
  return { sent, relay: chosen.relay, quotes: quotes.map((q) => ({ relay: q.relay.name, amount: q.quote.amount })) };
}

/** Carol's SDK: a tag query through her own relay finds the message at another one. */
async function find(w: World, id: string): Promise<{ entry: InboxEntry; asked: DemoRelay; stored: DemoRelay }> {
  const { n } = w;
  const asked = relayAt(w, w.carol.relays[0]!);
  n.say(`Carol asks her relay, ${asked.name}'s (${asked.url}): a tag query (random-looking tags and a one-time answer key, nothing that names her) enters the network there`);
  const { entries, problems } = await w.carol.inbox();
  if (problems.length > 0) {
    throw new DemoError('STORY_MISMATCH', `Carol's inbox met problems: ${problems.map((p) => `${p.relay}: ${(p.error as Error).message}`).join('; ')}`);
  }
  const entry = entries.find((e) => e.id === id);
  if (!entry) throw new DemoError('STORY_MISMATCH', `message ${id} is not in Carol's inbox (${entries.length} entries)`);
  const stored = relayAt(w, entry.relay);
  n.say(`the query travels relay to relay; ${stored.name}'s relay answers, signed by it and sealed to the one-time key, that it holds a message under one of the tags`);
  n.say(`Carol asked ${asked.name}'s relay; ${stored.name}'s relay holds it`);
  if (stored === asked) throw new DemoError('STORY_MISMATCH', `the relay Carol asked (${asked.name}) stored the message itself: the network found nothing`);
  n.say(`Carol's SDK fetches sealed header + blob from ${stored.url} (the tag's secret proves the right to fetch it) and checks ${stored.name}'s quote and receipt`);
  if (!entry.verified || entry.from !== 'alice') throw new DemoError('STORY_MISMATCH', `the message is from ${entry.from}, verified ${entry.verified}; the story expects Alice, verified`);
  n.say(`Carol opens the sealed header; verified: from alice (Alice's authenticator checks, her key is the contact's; Carol could have made it herself, so it proves nothing to others), before paying anything`);
  return { entry, asked, stored };
}

/** The claim spending the contract, once the relay has broadcast it (it may still be on its way). */
async function claimOf(w: World, outpoint: { txid: string; vout: number }): Promise<string> {
  let txid: string | undefined;
  await pollUntil(() => (txid = spenderOf(w.devnet, outpoint)) !== undefined, 10_000, `a claim of ${outpoint.txid}:${outpoint.vout}`);
  return txid!;
}

/** The confirmed claim, read back from the chain: k (and r) in its witness, k the key of this message. */
function narrateClaimRead(w: World, outpoint: { txid: string; vout: number }, id: string, relay: string): void {
  const c = readClaim(w.devnet, outpoint, id);
  w.n.say(`the chain now holds k for good: the confirmed claim ${c.claimTxid} (height ${c.blockHeight}) publishes k${c.r ? ' and r' : ''},`);
  w.n.say(`  and H(k) gives exactly message id ${short(id)}: ${relay} was paid if and only if Carol got k`);
}

/**
 * The relay's claim of the contract at `outpoint` (`publishes` what its witness reveals), Carol's
 * plaintext, then the claim mined and read back from the chain.
 */
async function claimAndRead(w: World, read: ReadMessage, outpoint: { txid: string; vout: number }, id: string, relay: string, publishes: string): Promise<{ claim: TxFigure; got: string }> {
  const claim = txFigure(w.devnet, `${relay} claims, ${publishes}`, await claimOf(w, outpoint));
  w.n.tx(claim.label, claim);
  w.n.say(`Carol opens the blob with k, H(c) matches the authenticated header, c opens to the Signal message, Signal decrypts it`);
  const got = read.message.kind === 'text' ? read.message.text : '(a file)';
  w.n.say(`Carol reads: "${got}"`);
  mineBlock(w, `${relay}'s claim`);
  narrateClaimRead(w, outpoint, id, `${relay}'s relay`);
  return { claim, got };
}

export async function senderPays(w: World, text: string): Promise<MessageOutcome> {
  const { n } = w;
  const { sent, relay, quotes } = await send(w, text, 'sender-pays');
  if (sent.state !== 'funded' || sent.fundingTxid === undefined) throw new DemoError('STORY_MISMATCH', `message 1 is ${sent.state}, not funded`);
  const funding = txFigure(w.devnet, 'Alice funds HTLC(H(k), H(r))', sent.fundingTxid);
  n.tx(funding.label, funding);
  mineBlock(w, "Alice's funding (the relay claims only against a confirmed funding)");

  const { entry, asked, stored } = await find(w, sent.id);
  const read = await w.carol.read(entry.id, { pollMs: 200, onProgress: (line) => n.say(`Carol's SDK: ${line}`) });
  n.say(`Carol sends r to ${relay.name}'s relay: her delivery receipt; it checks H(r), claims on chain and hands k to Carol (the fast path)`);
  const { claim, got } = await claimAndRead(w, read, contractOutput(w.devnet, sent.fundingTxid, sent.price), sent.id, relay.name, 'publishing k and r');
  await w.alice.syncContracts();
  const state = w.alice.outbox().find((m) => m.id === sent.id)?.state;
  if (state !== 'delivered') throw new DemoError('STORY_MISMATCH', `Alice's outbox says message 1 is ${state}, not delivered`);
  n.say(`Alice's contract watcher sees k and r on chain: her outbox marks message 1 delivered`);
  return { text: got, mode: 'sender-pays', id: sent.id, price: sent.price, quotes, storedAt: stored.name, askedAt: asked.name, funding, claim };
}

export async function recipientPays(w: World, text: string): Promise<MessageOutcome> {
  const { n } = w;
  const { sent, relay, quotes } = await send(w, text, 'recipient-pays');
  if (sent.state !== 'deposited') throw new DemoError('STORY_MISMATCH', `message 2 is ${sent.state}, not deposited`);
  n.say(`Alice pays nothing: ${relay.name}'s relay keeps the blob until Carol decides to pay ${sats(sent.price)} for k`);

  const { entry, asked, stored } = await find(w, sent.id);
  n.say(`Carol's inbox lists it at ${sats(entry.price)}; she decides to pay to read it`);
  let funding: TxFigure | undefined;
  const read = await w.carol.read(entry.id, {
    maxPrice: entry.price,
    pollMs: 200,
    onProgress: (line) => {
      n.say(`Carol's SDK: ${line}`);
      // The SDK broadcast the funding and waits for the depth the relay needs: the demo mines it.
      if (funding === undefined && /to confirm/.test(line)) {
        const pending = w.devnet.mempoolTxids();
        if (pending.length !== 1) throw new DemoError('STORY_MISMATCH', `expected Carol's funding alone in the mempool, found ${pending.length} transactions`);
        funding = txFigure(w.devnet, 'Carol funds HTLC(H(k))', pending[0]!);
        n.tx(funding.label, funding);
        mineBlock(w, "Carol's payment");
      }
    },
  });
  if (funding === undefined) throw new DemoError('STORY_MISMATCH', "Carol's SDK read message 2 without waiting for its payment to confirm");
  n.say(`Carol's SDK sends the payment notice; ${relay.name}'s relay re-derives the contract from its quote, finds it confirmed, claims and hands k over`);
  const { claim, got } = await claimAndRead(w, read, contractOutput(w.devnet, funding.txid, sent.price), sent.id, relay.name, 'publishing k');
  return { text: got, mode: 'recipient-pays', id: sent.id, price: sent.price, quotes, storedAt: stored.name, askedAt: asked.name, funding, claim };
}
