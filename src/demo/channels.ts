/**
 * Act 3, payment channels (docs/protocol.md "Payment channels"): Alice opens a channel to the
 * relay that stored acts 1-2 and pays many sender-pays messages through it that Carol reads;
 * Carol opens one and pays a tenth as many recipient-pays messages through hers; both close
 * cooperatively. Nothing reaches the chain between the opens and the closes: the act checks it.
 * The on-chain cost per message is the real vsize of the two fundings and two closes over the
 * messages; next to it, what the same messages cost as contracts, measured from acts 1-2.
 */
import { RawTx } from '@scure/btc-signer';
import type { ChannelSummary } from '../client/channels.ts';
import { ClientError, type Client } from '../client/index.ts';
import { NETWORKS } from '../core/network.ts';
import { addressToScript } from '../wallet/index.ts';
import { spenderOf, txFigure } from './chain.ts';
import { DemoError } from './errors.ts';
import type { MessageOutcome } from './messages.ts';
import { sats, short, type TxFigure } from './narrator.ts';
import type { DemoRelay } from './relays.ts';
import { holdings, mineBlock, type World } from './world.ts';

/** How many sender-pays messages `npm run demo` pays over Alice's channel (issue 9). */
export const DEFAULT_CHANNEL_MESSAGES = 1_000;
/**
 * Alice sends this many, Carol reads them, Alice takes the settles: in-flight HTLCs stay far
 * below MAX_IN_FLIGHT, and each message is read well within its retention.
 */
const BATCH = 50;
/** A progress line every this many messages. */
const PROGRESS_EVERY = 100;
/**
 * Sends of one message before the act gives up on it. No act-3 send makes a network offer: Alice
 * holds a channel with Bob's relay, so each message, either mode, is quoted by that relay alone
 * under its standing terms. Should that path fail (terms refused, relay busy), the send offers
 * the message to the network, whose entry relay answers once all three relays have quoted or
 * declined; only if its deadline passed with a relay still silent (NO_ACCEPTABLE_QUOTE with
 * `details.unanswered`, nothing paid) is the message sent again. Any other failure ends the act.
 */
const MAX_SENDS_PER_MESSAGE = 20;
/** Retention asked of every act-3 message: an hour, long past the end of the act. */
const RETENTION_SECS = 3600;
/** Room in each channel for the fees of commitments with up to BATCH HTLCs in flight, at 2 sat/vB (about 4,500 sats), and more. */
const COMMITMENT_FEE_ROOM = 40_000;

export interface ChannelSide {
  channelId: string;
  capacity: number;
  messages: number;
  /** Each message's price, in sending order. */
  prices: number[];
  /** Sats the relay holds in the channel at the close: the sum of the prices. */
  relayBalance: number;
  /** What the payer's wallet got back by its sweep of the close. */
  returned: number;
  funding: TxFigure;
  close: TxFigure;
  /** The payer's sweep of its close output to its wallet, and the relay's of its own. */
  payerSweep: TxFigure;
  relaySweep: TxFigure;
  /** Exactly what the payer's wallet lost: relayBalance + funding, close and sweep fees. */
  paid: number;
}

export interface ChannelActOutcome {
  relay: string;
  alice: ChannelSide;
  carol: ChannelSide;
  /** Sends made again because a relay was silent at the network offer's deadline (nothing was paid for them). */
  reoffered: number;
  /** Offers to the relay network during the messages (seen by Bob's relay, never their entry): 0 while the account path holds. */
  networkOffers: number;
  /** Faucet payments for the act, by payer. */
  topUps: { alice: number; carol: number };
  /** (fundings + closes) vsize / messages. */
  vbPerMessage: number;
  /** Including the two sweeps per channel. */
  vbPerMessageWithSweeps: number;
  /** The same messages as one contract each: acts 1-2's funding + claim vsize per mode, weighted. */
  onChainVbPerMessage: number;
  elapsedMs: number;
}

