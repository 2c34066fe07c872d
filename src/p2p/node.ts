/**
 * A relay's libp2p node. The libp2p identity IS the relay's Ed25519 node key: the peer id
 * is derived from the same 32-byte secret that signs quotes and receipts, so a quote's
 * relayId can be checked against the peer that delivered it.
 *
 * The DHT runs on the private protocol '/satpost/kad/1.0.0', so satpost relays never join
 * (or answer) the public IPFS DHT.
 */
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import type { TopicScoreParams } from '@libp2p/gossipsub/score';
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHT } from '@libp2p/kad-dht';
import { bootstrap } from '@libp2p/bootstrap';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { PeerDiscovery, PeerId } from '@libp2p/interface';
import { expected } from '../core/errors.ts';
import { P2pError } from './errors.ts';
import { OFFER_TOPIC } from '../core/wire/p2p.ts';

export const DHT_PROTOCOL = '/satpost/kad/1.0.0';

export interface RelayServices {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
  dht?: KadDHT;
  [key: string]: unknown;
}

export type RelayLibp2p = Libp2p<RelayServices>;

export interface RelayNodeOptions {
  /** The relay's 32-byte Ed25519 node secret (seed). */
  nodeSecret: Uint8Array;
  /** Multiaddrs to listen on; default ['/ip4/127.0.0.1/tcp/0']. */
  listen?: string | string[];
  /** Multiaddrs (with /p2p/<id>) of relays to connect to at start. */
  bootstrap?: string[];
  /** Run the Kademlia DHT (server mode) on the private '/satpost' prefix. Default false. */
  dht?: boolean;
  /**
   * Keep private and loopback addresses in DHT records. Default: true when every listen
   * address is loopback or private (development networks), false otherwise.
   */
  allowPrivateAddresses?: boolean;
  /**
   * New inbound connections accepted per second from one host (libp2p's default is 5).
   * Every relay that quotes an offer dials its origin at once, so the origin needs more.
   * Default 64.
   */
  inboundPerHostPerSecond?: number;
  /** Gossipsub heartbeat in ms (mesh maintenance). Default 1000; tests use less. */
  heartbeatMs?: number;
}

export interface RelayNode {
  readonly libp2p: RelayLibp2p;
  readonly peerId: PeerId;
  /** The relay id: the 32-byte Ed25519 public node key. */
  readonly relayId: Uint8Array;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Listening addresses, each ending in /p2p/<peer id>. */
  multiaddrs(): Multiaddr[];
  /** Opens a connection to a relay given one of its multiaddrs (with /p2p/<id>). */
  connect(addr: Multiaddr | string, signal?: AbortSignal): Promise<PeerId>;
  /** Peers this node currently forwards pubsub messages on `topic` to. */
  meshPeers(topic: string): string[];
  /** Gossipsub's score of a peer (below 0: out of the mesh; below -80: ignored). */
  peerScore(peer: PeerId): number;
}

/**
 * Gossipsub peer scoring on the offer topic. What counts is P4, invalid deliveries: an offer
 * the validator rejects (malformed, or over the rate limit of the neighbour that published it,
 * ./offers.ts) costs its sender (count² × 1); the mesh drops a peer below 0 at the next
 * heartbeat, stops gossiping with it below -10 and ignores it altogether below -80 (the
 * default thresholds), so ten rejected offers silence a flooder; the count decays 10 % a
 * second. Mesh delivery rates (P3, P3b) are off: offers are sporadic, a quiet honest
 * neighbour is no fault. Small positive terms for time in the mesh and first deliveries
 * let an honest neighbour absorb the odd rejection (capped at +10 overall by gossipsub).
 */
export const OFFER_TOPIC_SCORE: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.9,
};

const PRIVATE_V4 = /^\/ip4\/(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/;

export async function createRelayNode(opts: RelayNodeOptions): Promise<RelayNode> {
  if (!(opts.nodeSecret instanceof Uint8Array) || opts.nodeSecret.length !== 32) {
    throw new P2pError('BAD_CONFIG', expected('nodeSecret', '32 bytes (Ed25519 seed)', opts.nodeSecret));
  }
  const listen = opts.listen === undefined ? ['/ip4/127.0.0.1/tcp/0'] : [opts.listen].flat();
  const bootList = opts.bootstrap ?? [];
  for (const a of [...listen, ...bootList]) {
    try {
      multiaddr(a);
    } catch (e) {
      throw new P2pError('BAD_CONFIG', expected('multiaddr', 'a valid multiaddr', a), { cause: e });
    }
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', opts.nodeSecret);
  const allowPrivate = opts.allowPrivateAddresses ?? listen.every((a) => PRIVATE_V4.test(a) || a.startsWith('/ip6/::1/'));

  const services: Record<string, (c: never) => unknown> = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      // Relays forward every valid offer: there is no "interest" besides being a relay.
      heartbeatInterval: opts.heartbeatMs ?? 1000,
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      scoreParams: {
        topics: { [OFFER_TOPIC]: OFFER_TOPIC_SCORE as TopicScoreParams },
        // Gossipsub penalises many peers behind one IP; on a development network every relay
        // is 127.0.0.1, and past ~12 peers the penalty would silence relays (graylisting).
        ...(allowPrivate ? { IPColocationFactorWeight: 0 } : {}),
      },
    }),
  };
  if (opts.dht === true) {
    services.dht = kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: false,
      peerInfoMapper: allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
    });
  }
  const peerDiscovery: Array<(c: never) => PeerDiscovery> = bootList.length > 0 ? [bootstrap({ list: bootList })] : [];

  const libp2p = (await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen },
    connectionManager: {
      inboundConnectionThreshold: opts.inboundPerHostPerSecond ?? 64,
      maxIncomingPendingConnections: 64,
    },
    // libp2p drops a connection whose ping misses an adaptive deadline (from 5 s); a relay
    // busy with a burst of handshakes would lose every link at once. 20 s still finds dead peers.
    connectionMonitor: { pingTimeout: { minTimeout: 20_000 } },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: peerDiscovery as never,
    services: services as never,
  })) as unknown as RelayLibp2p;

  return {
    libp2p,
    peerId: libp2p.peerId,
    relayId: privateKey.publicKey.raw,
    async start() {
      await libp2p.start();
    },
    async stop() {
      await libp2p.stop();
    },
    multiaddrs: () => libp2p.getMultiaddrs(),
    async connect(addr, signal) {
      const conn = await libp2p.dial(typeof addr === 'string' ? multiaddr(addr) : addr, { signal });
      return conn.remotePeer;
    },
    meshPeers(topic) {
      // getMeshPeers is on the implementation, not on the GossipSub interface.
      const ps = libp2p.services.pubsub as unknown as { getMeshPeers?: (t: string) => string[] };
      return ps.getMeshPeers?.(topic) ?? [];
    },
    peerScore(peer) {
      // getScore is on the implementation too.
      const ps = libp2p.services.pubsub as unknown as { getScore?: (p: string) => number };
      return ps.getScore?.(peer.toString()) ?? 0;
    },
  };
}
