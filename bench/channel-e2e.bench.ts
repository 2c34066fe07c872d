/**
 * Payment channels end to end on the devnet (issue 9), through the product: a real relay
 * (startRelay in-process, HTTP on 127.0.0.1, its own wallet and channel watcher), Client SDKs
 * with their own data directories, real fundings and closes.
 *
 *  - on chain per message: the real vsize of one channel's funding and cooperative close, over
 *    the messages it really carried (SATPOST_BENCH_CHANNEL_N, default 1,000); other counts
 *    divide the same two measured sizes (a cooperative close has two outputs whatever the count);
 *  - send to readable: Alice's send() to Carol's read() returning the plaintext, over the channel
 *    (no block) and on chain (one block mined per message, as bench/send-to-read does), same run;
 *  - settled messages per second: the whole cycle per message (add with the deposit, Carol's read
 *    that reveals r and gets k, the payer taking the settle and acknowledging it) through one
 *    channel, and through 64 channels of 64 payers with the same relay, sending concurrently.
 */
import { RawTx } from '@scure/btc-signer';
import { Client } from '../src/client/client.ts';
import { NETWORKS } from '../src/core/network.ts';
import { addressToScript } from '../src/wallet/index.ts';
import type { Chain } from '../test/client/helpers.ts';
import { median, percentile, type Benchmark } from './harness.ts';
import { startRelayWorld } from './setup.ts';

const N = Number(process.env.SATPOST_BENCH_CHANNEL_N ?? 1_000);
const ON_CHAIN_N = 10;
const PAYERS = Number(process.env.SATPOST_BENCH_CHANNEL_PAYERS ?? 64);
const PER_PAYER = Number(process.env.SATPOST_BENCH_CHANNEL_PER_PAYER ?? 4);
/** Settles are taken every BATCH messages: in-flight HTLCs stay far below the cap of 483. */
const BATCH = 100;
/**
 * Kept 60 s: each message is read right after its send, and a relay lists at most 1,000 messages
 * per mailbox, oldest first, read ones included (src/relay/service.ts LIST_LIMIT), so with longer
 * retention message 1,001 would never be found.
 */
const SEND = { mode: 'sender-pays', maxFee: 5_000, retentionDays: 60 / 86_400 } as const;
const CHANNEL_BLOCKS = 200;