/**
 * The act. `count` sender-pays messages over Alice's channel (ceil(count / 10) recipient-pays
 * over Carol's), both with `relay`, the relay that stored acts 1-2 (the cheapest). `onChain`
 * holds acts 1-2 (one sender-pays, one recipient-pays message) for the comparison.
 */
export async function channelsAct(w: World, relay: DemoRelay, count: number, onChain: [MessageOutcome, MessageOutcome]): Promise<ChannelActOutcome> {
  const { n } = w;
  const started = performance.now();
  const rpCount = Math.ceil(count / 10);
  // Erin's base price less one: Bob's relay is the only one whose price fits, so a send can land nowhere else.
  const maxFee = Math.min(...w.relays.filter((r) => r !== relay).map((r) => r.config.priceBaseSats)) - 1;
  const capacities = { alice: count * maxFee + COMMITMENT_FEE_ROOM, carol: rpCount * maxFee + COMMITMENT_FEE_ROOM };

  n.say(`the faucet pays Alice ${sats(capacities.alice)} and Carol ${sats(capacities.carol)} for their channels`);
  for (const [c, amount] of [[w.alice, capacities.alice], [w.carol, capacities.carol]] as const) {
    w.devnet.faucet(addressToScript(c.walletAddress(), NETWORKS.regtest), amount);
  }
  mineBlock(w, 'the faucet payments');
  const before = { alice: await holdings(w.alice), carol: await holdings(w.carol) };

  n.say(`Alice opens a channel of ${sats(capacities.alice)} with ${relay.name}'s relay (funding 2-of-2 | payer after T_ch); Carol one of ${sats(capacities.carol)}`);
  const aliceCh = await w.alice.openChannel(relay.url, { sats: capacities.alice });
  const carolCh = await w.carol.openChannel(relay.url, { sats: capacities.carol });
  const fundA = txFigure(w.devnet, "Alice funds her channel", aliceCh.fundingTxid);
  const fundC = txFigure(w.devnet, "Carol funds her channel", carolCh.fundingTxid);
  await confirmBoth(w, relay, [fundA, fundC], 'both channel fundings');
  for (const [who, c, id] of [['Alice', w.alice, aliceCh.id], ['Carol', w.carol, carolCh.id]] as const) {
    const s = await channelOf(c, id);
    if (s.status !== 'open' || relay.handle.channels!.view(id).status !== 'open') {
      throw new DemoError('STORY_MISMATCH', `${who}'s channel is ${s.status} here and ${relay.handle.channels!.view(id).status} at the relay, not open`);
    }
    n.say(`${who}'s channel ${short(id)} is open on both sides: T_ch = block ${s.expiry} (${s.blocksLeft} blocks left)`);
  }

  n.say(`Alice holds an account with ${relay.name}'s relay now: each message she sends, either mode, asks that relay alone for its quote and takes it`);
  n.say(`  within the relay's signed standing terms for her channel (no offer to the network). Alice caps each message at ${sats(maxFee)}:`);
  n.say(`  only ${relay.name}'s relay prices within it, so a message offered to the network instead would land there too`);
  const tipBefore = w.devnet.tip().height;
  const offersSeen = () => relay.handle.network.parts?.offers.stats().offersSeen ?? 0;
  const offersBefore = offersSeen();
  let reoffered = 0;
  const alicePrices: number[] = [];
  const carolPrices: number[] = [];
  const send = async (text: string, mode: 'sender-pays' | 'recipient-pays') => {
    for (let offers = 1; ; offers++) {
      try {
        const sent = await w.alice.send('carol', { text }, { mode, maxFee, retentionDays: RETENTION_SECS / 86_400 });
        if (sent.relay.replace(/\/+$/, '') !== relay.url) throw new DemoError('STORY_MISMATCH', `"${text}" went to ${sent.relay}, not ${relay.name}'s relay`);
        if (mode === 'sender-pays' && (sent.via !== 'channel' || sent.channelId !== aliceCh.id)) {
          throw new DemoError('STORY_MISMATCH', `"${text}" was paid ${sent.via === 'chain' ? `on chain (${sent.fundingTxid})` : 'otherwise'}, not over Alice's channel`);
        }
        return sent;
      } catch (err) {
        // A relay (Bob's) missed the network's deadline: nothing was funded or added; send it again.
        const silent = ClientError.is(err, 'NO_ACCEPTABLE_QUOTE') && typeof err.details?.unanswered === 'number' && err.details.unanswered > 0;
        if (!silent || offers >= MAX_SENDS_PER_MESSAGE) throw err;
        reoffered++;
      }
    }
  };

  n.say(`Alice sends ${count.toLocaleString('en-US')} sender-pays messages (each an HTLC added to her channel, no transaction); Carol reads them`);
  const spent = { send: 0, read: 0, settle: 0 };
  for (let done = 0; done < count;) {
    const batch: { id: string; text: string }[] = [];
    let t = performance.now();
    for (const end = Math.min(count, done + BATCH); done < end; done++) {
      const text = `channel message ${done + 1} of ${count}`;
      const sent = await send(text, 'sender-pays');
      alicePrices.push(sent.price);
      batch.push({ id: sent.id, text });
    }
    spent.send += performance.now() - t;
    t = performance.now();
    await inboxOrFail(w.carol);
    for (const m of batch) await readExpect(w.carol, m, undefined);
    spent.read += performance.now() - t;
    t = performance.now();
    const [synced] = await w.alice.syncChannels();
    spent.settle += performance.now() - t;
    if (synced?.error !== undefined || synced?.settled !== batch.length) {
      throw new DemoError('STORY_MISMATCH', `Alice took ${synced?.settled ?? 0} settles of ${batch.length} read messages${synced?.error ? `: ${(synced.error as Error).message}` : ''}`);
    }
    if (done % PROGRESS_EVERY !== 0 && done !== count) continue;
    const s = await channelOf(w.alice, aliceCh.id);
    n.say(`  ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} sent, read and settled: ${relay.name}'s balance in the channel ${sats(s.relayBalance)}, in flight ${s.inFlight}`);
    n.say(`    (so far: sending ${secs(spent.send)}, Carol's inbox and reads ${secs(spent.read)}, Alice taking the settles ${secs(spent.settle)})`);
  }
  const delivered = w.alice.outbox().filter((m) => m.channelId === aliceCh.id && m.state === 'delivered').length;
  if (delivered !== count) throw new DemoError('STORY_MISMATCH', `Alice's outbox shows ${delivered} of ${count} channel messages delivered`);

  n.say(`Alice sends ${rpCount} recipient-pays messages (quoted under her terms, no offer); Carol pays each from her channel as she reads it (the relay settles in its answer)`);
  for (let done = 0; done < rpCount;) {
    const rp: { id: string; text: string }[] = [];
    for (const end = Math.min(rpCount, done + BATCH); done < end; done++) {
      const text = `pay-to-read message ${done + 1} of ${rpCount}`;
      rp.push({ id: (await send(text, 'recipient-pays')).id, text });
    }
    await inboxOrFail(w.carol);
    for (const m of rp) carolPrices.push(await readExpect(w.carol, m, { channelId: carolCh.id, maxPrice: maxFee }));
  }
  n.say(`  ${rpCount} / ${rpCount} paid and read over Carol's channel`);
  const mempool = w.devnet.mempoolTxids();
  if (w.devnet.tip().height !== tipBefore || mempool.length > 0) {
    throw new DemoError('STORY_MISMATCH', `the chain moved during the messages (tip ${tipBefore} -> ${w.devnet.tip().height}, ${mempool.length} in the mempool)`);
  }
  n.say(`${(count + rpCount).toLocaleString('en-US')} messages paid and read: not one transaction was broadcast (tip still ${tipBefore}, mempool empty)`);
  const networkOffers = offersSeen() - offersBefore;
  n.say(
    networkOffers === 0
      ? `  and not one offer to the relay network: every quote came from ${relay.name}'s relay under Alice's standing terms`
      : `  and ${networkOffers.toLocaleString('en-US')} offer(s) to the relay network, where the quote under Alice's standing terms failed`,
  );

  n.say('both close cooperatively: the relay proposes the close, the payer checks and signs it, the relay broadcasts');
  const closedA = await w.alice.closeChannel(aliceCh.id);
  const closedC = await w.carol.closeChannel(carolCh.id);
  const closeA = txFigure(w.devnet, "close of Alice's channel", closedA.closeTxid!);
  const closeC = txFigure(w.devnet, "close of Carol's channel", closedC.closeTxid!);
  // Each side's watcher sweeps its close output (paid to a channel key) into its wallet.
  await confirmBoth(w, relay, [closeA, closeC], 'both closes');
  const alice = sideOf(w, relay, 'Alice', aliceCh, closeA, fundA, alicePrices);
  const carol = sideOf(w, relay, 'Carol', carolCh, closeC, fundC, carolPrices);
  for (const s of [alice, carol]) {
    n.tx(s.payerSweep.label, s.payerSweep);
    n.tx(s.relaySweep.label, s.relaySweep);
  }
  mineBlock(w, 'the four sweeps');
  await w.alice.syncContracts();
  await w.carol.syncContracts();

  for (const [who, c, s] of [['Alice', w.alice, alice], ['Carol', w.carol, carol]] as const) {
    const lost = before[who === 'Alice' ? 'alice' : 'carol'] - (await holdings(c));
    if (lost !== s.paid) throw new DemoError('ACCOUNTING_MISMATCH', `${who}'s channel: the wallet lost ${lost} sats, the transactions say ${s.paid}`);
    n.say(`${who}: capacity ${sats(s.capacity)} = ${relay.name}'s balance ${sats(s.relayBalance)} (${s.messages} messages) + close fee ${sats(s.close.fee)} + returned ${sats(s.returned + s.payerSweep.fee)};`);
    n.say(`  her wallet got ${sats(s.returned)} back after the sweep fee ${sats(s.payerSweep.fee)}; she paid ${sats(s.paid)} = prices + funding, close and sweep fees`);
  }

  const messages = count + rpCount;
  const chainVb = fundA.vsize + fundC.vsize + closeA.vsize + closeC.vsize;
  const sweepVb = alice.payerSweep.vsize + alice.relaySweep.vsize + carol.payerSweep.vsize + carol.relaySweep.vsize;
  const [m1, m2] = onChain;
  const onChainVb = (count * (m1.funding.vsize + m1.claim.vsize) + rpCount * (m2.funding.vsize + m2.claim.vsize)) / messages;
  const out: ChannelActOutcome = {
    relay: relay.name, alice, carol, reoffered, networkOffers, topUps: capacities,
    vbPerMessage: chainVb / messages, vbPerMessageWithSweeps: (chainVb + sweepVb) / messages, onChainVbPerMessage: onChainVb,
    elapsedMs: performance.now() - started,
  };
  n.say(`on chain per message: ${fmtVb(out.vbPerMessage)} vB over channels (2 fundings + 2 closes = ${chainVb} vB / ${messages.toLocaleString('en-US')} messages;`);
  n.say(`  ${fmtVb(out.vbPerMessageWithSweeps)} vB with the 4 sweeps) against ${fmtVb(onChainVb)} vB as contracts (funding + claim per message, measured in acts 1-2:`);
  n.say(`  ${m1.funding.vsize + m1.claim.vsize} vB sender-pays, ${m2.funding.vsize + m2.claim.vsize} vB recipient-pays)`);
  if (reoffered > 0) n.say(`(${reoffered} send(s) met a relay silent at the network offer's deadline and were sent again; nothing was paid for them)`);
  n.say(`act 3 took ${(out.elapsedMs / 1000).toFixed(1)} s`);
  return out;
}

