/**
 * Topology exchange (docs/protocol.md, "Relay network"): every relay publishes its list of
 * connected relays and its addresses on gossipsub 'satpost/topology/v1' when its links
 * change and every `republishMs` (so a newcomer knows everyone after one period; until then
 * it floods). Answering every newcomer at once would cost O(n²) messages per join. From the union of these announcements each relay computes the
 * same forwarding tree for a query (tree.ts). The addresses also let a relay with fewer than
 * `minPeers` connections dial more relays, which keeps the overlay dense and its diameter small.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { idHex, relayIdOf } from './ids.ts';
import type { RelayNode } from './node.ts';
import { forwardingTree, type ForwardingTree, type Topology } from './tree.ts';
import { MAX_NEIGHBOURS, MAX_ORIGIN_ADDRS, TOPOLOGY_TOPIC, TopologyAnnouncementCodec, type TopologyAnnouncement } from '../core/wire/p2p.ts';

const MAX_PARALLEL_DIALS = 2;
const DIAL_TIMEOUT_MS = 10_000;

export interface TopologyServiceOptions {
  node: RelayNode;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Re-announce at least this often, ms. Default 30000. */
  republishMs?: number;
  /** Changes within this time are announced once, ms. Default 100. */
  debounceMs?: number;
  /** Announcements not renewed within this time are forgotten, ms. Default 4 × republishMs. */
  maxAgeMs?: number;
  /** Dial known relays while fewer than this many are connected. Default 0 (never). */
  minPeers?: number;
}

interface Entry {
  seq: number;
  receivedAt: number;
  addrs: string[];
  neighbours: string[];
}

export interface TopologyStats {
  /** Relays whose announcement this relay holds (itself included). */
  known: number;
  /** Announcements this relay published. */
  published: number;
  /** Connections opened to reach minPeers. */
  dialled: number;
}

/** Dispatches 'change' (a plain Event) whenever the known topology changes. */
export class TopologyService extends EventTarget {
  private readonly now: () => number;
  private readonly republishMs: number;
  private readonly debounceMs: number;
  private readonly maxAgeMs: number;
  private readonly minPeers: number;
  private readonly entries = new Map<string, Entry>();
  private readonly counters: TopologyStats = { known: 0, published: 0, dialled: 0 };
  private readonly trees = new Map<string, ForwardingTree>();
  private readonly dialling = new Set<string>();
  private lastSeq = 0;
  private started = false;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly onMessage = (e: CustomEvent<Message>): void => this.handle(e.detail);
  private readonly onLinks = (): void => {
    this.schedule();
    this.topUp();
  };

  constructor(private readonly opts: TopologyServiceOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.republishMs = opts.republishMs ?? 30_000;
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxAgeMs = opts.maxAgeMs ?? 4 * this.republishMs;
    this.minPeers = opts.minPeers ?? 0;
  }

  /** This relay's id, hex. */
  get self(): string {
    return idHex(this.opts.node.relayId);
  }

  async start(): Promise<void> {
    const { libp2p } = this.opts.node;
    const pubsub = libp2p.services.pubsub;
    pubsub.topicValidators.set(TOPOLOGY_TOPIC, (_peer, msg) => this.validate(msg));
    pubsub.addEventListener('message', this.onMessage);
    pubsub.addEventListener('subscription-change', this.onLinks);
    libp2p.addEventListener('peer:connect', this.onLinks);
    libp2p.addEventListener('peer:disconnect', this.onLinks);
    pubsub.subscribe(TOPOLOGY_TOPIC);
    this.started = true;
    this.ticker = setInterval(() => {
      this.publish();
      this.topUp();
    }, this.republishMs);
    this.ticker.unref?.();
    this.publish();
  }

  async stop(): Promise<void> {
    const { libp2p } = this.opts.node;
    this.started = false;
    clearInterval(this.ticker);
    clearTimeout(this.pending);
    const pubsub = libp2p.services.pubsub;
    pubsub.removeEventListener('message', this.onMessage);
    pubsub.removeEventListener('subscription-change', this.onLinks);
    libp2p.removeEventListener('peer:connect', this.onLinks);
    libp2p.removeEventListener('peer:disconnect', this.onLinks);
    pubsub.topicValidators.delete(TOPOLOGY_TOPIC);
    if (libp2p.status === 'started') pubsub.unsubscribe(TOPOLOGY_TOPIC);
  }

  stats(): TopologyStats {
    return { ...this.counters, known: this.entries.size };
  }

  /** The announced topology: neighbour lists by relay id (hex), this relay's included. */
  topology(): Topology {
    const t = this.now();
    const out = new Map<string, string[]>();
    for (const [id, e] of this.entries) if (id === this.self || t - e.receivedAt <= this.maxAgeMs) out.set(id, e.neighbours);
    return out;
  }

