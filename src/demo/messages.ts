/**
 * The two messages of the story (docs/protocol.md "One message, step by step"): the first
 * paid by Alice on delivery (sender-pays), the second paid by Carol when she chooses to read
 * it (recipient-pays). Every step is narrated; every check a party makes is made here for real.
 */
import { hex } from '@scure/base';
import { buildContractScript, contractScriptPubKey, checkQuoteLocktime } from '../contracts/index.ts';
import { H } from '../core/hash.ts';
import { DepositCodec, type Offer, type PaymentMode } from '../core/objects/index.ts';
import { sealEnvelope } from '../envelope/envelope.ts';
import { fingerprintOf } from '../identity/keys.ts';
import type { ClaimResult, ListedMessage } from './bob.ts';
import { checkReceipt, inspect, listMailbox, readWithKeyFromChain, requestQuote } from './client.ts';
import { DemoError } from './errors.ts';
import { sats, short } from './narrator.ts';
import { mineAndSync, type World } from './world.ts';

/** Bodies are offered at this size: a first Signal message (PreKey, with PQXDH's Kyber ciphertext) of a 256-byte padded text fits. */
const OFFER_SIZE = 4096;
const RETENTION_SECS = 7 * 86_400;
const MAX_FEE = 10_000;

export interface MessageOutcome {
  text: string;
  mode: PaymentMode;
  amount: number;
  funding: { txid: string; vsize: number; fee: number };
  claim: ClaimResult;
  claimTxid: string;
}

/** Alice's offer, Bob's quote, Alice's checks, and the sealed envelope. */
async function offerAndSeal(w: World, text: string, mode: PaymentMode, r?: Uint8Array) {
  const { n, alice, carol } = w;
  const offer: Offer = {
    offerId: w.random(16), mailbox: carol.identity.mailbox, mode, size: OFFER_SIZE, maxFee: MAX_FEE, retentionSecs: RETENTION_SECS, createdAt: w.now(),
  };
  n.say(`Alice offers: ${OFFER_SIZE} bytes for mailbox ${short(hex.encode(offer.mailbox))}, ${mode}, at most ${sats(MAX_FEE)}, kept 7 days`);
  const quote = await requestQuote(w.bob, offer, { backend: w.chainOf.alice, ed: w.ed, margins: w.margins });
  n.say(`Bob quotes ${sats(quote.amount)}, T = block ${quote.locktime}, H(k) ${short(hex.encode(quote.hk))}, contract key ${short(hex.encode(quote.contractPubkey))}`);
  n.say('Alice checks the quote: Bob\'s Ed25519 signature verifies, it answers her offer, T is within the margins');
  const env = await sealEnvelope({
    sender: { identity: alice.identity, sessions: alice.sessions },
    recipient: { peer: 'carol', identityKey: carol.identity.publicKey, ...(w.carolBundle ? { bundle: w.carolBundle } : {}) },
    message: { kind: 'text', text },
    hk: quote.hk, relayId: quote.relayId, mailbox: quote.mailbox, mode, ...(r ? { r } : {}), now: w.now(),
  });
  w.carolBundle = undefined;
  n.say(`Alice seals: Signal body c of ${env.body.length} bytes (${env.body[0] === 3 ? 'PreKey message, PQXDH' : 'Double Ratchet message'}), sealed header of ${env.sealedHeader.length} bytes${r ? ' (with her receipt secret r)' : ''}`);
  return { quote, env };
}

/** Carol lists her mailbox and checks the one new message before paying anything. */
function fetchAndInspect(w: World) {
  const items = listMailbox(w.carol, w.bob, w.now());
  if (items.length !== 1) throw new DemoError('BAD_RELAY_ANSWER', `expected one new message in Carol's mailbox, got ${items.length}`);
  const item = items[0]!;
  const { view } = inspect(w.carol, item, w.alice.identity.publicKey, w.ed);
  w.n.say(`Carol proves she owns her mailbox (signed challenge) and fetches sealed header + blob (${item.blob.length} bytes)`);
  w.n.say(`Carol opens the header; verified: from Alice (identity ${fingerprintOf(view.senderIdentityKey).slice(0, 23)}…), Bob's receipt covers this blob`);
  return { item, view };
}

