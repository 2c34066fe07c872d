/**
 * Relay network: mailbox query latency by hop count on a line; forwards per query on random
 * connected graphs of 8 and 32 relays by plain flooding and by tree forwarding over
 * announced topology; and 32 relays that build their own overlay by peer exchange
 * (minPeers 6) from a bootstrap chain. Real libp2p nodes in one process, 127.0.0.1.
 */
import '../src/polyfills.ts';
import type { Benchmark } from './harness.ts';
import { median } from './harness.ts';
import { connect, dialWithRetry, lineEdges, makeCarol, randomEdges, startRelays, stopRelays, sum, waitFor, waitTopology, type Edge, type Relay } from '../test/p2p/net.ts';

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

/** The links relays actually hold, as index pairs. */
function actualEdges(relays: Relay[]): Edge[] {
  const byId = new Map(relays.map((r) => [r.node.peerId.toString(), r.index]));
  const out: Edge[] = [];
  for (const r of relays) {
    for (const p of r.node.libp2p.getPeers()) {
      const j = byId.get(p.toString());
      if (j !== undefined && r.index < j) out.push([r.index, j]);
    }
  }
  return out;
}

/** Queries from 10 entries with hop limit = the entry's eccentricity; every relay must answer. */
async function measure(relays: Relay[], edges: Edge[], carol: ReturnType<typeof makeCarol>): Promise<{ hops: number; ratios: number[]; dups: number; fewest: number }> {
  const n = relays.length;
  const ratios: number[] = [];
  let hops = 0;
  let dups = 0;
  let fewest = n;
  for (let k = 0; k < 10; k++) {
    const entry = (k * 7) % n;
    const need = eccentricity(n, edges, entry);
    hops = Math.max(hops, need);
    const before = sum(relays, (r) => r.queries.stats().forwards);
    const d0 = sum(relays, (r) => r.queries.stats().duplicates);
    const f0 = sum(relays, (r) => r.queries.stats().peerFailures);
    const answers = await relays[entry]!.queries.query(carol.query({ hopLimit: need }), { budgetMs: 10_000 });
    if (answers.length < n) console.error(`entry ${entry}: ${answers.length} answers, ${sum(relays, (r) => r.queries.stats().peerFailures) - f0} peer failures`);
    fewest = Math.min(fewest, answers.length);
    ratios.push((sum(relays, (r) => r.queries.stats().forwards) - before) / edges.length);
    dups += sum(relays, (r) => r.queries.stats().duplicates) - d0;
  }
  return { hops, ratios, dups, fewest };
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
      [32, 65], // about degree 6: the overlay peer exchange aims for, built explicitly
    ] as const) {
      for (const tree of [false, true]) {
        const edges = randomEdges(n, extra, 42);
        const relays = await startRelays(n, { lookup: () => () => te.encode('x'), heartbeatMs: n > 8 ? 500 : 100, ...(tree ? { topology: {} } : {}) });
        try {
          await connect(relays, edges);
          if (tree) await waitTopology(relays);
          const { hops, ratios, dups, fewest } = await measure(relays, edges, carol);
          if (fewest !== n) throw new Error(`a query reached ${fewest} of ${n} relays`);
          const how = tree ? 'tree' : 'flooding';
          log(`${n} relays, ${edges.length} links, ${how}`);
          const shape = `${edges.length} links`;
          if (!tree) report({ metric: `hops to reach all ${n} relays, ${shape} (max over entries)`, value: hops, unit: 'hops', goal: n === 32 ? '<= 3' : undefined, note: `spanning tree + ${extra} links` });
          report({
            metric: `forwards per link per query, ${n} relays, ${shape}, ${how}`, value: median(ratios), unit: 'forwards/link',
            goal: n === 32 ? '<= 1' : undefined, note: `median of 10; max ${Math.max(...ratios).toFixed(2)}; ${edges.length} links; ${dups} duplicates in total`,
          });
        } finally {
          await stopRelays(relays);
        }
      }
    }
    {
      // 32 relays each told only of the relay before it; peer exchange densifies the overlay.
      const n = 32;
      const relays = await startRelays(n, { lookup: () => () => te.encode('x'), topology: { minPeers: 6 }, heartbeatMs: 500 });
      try {
        const t0 = performance.now();
        for (let i = 1; i < n; i++) await dialWithRetry(relays[i]!.node, relays[i - 1]!.node);
        const libs = relays.map((r) => r.node.libp2p);
        try {
          await waitFor(() => libs.every((l) => l.getPeers().length >= 6), libs, ['peer:connect'], 'minPeers', 60_000);
        } catch (e) {
          // Seen on a loaded 2-core host: one or two late relays stay below minPeers. Report
          // that as a figure and measure the overlay as it stands rather than failing the run.
          const short = libs.filter((l) => l.getPeers().length < 6).length;
          log(`${(e as Error).message}: degrees ${libs.map((l) => l.getPeers().length).join(',')}; known ${relays.map((r) => r.topology!.stats().known).join(',')}`);
          report({ metric: 'peer exchange overlay, 32 relays: relays below minPeers 6 after 60 s', value: short, unit: 'relays' });
        }
        await waitTopology(relays);
        const settleMs = performance.now() - t0;
        const edges = actualEdges(relays);
        const degrees = relays.map((r) => r.node.libp2p.getPeers().length);
        // The first queries after the overlay forms meet relays still busy with handshakes and
        // mesh grafts (seconds each on a loaded 2-core host); measure the settled network.
        const warm: string[] = [];
        for (let k = 0; k < 5; k++) {
          const t = performance.now();
          const a = await relays[k]!.queries.query(carol.query({ hopLimit: 3 }), { budgetMs: 10_000 });
          warm.push(`${a.length}/${Math.round(performance.now() - t)}ms`);
        }
        log(`warm-up queries (answers/time): ${warm.join(' ')}`);
        const { hops, ratios, dups, fewest } = await measure(relays, edges, carol);
        log(`peer exchange: ${edges.length} links, degree ${Math.min(...degrees)}..${Math.max(...degrees)}`);
        report({ metric: 'peer exchange overlay, 32 relays: time to minPeers 6 and settled topology', value: settleMs, unit: 'ms', note: 'bootstrap chain 0-1-...-31' });
        report({ metric: 'peer exchange overlay, 32 relays: links', value: edges.length, unit: 'links', note: `degree ${Math.min(...degrees)}..${Math.max(...degrees)}` });
        report({ metric: 'hops to reach all 32 relays, peer exchange overlay (max over entries)', value: hops, unit: 'hops', goal: '<= 3' });
        report({
          metric: 'forwards per link per query, 32 relays, peer exchange overlay, tree', value: median(ratios), unit: 'forwards/link',
          goal: '<= 1', note: `median of 10; max ${Math.max(...ratios).toFixed(2)}; ${dups} duplicates in total; fewest relays answering ${fewest} of ${n}`,
        });
        const lat: number[] = [];
        let fewest3 = n;
        for (let k = 0; k < 15; k++) {
          const t = performance.now();
          const answers = await relays[(k * 5) % n]!.queries.query(carol.query({ hopLimit: 3 }));
          lat.push(performance.now() - t);
          fewest3 = Math.min(fewest3, answers.length);
        }
        report({ metric: 'query latency, 32 relays, hop limit 3, peer exchange overlay', value: median(lat), unit: 'ms', note: `median of 15; fewest relays answering ${fewest3} of ${n}` });
      } finally {
        await stopRelays(relays);
      }
    }
  },
};