  /** The forwarding tree rooted at `root` (hex relay id), cached until the topology changes. */
  tree(root: string): ForwardingTree {
    let tree = this.trees.get(root);
    if (tree === undefined) {
      tree = forwardingTree(this.topology(), root);
      if (this.trees.size > 1024) this.trees.clear();
      this.trees.set(root, tree);
    }
    return tree;
  }

  /**
   * Relays (hex ids) this relay reaches: those the announced links connect it to, and every
   * connected one (announced or not yet), itself included. Relays beyond links nobody has
   * announced yet are missing until their announcements come (within republishMs).
   */
  reachable(): Set<string> {
    const out = new Set(this.tree(this.self).depth.keys());
    for (const id of this.connectedRelays()) out.add(id);
    return out;
  }

  /** Relay ids (hex) of connected relays, sorted. */
  private connectedRelays(): string[] {
    const ids = new Set<string>();
    for (const p of this.opts.node.libp2p.getPeers()) {
      const rid = relayIdOf(p);
      if (rid !== undefined) ids.add(idHex(rid));
    }
    return [...ids].sort();
  }

  private schedule(): void {
    if (!this.started || this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.publish();
    }, this.debounceMs);
  }

  private publish(): void {
    if (!this.started) return;
    const { node } = this.opts;
    // A strictly increasing seq even when the clock stands still or steps back.
    this.lastSeq = Math.max(this.lastSeq + 1, this.now());
    const a: TopologyAnnouncement = {
      seq: this.lastSeq,
      addrs: node.multiaddrs().slice(0, MAX_ORIGIN_ADDRS).map(String),
      neighbours: this.connectedRelays().slice(0, MAX_NEIGHBOURS).map((h) => Uint8Array.from(Buffer.from(h, 'hex'))),
    };
    this.store(this.self, a);
    this.counters.published++;
    node.libp2p.services.pubsub.publish(TOPOLOGY_TOPIC, TopologyAnnouncementCodec.encode(a)).catch(() => undefined);
  }

  private validate(msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed' || relayIdOf(msg.from) === undefined) return TopicValidatorResult.Reject;
    try {
      const a = TopologyAnnouncementCodec.decode(msg.data);
      for (const s of a.addrs) multiaddr(s);
    } catch {
      return TopicValidatorResult.Reject;
    }
    return TopicValidatorResult.Accept;
  }

  private handle(msg: Message): void {
    if (msg.topic !== TOPOLOGY_TOPIC || msg.type !== 'signed' || !this.started) return;
    const rid = relayIdOf(msg.from);
    if (rid === undefined || msg.from.equals(this.opts.node.peerId)) return;
    let a: TopologyAnnouncement;
    try {
      a = TopologyAnnouncementCodec.decode(msg.data);
    } catch {
      return;
    }
    if (!this.store(idHex(rid), a)) return;
    this.topUp();
  }

  /** Keeps the newer announcement; returns whether anything changed. */
  private store(id: string, a: TopologyAnnouncement): boolean {
    const old = this.entries.get(id);
    if (old !== undefined && old.seq >= a.seq) return false;
    const neighbours = a.neighbours.map(idHex).sort();
    this.entries.set(id, { seq: a.seq, receivedAt: this.now(), addrs: a.addrs, neighbours });
    const same = old !== undefined && old.neighbours.length === neighbours.length && old.neighbours.every((n, i) => n === neighbours[i]);
    if (same) return false;
    this.trees.clear();
    this.dispatchEvent(new Event('change'));
    return true;
  }

  /** Dials known, unconnected relays (in random order) until minPeers are connected or being dialled. */
  private topUp(): void {
    if (!this.started || this.minPeers <= 0) return;
    const connected = new Set(this.connectedRelays());
    // Two dials at a time: a burst of handshakes on a busy host times them all out.
    let missing = Math.min(this.minPeers - connected.size, MAX_PARALLEL_DIALS) - this.dialling.size;
    if (missing <= 0) return;
    const candidates = [...this.entries.entries()].filter(([id, e]) => id !== this.self && !connected.has(id) && !this.dialling.has(id) && e.addrs.length > 0);
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    for (const [id, e] of candidates) {
      if (missing-- <= 0) break;
      this.dialling.add(id);
      // Free the slot even if a dial never settles (seen with crossing dials), or topping up stalls.
      let freed = false;
      const free = (): void => {
        if (freed) return;
        freed = true;
        clearTimeout(guard);
        this.dialling.delete(id);
        this.topUp();
      };
      const guard = setTimeout(free, DIAL_TIMEOUT_MS + 1000);
      guard.unref?.();
      void this.dial(e.addrs).finally(free);
    }
  }

  private async dial(addrs: string[]): Promise<void> {
    // One address is enough on the networks relays run on; a failed dial is just skipped.
    try {
      await this.opts.node.connect(addrs[0]!, AbortSignal.timeout(DIAL_TIMEOUT_MS));
      this.counters.dialled++;
    } catch {
      return;
    }
  }
}
