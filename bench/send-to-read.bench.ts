/**
 * Send to readable on the devnet, end to end through the product: Alice's Client sends a
 * sender-pays message through a real relay (HTTP, its own wallet and watcher), one block is
 * mined (the relay claims only after 1 confirmation), Carol's Client lists her inbox and
 * reads it (gives r, gets k, checks H(k) and H(c), Signal-decrypts). Timed from send() to
 * the plaintext in Carol's hands, block included. Goal: <= 300 ms p50.
 */
import { median, percentile, type Benchmark } from './harness.ts';
import { startRelayWorld } from './setup.ts';

const MESSAGES = Number(process.env.SATPOST_BENCH_SEND_N ?? 20);

export const bench: Benchmark = {
  name: 'send-to-read',
  description: 'send to readable on the devnet through a relay (sender-pays, one block mined per message)',
  async run(report, log) {
    const { chain, client: make, close } = await startRelayWorld('satpost-bench-s2r-');
    const alice = await make('alice');
    const carol = await make('carol');
    try {
      await carol.publish();
      await alice.addContact('carol', carol.address());
      await carol.addContact('alice', alice.address());
      chain.fund(alice.walletAddress(), 2_000_000);
      const total: number[] = [];
      const sendMs: number[] = [];
      const readMs: number[] = [];
      for (let i = 0; i < MESSAGES + 1; i++) {
        const t0 = performance.now();
        const sent = await alice.send('carol', { text: `message ${i}` }, { mode: 'sender-pays', maxFee: 5_000, retentionDays: 0.1 });
        const t1 = performance.now();
        chain.devnet.mine(1);
        const read = await carol.read(sent.id);
        const t2 = performance.now();
        if (read.message.kind !== 'text' || read.message.text !== `message ${i}`) throw new Error(`message ${i} read back wrong`);
        if (i === 0) continue; // the first message also builds the Signal session: a warm-up
        total.push(t2 - t0);
        sendMs.push(t1 - t0);
        readMs.push(t2 - t1);
      }
      log(`${MESSAGES} messages`);
      report({ metric: 'send to readable, p50 (sender-pays, 1 block)', value: median(total), unit: 'ms', goal: '<= 300', note: `median of ${MESSAGES}` });
      report({ metric: 'send to readable, p90', value: percentile(total, 90), unit: 'ms' });
      report({ metric: 'send (offer, quote, seal, deposit, fund), p50', value: median(sendMs), unit: 'ms' });
      report({ metric: 'mine + inbox-free read (r, k, decrypt), p50', value: median(readMs), unit: 'ms' });
    } finally {
      await close();
    }
  },
};