export async function senderPays(w: World, text: string): Promise<MessageOutcome> {
  const { n, alice } = w;
  const r = w.random(32);
  const { quote, env } = await offerAndSeal(w, text, 'sender-pays', r);

  const payerKey = alice.wallet.contractKey(alice.wallet.nextContractKeyIndex());
  const terms = { mode: 'sender-pays' as const, hk: quote.hk, hr: H(r), relayPubkey: quote.contractPubkey, payerPubkey: payerKey.pubkey33, locktime: quote.locktime };
  const script = buildContractScript(terms);
  const funding = await alice.wallet.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount: quote.amount, contractLabel: 'message 1' }] });
  await alice.wallet.broadcast(funding.txid);
  n.tx('Alice funds HTLC(H(k), H(r))', funding);
  await mineAndSync(w, 'the funding');

  const receiptBytes = await w.bob.deposit(
    DepositCodec.encode({ quoteId: quote.quoteId, mailbox: quote.mailbox, sealedHeader: env.sealedHeader, body: env.body, hr: H(r), funding: { txid: funding.txid, vout: 0 } }),
    payerKey.pubkey33,
  );
  checkReceipt(receiptBytes, quote, env.hc, w.ed);
  n.say('Bob re-derives the contract from his quote, finds it funded on chain (1 confirmation), stores blob = AEAD_k(c), forgets c');
  n.say('Bob signs the storage receipt; Alice checks it binds H(blob), H(k), H(c) and the mailbox');

  const { item, view } = fetchAndInspect(w);
  const claim = await w.bob.deliveryReceipt(item.messageId, view.header.r!);
  n.say('Carol sends r to Bob: her delivery receipt');
  n.tx('Bob claims, publishing k and r', claim);
  await mineAndSync(w, 'the claim');

  const read = await readWithKeyFromChain(w.carol, item, item.contract!, { backend: w.chainOf.carol, aead: w.aead });
  alice.wallet.releaseContractOutput(funding.txid, 0);
  n.say(`Carol reads k from the confirmed claim ${read.claim.claimTxid} at height ${read.claim.blockHeight}; H(k) matches`);
  n.say('Carol opens the blob with k, H(c) matches the signed header, Signal decrypts it');
  const got = read.opened.message.kind === 'text' ? read.opened.message.text : '(a file)';
  n.say(`Carol reads: "${got}"`);
  return { text: got, mode: 'sender-pays', amount: quote.amount, funding, claim, claimTxid: read.claim.claimTxid };
}

export async function recipientPays(w: World, text: string): Promise<MessageOutcome> {
  const { n, carol } = w;
  const { quote, env } = await offerAndSeal(w, text, 'recipient-pays');
  const receiptBytes = await w.bob.deposit(
    DepositCodec.encode({ quoteId: quote.quoteId, mailbox: quote.mailbox, sealedHeader: env.sealedHeader, body: env.body, hr: undefined, funding: undefined }),
  );
  checkReceipt(receiptBytes, quote, env.hc, w.ed);
  n.say('Alice deposits without paying; Bob stores blob = AEAD_k(c) and signs the receipt');

  const { item } = fetchAndInspect(w);
  const contract = await carolPays(w, item);
  const claim = await w.bob.payment(item.messageId, contract.outpoint, contract.payerPubkey);
  n.tx('Bob claims, publishing k', claim);
  await mineAndSync(w, 'the claim');

  const read = await readWithKeyFromChain(carol, item, contract, { backend: w.chainOf.carol, aead: w.aead });
  carol.wallet.releaseContractOutput(contract.outpoint.txid, contract.outpoint.vout);
  n.say(`Carol reads k from the confirmed claim ${read.claim.claimTxid}; H(k) matches, the blob opens, Signal decrypts it`);
  const got = read.opened.message.kind === 'text' ? read.opened.message.text : '(a file)';
  n.say(`Carol reads: "${got}"`);
  return { text: got, mode: 'recipient-pays', amount: item.terms.amount, funding: contract.funding, claim, claimTxid: read.claim.claimTxid };
}

/** Carol decides the message is worth its price and funds HTLC(H(k); Bob; refund Carol after T). */
async function carolPays(w: World, item: ListedMessage) {
  const { n, carol } = w;
  checkQuoteLocktime(item.terms.locktime, (await w.chainOf.carol.getTip()).height, w.margins);
  const payerKey = carol.wallet.contractKey(carol.wallet.nextContractKeyIndex());
  const script = buildContractScript({
    mode: 'recipient-pays', hk: item.hk, relayPubkey: item.terms.relayPubkey, payerPubkey: payerKey.pubkey33, locktime: item.terms.locktime,
  });
  n.say(`Carol decides to pay ${sats(item.terms.amount)} to read it`);
  const funding = await carol.wallet.createTransaction({ outputs: [{ script: contractScriptPubKey(script), amount: item.terms.amount, contractLabel: 'message 2' }] });
  await carol.wallet.broadcast(funding.txid);
  n.tx('Carol funds HTLC(H(k))', funding);
  await mineAndSync(w, "Carol's payment");
  return { script, outpoint: { txid: funding.txid, vout: 0 }, payerPubkey: payerKey.pubkey33, funding };
}