export const bench: Benchmark = {
  name: 'channel-e2e',
  description: 'payment channels end to end on the devnet: vB per message, send to readable, settled messages/s (1 and 64 channels)',
  async run(report, log) {
    const { chain, relay, client: make, close } = await startRelayWorld('satpost-bench-ch-');
    const confirm = async (...cs: Client[]) => {
      chain.devnet.mine(1);
      for (const c of cs) await c.syncContracts();
      await relay.channels!.watcher.poll();
    };
    const vsize = (txid: string) => Math.ceil(chain.devnet.getTx(txid)!.weight / 4);
    try {
      const alice = await make('alice');
      const carol = await make('carol');
      await carol.publish();
      await alice.addContact('carol', carol.address());
      await carol.addContact('alice', alice.address());
      chain.fund(alice.walletAddress(), N * 2_000 + 1_000_000);

      // On chain, one block per message (the first also builds the Signal session: a warm-up).
      const chainMs: number[] = [];
      for (let i = 0; i <= ON_CHAIN_N; i++) {
        const t0 = performance.now();
        const sent = await alice.send('carol', { text: `on chain ${i}` }, { ...SEND, channel: false });
        chain.devnet.mine(1);
        await expectRead(carol, sent.id, `on chain ${i}`);
        if (i > 0) chainMs.push(performance.now() - t0);
      }

      // One channel, N messages each sent and read at once; settles taken every BATCH.
      const opened = await alice.openChannel(relay.url, { sats: N * 1_500 + 50_000, blocks: CHANNEL_BLOCKS });
      await confirm(alice);
      const channelMs: number[] = [];
      let settleMs = 0;
      const t1 = performance.now();
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        const sent = await alice.send('carol', { text: `channel ${i}` }, SEND);
        if (sent.via !== 'channel') throw new Error(`message ${i} went ${sent.via}, not over the channel`);
        await expectRead(carol, sent.id, `channel ${i}`);
        channelMs.push(performance.now() - t0);
        if ((i + 1) % BATCH === 0 || i + 1 === N) {
          const s0 = performance.now();
          await takeSettles(alice, Math.min(BATCH, i + 1 - Math.floor(i / BATCH) * BATCH));
          settleMs += performance.now() - s0;
          log(`${i + 1} / ${N} messages over one channel`);
        }
      }
      const oneChannelSecs = (performance.now() - t1) / 1000;
      const closed = await alice.closeChannel(opened.id);
      await confirm(alice);
      const openVb = vsize(opened.fundingTxid);
      const closeVb = vsize(closed.closeTxid!);
      const relayBalance = relay.channels!.view(opened.id).relayBalance;

      for (const count of [10, 100, 1_000, 10_000]) {
        const real = count === N;
        report({
          metric: `on-chain vB per message, ${count.toLocaleString('en-US')} messages per channel`,
          value: (openVb + closeVb) / count, unit: 'vB',
          ...(count === 10_000 ? { goal: '<= 0.1' } : {}),
          note: `(funding ${openVb} + close ${closeVb} vB) / ${count.toLocaleString('en-US')}: ${real ? `the channel really carried ${N} messages` : `sizes measured on the ${N}-message channel, count computed`}`,
        });
      }
      report({ metric: 'on-chain vB per message as contracts (funding + claim each)', value: onChainVb(chain, alice), unit: 'vB', note: `measured on the ${ON_CHAIN_N} on-chain messages, no batching` });
      report({ metric: 'send to readable over a channel, p50', value: median(channelMs), unit: 'ms', goal: '<= 15', note: `send() to read() plaintext, no block; ${N} messages` });
      report({ metric: 'send to readable over a channel, p90', value: percentile(channelMs, 90), unit: 'ms' });
      report({ metric: 'send to readable on chain, p50 (1 block per message)', value: median(chainMs), unit: 'ms', note: `same run, ${ON_CHAIN_N} messages` });
      report({
        metric: 'settled messages/s, one channel', value: N / oneChannelSecs, unit: 'msg/s',
        note: `full cycle, sequential: send (add + deposit) + Carol's read (r -> settle, k) + taking settles (${(settleMs / 1000).toFixed(1)} s of ${oneChannelSecs.toFixed(1)} s); relay balance ${relayBalance} sats`,
      });

      // 64 payers, each with its own channel to the same relay, sending PER_PAYER messages concurrently.
      const payers: Client[] = [];
      for (let p = 0; p < PAYERS; p++) {
        const c = await make(`payer-${p}`);
        await c.addContact('carol', carol.address());
        payers.push(c);
      }
      for (const c of payers) chain.devnet.faucet(addressOf(c), 200_000);
      chain.devnet.mine(1);
      for (const c of payers) await c.openChannel(relay.url, { sats: 50_000, blocks: CHANNEL_BLOCKS });
      await confirm(...payers);
      log(`${PAYERS} channels open`);
      // Carol reads one message at a time, as one user's client would; the payers run concurrently.
      let carolFree: Promise<unknown> = Promise.resolve();
      const carolReads = (id: string, text: string) => {
        const next = carolFree.then(() => expectRead(carol, id, text));
        carolFree = next.catch(() => undefined);
        return next;
      };
      const t2 = performance.now();
      await Promise.all(payers.map(async (c, p) => {
        for (let i = 0; i < PER_PAYER; i++) {
          const sent = await c.send('carol', { text: `payer ${p} message ${i}` }, SEND);
          if (sent.via !== 'channel') throw new Error(`payer ${p} message ${i} went ${sent.via}`);
          await carolReads(sent.id, `payer ${p} message ${i}`);
        }
        await takeSettles(c, PER_PAYER);
      }));
      const manySecs = (performance.now() - t2) / 1000;
      report({
        metric: `settled messages/s, ${PAYERS} channels on one relay`, value: (PAYERS * PER_PAYER) / manySecs, unit: 'msg/s',
        note: `${PAYERS} payers × ${PER_PAYER} messages, concurrent; same cycle as one channel; one reader (Carol) and every party in this process`,
      });
    } finally {
      await close();
    }
  },
};

async function expectRead(carol: Client, id: string, text: string): Promise<void> {
  const read = await carol.read(id);
  if (read.message.kind !== 'text' || read.message.text !== text) throw new Error(`message ${id} read back wrong`);
}

/** Takes the relay's settles; exactly `want` must come (the messages just read). */
async function takeSettles(c: Client, want: number): Promise<void> {
  const [r] = await c.syncChannels();
  if (r?.error !== undefined || r?.settled !== want) throw new Error(`took ${r?.settled ?? 0} settles, expected ${want}: ${String(r?.error ?? '')}`);
}

function addressOf(c: Client): Uint8Array {
  return addressToScript(c.walletAddress(), NETWORKS.regtest);
}

/** Funding + claim vsize per message of the on-chain sends (their fundings and claims, read from the chain). */
function onChainVb(chain: Chain, alice: Client): number {
  const sizes = alice.outbox().filter((m) => m.via === 'chain' && m.fundingTxid !== undefined).map((m) => {
    const fundingTxid = m.fundingTxid!;
    const tx = chain.devnet.getTx(fundingTxid)!;
    const vout = RawTx.decode(tx.raw).outputs.findIndex((o) => Number(o.amount) === m.price && o.script.length === 34);
    const claim = chain.devnet.getOutspend(fundingTxid, vout);
    if (!claim.spent || claim.txid === undefined) throw new Error(`the contract of ${m.id} is not claimed`);
    return Math.ceil(tx.weight / 4) + Math.ceil(chain.devnet.getTx(claim.txid)!.weight / 4);
  });
  return sizes.reduce((a, b) => a + b, 0) / sizes.length;
}
