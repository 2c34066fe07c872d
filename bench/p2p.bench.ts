/**
 * Relay network: mailbox query latency by hop count on a line, and forwards per query on
 * random connected graphs of 8 and 32 relays (real libp2p nodes in one process, 127.0.0.1).
 */
import '../src/polyfills.ts';
import type { Benchmark } from './harness.ts';
import { median } from './harness.ts';
import { connect, lineEdges, makeCarol, randomEdges, startRelays, stopRelays, sum, type Edge } from '../test/p2p/net.ts';

const te = new TextEncoder();

/** Largest BFS distance from `from`: the hop limit a query needs to reach every relay. */
function eccentricity(n: number, edges: Edge[], from: number): number {
  const adj = Array.from({ length: n }, () => [] as number[]);
  for (const [a, b] of edges) {
    adj[a]!.push(b);
    adj[b]!.push(a);
  }
  const dist = new Array<number>(n).fill(-1);
  dist[from] = 0;
  const todo = [from];
  while (todo.length > 0) {
    const i = todo.shift()!;
    for (const j of adj[i]!) {
      if (dist[j] !== -1) continue;
      dist[j] = dist[i]! + 1;
      todo.push(j);
    }
  }
  return Math.max(...dist);
}

export const bench: Benchmark = {
  name: 'p2p',
  description: 'relay network: query latency by hops (line), forwards per query (random graphs)',
  async run(report, log) {
    const carol = makeCarol();
    {
      const relays = await startRelays(6, { lookup: (i) => () => te.encode(`relay-${i}`) });
      try {
        await connect(relays, lineEdges(6));
        for (let hops = 1; hops <= 5; hops++) {
          const ms: number[] = [];
          for (let k = 0; k < 15; k++) {
            const t0 = performance.now();
            const answers = await relays[0]!.queries.query(carol.query({ hopLimit: hops }));
            ms.push(performance.now() - t0);
            if (answers.length !== hops + 1) throw new Error(`expected ${hops + 1} answers, got ${answers.length}`);
          }
          report({ metric: `query latency, ${hops} hop${hops > 1 ? 's' : ''} (line)`, value: median(ms), unit: 'ms', note: 'median of 15' });
        }
      } finally {
        await stopRelays(relays);
      }
    }
    for (const [n, extra] of [
      [8, 4],
      [32, 24],
    ] as const) {
      const edges = randomEdges(n, extra, 42);
      const relays = await startRelays(n, { lookup: () => () => te.encode('x') });
      try {
        await connect(relays, edges);
        const ratios: number[] = [];
        const hopsNeeded: number[] = [];
        for (let k = 0; k < 10; k++) {
          const entry = (k * 7) % n;
          const need = eccentricity(n, edges, entry);
          hopsNeeded.push(need);
          const before = sum(relays, (r) => r.queries.stats().forwards);
          const answers = await relays[entry]!.queries.query(carol.query({ hopLimit: need }));
          if (answers.length !== n) throw new Error(`expected ${n} answers, got ${answers.length}`);
          ratios.push((sum(relays, (r) => r.queries.stats().forwards) - before) / edges.length);
        }
        log(`${n} relays, ${edges.length} links`);
        report({ metric: `hops to reach all ${n} relays (max over entries)`, value: Math.max(...hopsNeeded), unit: 'hops', goal: n === 32 ? '<= 3' : undefined });
        report({ metric: `forwards per link per query, ${n} relays`, value: median(ratios), unit: 'forwards/link', goal: n === 32 ? '<= 1' : undefined, note: `median of 10; max ${Math.max(...ratios).toFixed(2)}; ${edges.length} links` });
      } finally {
        await stopRelays(relays);
      }
    }
  },
};