/** Shows `txs`, mines them and lets Alice's, Carol's and the relay's watchers see the block. */
async function confirmBoth(w: World, relay: DemoRelay, txs: TxFigure[], why: string): Promise<void> {
  for (const tx of txs) w.n.tx(tx.label, tx);
  mineBlock(w, why);
  await w.alice.syncContracts();
  await w.carol.syncContracts();
  await relay.handle.channels!.watcher.poll();
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function fmtVb(v: number): string {
  return v < 10 ? v.toFixed(3) : v.toFixed(1);
}

async function channelOf(c: Client, id: string): Promise<ChannelSummary> {
  const s = (await c.channels()).find((x) => x.id === id);
  if (!s) throw new DemoError('STORY_MISMATCH', `channel ${id} is not in the payer's book`);
  return s;
}

async function inboxOrFail(carol: Client): Promise<void> {
  const { problems } = await carol.inbox();
  if (problems.length > 0) throw new DemoError('STORY_MISMATCH', `Carol's inbox met problems: ${problems.map((p) => `${p.relay}: ${(p.error as Error).message}`).join('; ')}`);
}

/** Carol reads one message; recipient-pays over her channel (`paid`); returns what she paid. */
async function readExpect(carol: Client, m: { id: string; text: string }, paid: { channelId: string; maxPrice: number } | undefined): Promise<number> {
  const read = await carol.read(m.id, paid ? { maxPrice: paid.maxPrice } : {});
  const got = read.message.kind === 'text' ? read.message.text : '(a file)';
  if (got !== m.text || read.from !== 'alice' || !read.verified) throw new DemoError('STORY_MISMATCH', `message ${m.id} read as "${got}" from ${read.from}, expected "${m.text}" from alice`);
  if (paid && read.channelId !== paid.channelId) throw new DemoError('STORY_MISMATCH', `message ${m.id} was not paid over Carol's channel (${read.channelId ?? 'on chain'})`);
  return paid ? read.price : 0;
}

/** One channel's figures after its close and sweeps: amounts read from the close transaction itself. */
function sideOf(w: World, relay: DemoRelay, who: string, ch: ChannelSummary, close: TxFigure, funding: TxFigure, prices: number[]): ChannelSide {
  const relayBalance = relay.handle.channels!.view(ch.id).relayBalance;
  const sum = prices.reduce((a, b) => a + b, 0);
  if (relayBalance !== sum) throw new DemoError('ACCOUNTING_MISMATCH', `${relay.name}'s balance in ${who}'s channel is ${relayBalance} sats, the prices sum to ${sum}`);
  const outputs = RawTx.decode(w.devnet.getTx(close.txid)!.raw).outputs.map((o) => Number(o.amount));
  const payerOut = ch.capacity - relayBalance - close.fee;
  const relayVout = outputs.indexOf(relayBalance);
  const payerVout = outputs.findIndex((v, i) => v === payerOut && i !== relayVout);
  if (outputs.length !== 2 || relayVout < 0 || payerVout < 0) {
    throw new DemoError('ACCOUNTING_MISMATCH', `the close of ${who}'s channel pays [${outputs.join(', ')}], expected ${relayBalance} to the relay and ${payerOut} back`);
  }
  const sweep = (vout: number, label: string) => {
    const txid = spenderOf(w.devnet, { txid: close.txid, vout });
    if (txid === undefined) throw new DemoError('STORY_MISMATCH', `nobody swept output ${vout} of the close of ${who}'s channel (${label})`);
    return txFigure(w.devnet, label, txid);
  };
  const payerSweep = sweep(payerVout, `${who} sweeps her close output`);
  const relaySweep = sweep(relayVout, `${relay.name} sweeps ${who}'s channel`);
  return {
    channelId: ch.id, capacity: ch.capacity, messages: prices.length, prices, relayBalance, returned: payerOut - payerSweep.fee, funding, close, payerSweep, relaySweep,
    paid: relayBalance + funding.fee + close.fee + payerSweep.fee,
  };
}
