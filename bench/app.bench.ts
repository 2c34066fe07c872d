// npm run bench -- app: the browser app in real Chromium over the playground (devnet with a
// block after every transaction, one relay, Alice's and Carol's apps): first-load size of the
// front end, time to interactive, and a send in Alice's tab until the text shows in Carol's,
// on chain and over a payment channel.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { webRoot } from '../src/app/server.ts';
import { startPlayground } from '../src/demo/playground.ts';
import { launch, openApp } from '../test/app/browser.ts';
import { median, type Benchmark } from './harness.ts';

const ROUNDS = 5;
const WAIT = { timeout: 120_000 };

/** The price first ("See the price" until the quotes show: `price`), then Send until the text shows in Carol's tab (`send`). */
async function sendAndSee(alice: Page, carol: Page, text: string): Promise<{ price: number; send: number }> {
  await alice.getByLabel('Message to Carol').fill(text);
  const t0 = performance.now();
  await alice.getByRole('button', { name: 'See the price' }).click();
  await alice.getByTestId('preview').waitFor(WAIT);
  const t1 = performance.now();
  await alice.getByRole('button', { name: 'Send', exact: true }).click();
  await carol.getByText(text, { exact: true }).waitFor(WAIT);
  return { price: t1 - t0, send: performance.now() - t1 };
}

export const bench: Benchmark = {
  name: 'app',
  description: 'the browser app (Chromium): first-load gzipped size, time to interactive, send in one tab → visible in the other (chain with instant blocks, channel)',
  async run(report, log) {
    const root = webRoot();
    const gz = ['index.html', 'app.js', 'style.css'].reduce((n, f) => n + gzipSync(readFileSync(join(root, f)), { level: 9 }).length, 0);
    report({ metric: 'first load, gzipped (index.html + app.js + style.css)', value: Math.round(gz / 102.4) / 10, unit: 'KB', goal: '<= 150' });
    const dir = mkdtempSync(join(tmpdir(), 'satpost-bench-app-'));
    const p = await startPlayground({ dir, preset: true });
    const browser = await launch();
    try {
      const alice = await openApp(browser, p.alice.url);
      const carol = await openApp(browser, p.carol.url);
      const tti: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        await carol.reload();
        await carol.getByRole('button', { name: 'Open conversation with Alice' }).waitFor(WAIT);
        tti.push(performance.now() - t0);
      }
      report({ metric: 'time to interactive (reload → conversation list usable), median', value: Math.round(median(tti)), unit: 'ms', note: `${ROUNDS} reloads` });
      await alice.getByRole('button', { name: 'Open conversation with Carol' }).click(WAIT);
      await carol.getByRole('button', { name: 'Open conversation with Alice' }).click(WAIT);
      const chainRuns: { price: number; send: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) chainRuns.push(await sendAndSee(alice, carol, `on chain ${i} ${Date.now()}`));
      const chain = chainRuns.map((r) => r.send);
      log(`chain: ${chain.map((x) => Math.round(x)).join(', ')} ms`);
      report({ metric: 'price shown before sending (See the price → quotes, relay, total), on chain, median', value: Math.round(median(chainRuns.map((r) => r.price))), unit: 'ms', note: `${ROUNDS} messages` });
      report({ metric: 'send → visible in the other tab, on chain (instant blocks), median', value: Math.round(median(chain)), unit: 'ms', goal: '<= 1000', note: `${ROUNDS} messages, timed from Send once the price shows` });

      const client = p.alice.state.c;
      const ch = await client.openChannel(p.relayUrl, { sats: 50_000 });
      p.devnet.mine(6);
      for (let i = 0; i < 100; i++) {
        await client.syncContracts();
        if ((await client.channels()).find((c) => c.id === ch.id)?.status === 'open') break;
      }
      const channelRuns: { price: number; send: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) channelRuns.push(await sendAndSee(alice, carol, `channel ${i} ${Date.now()}`));
      const channel = channelRuns.map((r) => r.send);
      report({ metric: 'price shown before sending, over a channel, median', value: Math.round(median(channelRuns.map((r) => r.price))), unit: 'ms', note: `${ROUNDS} messages` });
      log(`channel: ${channel.map((x) => Math.round(x)).join(', ')} ms`);
      const via = client.outbox().slice(-ROUNDS).map((m) => m.via);
      report({ metric: 'send → visible in the other tab, over a channel, median', value: Math.round(median(channel)), unit: 'ms', goal: '<= 200', note: `${ROUNDS} messages, timed from Send once the price shows; paid via ${[...new Set(via)].join('/')}` });
    } finally {
      await browser.close();
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
