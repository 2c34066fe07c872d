/**
 * The forwarding tree of a query: a breadth-first tree of the relay graph rooted at the
 * query's entry relay. Every relay computes it from the same announced topology, so each
 * relay reached gets the query from exactly one parent: n − 1 forwards per query, the hop
 * count equal to the root's eccentricity. Pure: no I/O, ids are hex strings.
 */

/** Announced neighbour lists by relay id. An edge counts only when both ends announce it. */
export type Topology = ReadonlyMap<string, readonly string[]>;

export interface ForwardingTree {
  /** Parent of every relay the tree reaches (the root has none). */
  parent: Map<string, string>;
  /** Depth of every relay the tree reaches (the root has 0). */
  depth: Map<string, number>;
}

/** Neighbours of `id` confirmed by both ends, sorted. */
export function confirmedNeighbours(t: Topology, id: string): string[] {
  const out: string[] = [];
  for (const n of t.get(id) ?? []) if (n !== id && t.get(n)?.includes(id)) out.push(n);
  return out.sort();
}

/**
 * BFS from `root`. A relay at depth d + 1 takes as parent its smallest-id confirmed
 * neighbour at depth d, so the result does not depend on any iteration order.
 */
export function forwardingTree(t: Topology, root: string): ForwardingTree {
  const depth = new Map<string, number>([[root, 0]]);
  const parent = new Map<string, string>();
  if (!t.has(root)) return { parent, depth };
  let level = [root];
  for (let d = 0; level.length > 0; d++) {
    const next = new Set<string>();
    for (const u of level) {
      for (const v of confirmedNeighbours(t, u)) {
        if (depth.has(v) && !next.has(v)) continue;
        const p = parent.get(v);
        if (p === undefined || u < p) parent.set(v, u);
        next.add(v);
      }
    }
    for (const v of next) depth.set(v, d + 1);
    level = [...next].sort();
  }
  return { parent, depth };
}

/**
 * Whether `me` forwards a query rooted at `root` to its connected neighbour `peer`: when the
 * tree makes `me` the peer's parent, or when the tree cannot say (the root, `me` or the peer
 * is unknown or unreachable in the announced topology): then plain flooding is the safe choice.
 */
export function shouldForward(tree: ForwardingTree, me: string, peer: string): boolean {
  if (!tree.depth.has(me) || !tree.depth.has(peer)) return true;
  return tree.parent.get(peer) === me;
}
