import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forwardingTree, shouldForward, confirmedNeighbours } from '../../src/p2p/tree.ts';
import { TopologyAnnouncementCodec } from '../../src/core/wire/p2p.ts';
import { EncodingError } from '../../src/core/codec.ts';
import { connect, lineEdges, makeCarol, randomEdges, startRelays, stopRelays, sum, waitFor, waitTopology, type Relay } from './net.ts';

const topo = (edges: [string, string][]): Map<string, string[]> => {
  const t = new Map<string, string[]>();
  for (const [a, b] of edges) {
    t.set(a, [...(t.get(a) ?? []), b]);
    t.set(b, [...(t.get(b) ?? []), a]);
  }
  return t;
};

describe('forwarding tree (pure)', () => {
  it('gives every relay one parent one level up, ties to the smallest id', () => {
    // a square a-b-d-c-a: d is two hops from a through b or c; b wins (smaller id).
    const t = topo([['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']]);
    const tree = forwardingTree(t, 'a');
    assert.deepEqual(Object.fromEntries(tree.depth), { a: 0, b: 1, c: 1, d: 2 });
    assert.deepEqual(Object.fromEntries(tree.parent), { b: 'a', c: 'a', d: 'b' });
    assert.equal(shouldForward(tree, 'b', 'd'), true);
    assert.equal(shouldForward(tree, 'c', 'd'), false);
    assert.equal(shouldForward(tree, 'b', 'a'), false, 'never back towards the root');
  });

  it('does not depend on the order of the announcements', () => {
    const edges: [string, string][] = [['e', 'a'], ['a', 'b'], ['c', 'a'], ['b', 'd'], ['c', 'd'], ['d', 'e'], ['b', 'c']];
    const one = forwardingTree(topo(edges), 'a');
    const two = forwardingTree(topo([...edges].reverse()), 'a');
    assert.deepEqual([...one.parent].sort(), [...two.parent].sort());
  });

  it('uses only links both ends announce', () => {
    const t = new Map([['a', ['b', 'c']], ['b', ['a']], ['c', []]]);
    assert.deepEqual(confirmedNeighbours(t, 'a'), ['b']);
    const tree = forwardingTree(t, 'a');
    assert.equal(tree.depth.has('c'), false);
    // c is known but unreachable in the announced graph: a floods to it rather than lose it.
    assert.equal(shouldForward(tree, 'a', 'c'), true);
  });

  it('floods when the root or the peer is unknown', () => {
    const t = topo([['a', 'b']]);
    assert.equal(shouldForward(forwardingTree(t, 'z'), 'a', 'b'), true);
    assert.equal(shouldForward(forwardingTree(t, 'a'), 'a', 'x'), true);
  });

  it('announcements round-trip and refuse more than 64 neighbours', () => {
    const a = { seq: 1_700_000_000_000, addrs: ['/ip4/127.0.0.1/tcp/1'], neighbours: [new Uint8Array(32).fill(7)] };
    assert.deepEqual(TopologyAnnouncementCodec.decode(TopologyAnnouncementCodec.encode(a)), a);
    assert.throws(
      () => TopologyAnnouncementCodec.encode({ ...a, neighbours: Array.from({ length: 65 }, () => new Uint8Array(32)) }),
      (e: unknown) => e instanceof EncodingError,
    );
  });
});

describe('tree forwarding on 8 relays (random graph)', () => {
  let relays: Relay[];
  const carol = makeCarol();
  const edges = randomEdges(8, 6, 7);
  before(async () => {
    relays = await startRelays(8, { lookup: (i) => () => new TextEncoder().encode(`r${i}`), topology: {} });
    await connect(relays, edges);
    await waitTopology(relays);
  });
  after(async () => stopRelays(relays));

  it('reaches every relay from every entry with exactly n - 1 forwards and no duplicates', async () => {
    for (const entry of relays) {
      const f0 = sum(relays, (r) => r.queries.stats().forwards);
      const d0 = sum(relays, (r) => r.queries.stats().duplicates);
      const answers = await entry.queries.query(carol.query({ hopLimit: 7 }));
      assert.equal(answers.length, 8);
      assert.equal(sum(relays, (r) => r.queries.stats().forwards) - f0, 7, `entry ${entry.index}`);
      assert.equal(sum(relays, (r) => r.queries.stats().duplicates) - d0, 0);
    }
  });

  it('still reaches everyone after a link breaks (announcements follow, flooding covers the gap)', async () => {
    // Break a link that is not a bridge: the graph has 6 extra links beyond its spanning tree.
    const [a, b] = edges[edges.length - 1]!;
    await relays[a]!.node.libp2p.hangUp(relays[b]!.node.peerId);
    await waitTopology(relays);
    const answers = await relays[0]!.queries.query(carol.query({ hopLimit: 7 }));
    assert.equal(answers.length, 8);
  });
});

describe('peer exchange', () => {
  let relays: Relay[];
  before(async () => {
    relays = await startRelays(8, { topology: { minPeers: 4 } });
  });
  after(async () => stopRelays(relays));

  it('relays on a line dial relays they learn of until each has minPeers connections', async () => {
    for (const [a, b] of lineEdges(8)) await relays[a]!.node.connect(relays[b]!.node.multiaddrs()[0]!);
    const libs = relays.map((r) => r.node.libp2p);
    await waitFor(() => libs.every((l) => l.getPeers().length >= 4), libs, ['peer:connect'], 'minPeers');
    assert.ok(sum(relays, (r) => r.topology!.stats().dialled) > 0);
  });
});
