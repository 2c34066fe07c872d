// Curious relays (issue #14): three relay daemons joined by libp2p on one devnet, each behind a
// recording TCP proxy (the relay's publicUrl is the proxy, so every client byte it gets passes
// there), with every gossip offer, quote, forwarded tag query and lookup it receives from other
// relays recorded, and its store read at the end. Five senders write N messages each to their
// own recipient, with replies (recipient-pays: reads of the first message and of the replies
// are paid on chain). Over everything any relay received or stored: (1) no user's identity key
// (outside the prekey bundles, which are the address's public part), (2) no 32-byte value shared
// by two messages except the recipients' introduction tags, used only until the first reply is
// read, (3) every size a size class; and nothing was lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import {
  DepositCodec, OfferCodec, PaymentNoticeCodec, QuoteCodec, TagQueryCodec, introEpochsAround, mailboxIdOf, introSecret, isSizeClass, tagOfSecret, type Offer,
} from '../../src/core/objects/index.ts';
import { OFFER_TOPIC, OfferAnnouncementCodec, QueryRequestCodec } from '../../src/core/wire/p2p.ts';
import type { RelayNode } from '../../src/p2p/node.ts';
import { BLOB_TAG_BYTES } from '../../src/core/limits.ts';
import { parseTx } from '../../src/wallet/tx-parse.ts';
import { openRelayFile } from '../relay/helpers.ts';
import { LIGHT_SCRYPT, startChain, tempDir, type Chain } from './helpers.ts';

const N = Number(process.env.SATPOST_CURIOUS_N ?? 100);
const PAIRS = 5;
const REPLY_EVERY = 10;
const SEND = { mode: 'recipient-pays', maxFee: 5_000, retentionDays: 0.1 } as const;
const FAST = { heartbeatMs: 100, topologyDebounceMs: 20 };
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isPrekeyPath = (path: string): boolean => path.startsWith('/v1/prekeys') || path.startsWith('/v1/lookup/prekeys');

/** Resolves once `cond()` holds, re-checked whenever one of `targets` fires one of `events` (the guard only fails a hang). */
function waitFor(cond: () => boolean, targets: EventTarget[], events: string[], what: string, guardMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      cleanup();
      resolve();
    };
    const guard = setTimeout(() => (cleanup(), reject(new Error(`timed out waiting for ${what}`))), guardMs);
    const cleanup = (): void => {
      clearTimeout(guard);
      for (const t of targets) for (const e of events) t.removeEventListener(e, check);
    };
    for (const t of targets) for (const e of events) t.addEventListener(e, check);
    check();
  });
}

/** Dials a-b for each edge, then waits for the connections, a spanning offer mesh and settled topologies. */
async function joinRelays(nodes: RelayNode[], relays: RelayHandle[], edges: [number, number][]): Promise<void> {
  for (const [a, b] of edges) {
    for (let i = 1; ; i++) {
      try {
        await nodes[a]!.connect(nodes[b]!.multiaddrs()[0]!);
        break;
      } catch (e) {
        if (i >= 5) throw e; // a busy machine can time out a Noise handshake
      }
    }
  }
  const libs = nodes.map((n) => n.libp2p);
  const ids = nodes.map((n) => n.peerId.toString());
  const linked = (): boolean => edges.every(([a, b]) => libs[a]!.getPeers().some((p) => p.toString() === ids[b]) && libs[b]!.getPeers().some((p) => p.toString() === ids[a]));
  await waitFor(linked, libs, ['peer:connect'], 'connections');
  const spans = (): boolean => nodes.every((_, start) => {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length > 0) {
      for (const p of nodes[todo.pop()!]!.meshPeers(OFFER_TOPIC)) {
        const j = ids.indexOf(p);
        if (j >= 0 && !seen.has(j)) {
          seen.add(j);
          todo.push(j);
        }
      }
    }
    return seen.size === nodes.length;
  });
  await waitFor(spans, libs.map((l) => l.services.pubsub), ['gossipsub:graft', 'gossipsub:heartbeat', 'subscription-change'], 'gossipsub mesh');
  const settled = (): boolean => {
    const actual = new Map(nodes.map((n) => [hexOf(n.relayId), n.libp2p.getPeers().map((p) => hexOf(p.publicKey!.raw)).sort().join()]));
    return relays.every((r) => [...actual].every(([id, ns]) => r.network.parts!.topology.topology().get(id)?.join() === ns));
  };
  await waitFor(settled, relays.map((r) => r.network.parts!.topology), ['change'], 'topology exchange');
}

/** A TCP proxy that keeps every byte a client sent, per connection: what the relay behind it received. */
interface Recorder {
  url: string;
  connections: Buffer[][];
  target(port: number): void;
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  let port = 0;
  const connections: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const chunks: Buffer[] = [];
    connections.push(chunks);
    const up = tcpConnect(port, '127.0.0.1');
    sockets.add(down).add(up);
    down.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${own}`,
    connections,
    target: (p) => void (port = p),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

interface HttpRequest {
  method: string;
  path: string;
  head: string;
  body: Buffer;
}

/** The HTTP requests (Content-Length or chunked bodies) and unmasked WebSocket frames of one client stream. */
function parseStream(raw: Buffer): { requests: HttpRequest[]; frames: Buffer[] } {
  const requests: HttpRequest[] = [];
  const frames: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    assert.ok(end >= 0, 'a request head ends');
    const head = raw.subarray(at, end).toString('latin1');
    const [method = '', path = ''] = head.split('\r\n')[0]!.split(' ');
    const header = (name: string): string | undefined => head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    at = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = raw.indexOf('\r\n', at);
        const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
        at = eol + 2;
        if (size === 0) {
          at += 2;
          break;
        }
        parts.push(raw.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const len = Number(header('content-length') ?? 0);
      body = raw.subarray(at, at + len);
      at += len;
    }
    requests.push({ method, path, head, body });
    if (header('upgrade')?.toLowerCase() === 'websocket') {
      // The rest of the stream is WebSocket frames; a client masks each (RFC 6455 5.3).
      while (at + 2 <= raw.length) {
        let len = raw[at + 1]! & 0x7f;
        let p = at + 2;
        if (len === 126) {
          len = raw.readUInt16BE(p);
          p += 2;
        } else if (len === 127) {
          len = Number(raw.readBigUInt64BE(p));
          p += 8;
        }
        const masked = (raw[at + 1]! & 0x80) !== 0;
        const mask = masked ? raw.subarray(p, p + 4) : undefined;
        if (masked) p += 4;
        const payload = Buffer.from(raw.subarray(p, p + len));
        if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
        frames.push(payload);
        at = p + len;
      }
      break;
    }
  }
  assert.equal(at, raw.length, 'the client stream parses to its end');
  return { requests, frames };
}

/** What one relay received from other relays over libp2p. */
interface P2pCapture {
  offers: Buffer[];
  quotes: Buffer[];
  queries: Buffer[];
  lookups: Buffer[];
}

/** Records the gossip offers, quotes, forwarded queries and lookups a running relay receives (instance wrappers, no src seam). */
function captureP2p(r: RelayHandle): P2pCapture {
  const cap: P2pCapture = { offers: [], quotes: [], queries: [], lookups: [] };
  const p = r.network.parts!;
  p.node.libp2p.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic === OFFER_TOPIC) cap.offers.push(Buffer.from(e.detail.data));
  });
  const wrap = (target: object, method: string, into: Buffer[]): void => {
    const o = target as Record<string, (bytes: Uint8Array, ...rest: unknown[]) => unknown>;
    const orig = o[method]!.bind(target);
    o[method] = (bytes, ...rest) => (into.push(Buffer.from(bytes)), orig(bytes, ...rest));
  };
  wrap(p.offers, 'onQuote', cap.quotes);
  wrap(p.queries, 'decodeRequest', cap.queries);
  wrap(p.lookups, 'decodeRequest', cap.lookups);
  return cap;
}

interface Pair {
  sender: Client;
  recipient: Client;
  /** Ids (hex) of the sender's messages and of the recipient's replies, by whether the sender had read a reply when it left. */
  early: string[];
  late: string[];
  sent: string[];
}

describe('curious relays and gossip peers learn no identities, links or exact sizes', { timeout: 900_000 }, () => {
  let chain: Chain;
  const relays: RelayHandle[] = [];
  const recorders: Recorder[] = [];
  const captures: P2pCapture[] = [];
  const tmp = tempDir('satpost-curious-');
  const clients: Client[] = [];
  const pairs: Pair[] = [];

  before(async () => {
    chain = await startChain();
    const backend = new DevnetBackend(chain.devnet);
    for (let i = 0; i < 3; i++) {
      const rec = await startRecorder();
      const config = finish({
        ...DEFAULTS, port: 0, publicUrl: rec.url, dataDir: join(tmp.dir, `relay${i}`), rateLimitBurst: 0, logLevel: 'silent', lockBlocks: 30, claimMarginBlocks: 3,
        chainUrl: chain.url, priceBaseSats: 500, p2pMinPeers: 0, topologyRepublishSecs: 1, offerWindowMs: 1500, queryBudgetMs: 1500,
        // Every client is 127.0.0.1 here: one depositor for the relays' unpaid allowance.
        depositorUnpaidMaxMessages: 10_000, depositorUnpaidMaxBytes: 1 << 30,
      });
      const relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT, p2p: FAST });
      rec.target(relay.port);
      recorders.push(rec);
      relays.push(relay);
    }
    await joinRelays(relays.map((r) => r.network.parts!.node), relays, [[0, 1], [1, 2]]);
    for (const r of relays) captures.push(captureP2p(r));
    for (let i = 0; i < PAIRS; i++) {
      const make = async (name: string, entry: number): Promise<Client> => {
        const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: name, network: 'regtest', chainUrl: chain.url, relays: [recorders[entry]!.url], scrypt: LIGHT_SCRYPT, backend });
        clients.push(client);
        return client;
      };
      const sender = await make(`sender${i}`, i % 3);
      const recipient = await make(`recipient${i}`, (i + 1) % 3);
      await sender.publish();
      await recipient.publish();
      await sender.addContact('peer', recipient.address());
      await recipient.addContact('peer', sender.address());
      chain.fund(sender.walletAddress(), 1_000_000);
      chain.fund(recipient.walletAddress(), 1_000_000);
      pairs.push({ sender, recipient, early: [], late: [], sent: [] });
    }
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const r of relays) await r.stop();
    for (const r of recorders) await r.close();
    await chain.close();
    tmp.cleanup();
  });

  /** Reads a recipient-pays entry, confirming its funding once it is broadcast. */
  const readPaid = async (c: Client, id: string): Promise<string> => {
    const got = await c.read(id, { maxPrice: 5_000, pollMs: 100, onProgress: (line) => void (line.includes('to confirm') && chain.devnet.mine(1)) });
    assert.equal(got.message.kind, 'text');
    return got.message.kind === 'text' ? got.message.text : '';
  };
  /** The one new entry of `c` from its peer (after an inbox), read. */
  const readNewest = async (c: Client, id: string, text: string): Promise<void> => {
    const { entries, problems } = await c.inbox();
    assert.deepEqual(problems, []);
    const e = entries.find((x) => x.id === id);
    assert.ok(e, `entry ${id} found`);
    assert.equal(e.from, 'peer');
    assert.equal(await readPaid(c, id), text);
  };

  it(`${PAIRS} pairs exchange ${N} messages each with replies, and nothing is lost`, async () => {
    // The pairs run side by side (each waits mostly on the network's offer rounds and on confirmations).
    await Promise.all(pairs.map(async (pair, p) => {
      const { sender, recipient } = pair;
      const send = async (from: Client, text: string, late: boolean): Promise<string> => {
        const s = await from.send('peer', { text }, SEND);
        (late ? pair.late : pair.early).push(s.id);
        return s.id;
      };
      const first = await send(sender, `p${p} m0`, false);
      pair.sent.push(first);
      await readNewest(recipient, first, `p${p} m0`);
      let reply = await send(recipient, `p${p} r0`, false);
      await readNewest(sender, reply, `p${p} r0`);
      // From here on the sender holds the recipient's seed: no introduction tag any more.
      for (let m = 1; m < N; m++) {
        pair.sent.push(await send(sender, `p${p} m${m}`, true));
        if (m % REPLY_EVERY === 0) {
          const { problems } = await recipient.inbox();
          assert.deepEqual(problems, []);
          reply = await send(recipient, `p${p} r${m}`, true);
          await readNewest(sender, reply, `p${p} r${m}`);
        }
      }
      const { entries, problems } = await recipient.inbox();
      assert.deepEqual(problems, []);
      const found = new Set(entries.filter((e) => e.from === 'peer').map((e) => e.id));
      assert.deepEqual(pair.sent.filter((id) => !found.has(id)), [], `pair ${p}: every message sent was found`);
      assert.equal(found.size, N);
    }));
  });

  it('what the relays received and stored: no identity key, no shared 32-byte value, only size classes', (t) => {
    assert.equal(pairs.every((p) => p.sent.length === N), true, 'the traffic ran');
    // --- Collect every byte each relay received and stored.
    const requests: { relay: number; req: HttpRequest }[] = [];
    const blobs: { where: string; bytes: Buffer }[] = [];
    const published: { where: string; bytes: Buffer }[] = [];
    for (const [i, rec] of recorders.entries()) {
      for (const conn of rec.connections) {
        const raw = Buffer.concat(conn);
        const { requests: rs, frames } = parseStream(raw);
        for (const req of rs) requests.push({ relay: i, req });
        // The prekey requests (publication, fetch, lookup) are the address's public part: they
        // carry the identity key or its mailbox id by design. Everything else is searched.
        for (const r of rs) (isPrekeyPath(r.path) ? published : blobs).push({ where: `relay${i} ${r.method} ${r.path.split('?')[0]}`, bytes: Buffer.concat([Buffer.from(r.head, 'latin1'), r.body]) });
        for (const f of frames) blobs.push({ where: `relay${i} ws frame`, bytes: f });
      }
      const c = captures[i]!;
      for (const [k, list] of Object.entries(c)) for (const b of list as Buffer[]) (k === 'lookups' ? published : blobs).push({ where: `relay${i} p2p ${k}`, bytes: b });
    }
    assert.ok(requests.filter((r) => r.req.path === '/v1/deposit').length >= PAIRS * N, 'every deposit passed a recorder');
    assert.ok(captures.some((c) => c.offers.length > 0) && captures.some((c) => c.queries.length > 0), 'gossip offers and forwarded queries were recorded');

    interface Row { relay: number; table: string; row: Record<string, unknown> }
    const rows: Row[] = [];
    for (const i of relays.keys()) {
      const db = openRelayFile(join(tmp.dir, `relay${i}`), 'relay.sqlite', { readonly: true });
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
        for (const table of tables) {
          for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]) {
            rows.push({ relay: i, table, row });
            // The prekey tables hold the published bundles (identity key included, by design), by mailbox id.
            const into = table.startsWith('prekey_') ? published : blobs;
            for (const [col, v] of Object.entries(row)) {
              if (Buffer.isBuffer(v)) into.push({ where: `relay${i} ${table}.${col}`, bytes: v });
              else if (typeof v === 'string') into.push({ where: `relay${i} ${table}.${col}`, bytes: Buffer.from(v, 'latin1') });
            }
          }
        }
      } finally {
        db.close();
      }
    }
    const messages = rows.filter((r) => r.table === 'messages');
    assert.equal(messages.length, PAIRS * (N + 1 + Math.floor((N - 1) / REPLY_EVERY)), 'every message and reply stored once');

    // --- (1) No identity key of any user, as bytes (with and without the 0x05 prefix), hex or base64.
    const keys = pairs.flatMap((p) => [Buffer.from(p.sender.contact('peer').identityKey, 'hex'), Buffer.from(p.recipient.contact('peer').identityKey, 'hex')]);
    assert.equal(new Set(keys.map(hexOf)).size, 2 * PAIRS);
    for (const k of keys) {
      assert.equal(k.length, 33);
      const patterns = [k, k.subarray(1), Buffer.from(hexOf(k)), Buffer.from(hexOf(k.subarray(1))), Buffer.from(hexOf(k).toUpperCase()), Buffer.from(k.toString('base64')), Buffer.from(k.toString('base64url')), Buffer.from(k.subarray(1).toString('base64url'))];
      for (const b of blobs) for (const pat of patterns) assert.equal(b.bytes.indexOf(pat), -1, `an identity key in ${b.where}`);
      // The search does find a key where it is by design: in the published prekey bundles.
      assert.ok(rows.some((r) => r.table === 'prekey_bundles' && (r.row.bundle as Buffer).indexOf(k) >= 0), 'the key is in a published bundle');
      assert.ok(published.some((b) => b.where.endsWith('POST /v1/prekeys') && b.bytes.indexOf(k) >= 0), 'the key is in the recorded publication');
      // Nor the address's mailbox id (where its prekeys are published), outside the prekey requests and tables.
      const mailbox = Buffer.from(mailboxIdOf(new Uint8Array(k)));
      for (const b of blobs) for (const pat of [mailbox, Buffer.from(hexOf(mailbox))]) assert.equal(b.bytes.indexOf(pat), -1, `a mailbox id in ${b.where}`);
      assert.ok(published.some((b) => b.bytes.indexOf(mailbox) >= 0 || b.bytes.indexOf(hexOf(mailbox)) >= 0), 'the mailbox id is where prekeys are published');
    }

    // --- (2) No 32-byte value shared by two messages, but the introduction tags; those only before the first reply.
    const intro = new Set<string>();
    for (const k of keys) for (const e of introEpochsAround(Date.now())) intro.add(hexOf(tagOfSecret(introSecret(new Uint8Array(k), e))));
    const tagOf = new Map<string, string>();
    for (const { row } of messages) tagOf.set(hexOf(row.id as Buffer), hexOf(row.mailbox as Buffer));
    const offers: Offer[] = [];
    for (const c of captures) for (const b of c.offers) offers.push(OfferAnnouncementCodec.decode(b).offer);
    for (const { req } of requests) if ((req.path === '/v1/offer' || req.path === '/v1/quote') && req.method === 'POST') offers.push(OfferCodec.decode(req.body));
    const deposits = requests.filter((r) => r.req.path === '/v1/deposit').map((r) => DepositCodec.decode(r.req.body));
    /** Values (hex) named by more than one distinct owner. */
    const sharedBy = (pairs: [string, string][]): string[] => {
      const m = new Map<string, Set<string>>();
      for (const [value, owner] of pairs) m.set(value, (m.get(value) ?? new Set()).add(owner));
      return [...m].filter(([, s]) => s.size > 1).map(([v, s]) => `${v} x${s.size}`);
    };
    const notIntro = (t: string): boolean => !intro.has(t);
    // Tags: every non-introduction tag names exactly one stored message, one offer per relay, one deposit.
    assert.deepEqual(sharedBy([...tagOf].filter(([, t]) => notIntro(t)).map(([id, t]) => [t, id])), [], 'a conversation tag under two stored messages');
    assert.deepEqual(sharedBy(offers.filter((o) => notIntro(hexOf(o.tag))).map((o) => [hexOf(o.tag), hexOf(o.offerId)])), [], 'a conversation tag in two offers');
    assert.deepEqual(sharedBy(deposits.filter((d) => notIntro(hexOf(d.tag))).map((d) => [hexOf(d.tag), hexOf(d.quoteId)])), [], 'a conversation tag in two deposits');
    for (const i of relays.keys()) {
      const quoteRows = rows.filter((r) => r.relay === i && r.table === 'quotes');
      assert.deepEqual(sharedBy(quoteRows.filter((r) => notIntro(hexOf(r.row.mailbox as Buffer))).map((r) => [hexOf(r.row.mailbox as Buffer), hexOf(r.row.quote_id as Buffer)])), [], `relay${i}: a conversation tag in two quotes`);
    }
    assert.deepEqual(sharedBy(deposits.filter((d) => d.payerPubkey !== undefined).map((d) => [hexOf(d.payerPubkey!), hexOf(d.quoteId)])), [], 'a payer key in two deposits');
    // Any other 32-byte value of a message (hashes, ids, payer keys, funding txids) in one message only.
    const perMessage = new Map<string, Set<string>>();
    for (const { row } of messages) {
      const id = hexOf(row.id as Buffer);
      for (const col of ['hblob', 'hk', 'hc', 'hr', 'payer_pubkey', 'deposit_digest', 'contract_id', 'funding_txid']) {
        const v = row[col];
        if (v === null || v === undefined) continue;
        const key = `${col}:${Buffer.isBuffer(v) ? hexOf(v) : String(v)}`;
        perMessage.set(key, (perMessage.get(key) ?? new Set()).add(id));
      }
    }
    assert.deepEqual([...perMessage].filter(([, s]) => s.size > 1).map(([k, s]) => `${k} in ${s.size} messages`), [], 'a value shared by messages');
    // What a relay that also reads the chain learns of its readers: a read's funding spending
    // (through change) another read's funding ties the two reads to one wallet. Measured, not asserted (see the report of #14).
    const notices = requests.filter((r) => r.req.path === '/v1/unlock' && /content-type: application\/octet-stream/i.test(r.req.head)).map((r) => PaymentNoticeCodec.decode(r.req.body));
    assert.equal(notices.length, pairs.length * (2 + Math.floor((N - 1) / REPLY_EVERY)), 'a payment notice per paid read');
    assert.deepEqual(sharedBy(notices.map((n) => [hexOf(n.payerPubkey), hexOf(n.messageId)])), [], 'a payer key in two payment notices');
    assert.deepEqual(sharedBy(notices.map((n) => [`${n.funding.txid}:${n.funding.vout}`, hexOf(n.messageId)])), [], 'a funding outpoint in two payment notices');
    const fundings = new Set([...messages.map((m) => m.row.funding_txid), ...notices.map((n) => n.funding.txid)].filter((f): f is string => typeof f === 'string'));
    let linked = 0;
    for (const f of fundings) {
      const seen = new Set<string>();
      const todo = [...parseTx(chain.devnet.getTx(f)!.raw).inputs.map((i) => i.txid)];
      while (todo.length > 0 && seen.size < 200) {
        const txid = todo.pop()!;
        if (seen.has(txid)) continue;
        seen.add(txid);
        if (fundings.has(txid)) {
          linked++;
          break;
        }
        const tx = chain.devnet.getTx(txid);
        if (tx) todo.push(...parseTx(tx.raw).inputs.filter((i) => !/^0{64}$/.test(i.txid)).map((i) => i.txid));
      }
    }
    // Co-occurrence: a tag query (forwarded, or a client's to its entry relay) naming a user's
    // introduction tag, which anyone with her address computes (the relays hold every published
    // identity key), beside conversation tags a stored message went under: the query says whose they are.
    const introOwner = new Map<string, number>();
    for (const [u, k] of keys.entries()) for (const e of introEpochsAround(Date.now())) introOwner.set(hexOf(tagOfSecret(introSecret(new Uint8Array(k), e))), u);
    const storedTags = new Set([...tagOf.values()].filter(notIntro));
    const queries = [
      ...captures.flatMap((c) => c.queries.map((b) => QueryRequestCodec.decode(b).query.tags)),
      ...requests.filter((r) => r.req.path === '/v1/tags/query').map((r) => TagQueryCodec.decode(r.req.body).tags),
      ...requests.filter((r) => r.req.path === '/v1/tags/list').map((r) => (JSON.parse(Buffer.from(r.req.body).toString()) as { tags: string[] }).tags.map((x) => Buffer.from(x, 'hex'))),
    ];
    const naming = queries.filter((tags) => tags.some((x) => introOwner.has(hexOf(x))) && tags.some((x) => storedTags.has(hexOf(x))));
    const exposed = new Set(naming.flatMap((tags) => tags.map(hexOf).filter((x) => storedTags.has(x))));
    t.diagnostic(`tag queries and listings ${queries.length}; ${naming.length} name an introduction tag beside conversation tags, tying ${exposed.size} of ${storedTags.size} stored conversation tags to their recipient`);
    assert.equal(naming.length, 0, 'no query or listing names an introduction tag beside conversation tags');
    const unpaid = messages.filter((m) => m.row.depositor !== null);
    t.diagnostic(`stored unpaid messages keeping a depositor hash (one value per client address): ${unpaid.length} of ${messages.length}, ${new Set(unpaid.map((m) => hexOf(m.row.depositor as Buffer))).size} distinct`);
    t.diagnostic(`http requests ${requests.length}, gossip offers ${captures.reduce((n, c) => n + c.offers.length, 0)}, forwarded queries ${captures.reduce((n, c) => n + c.queries.length, 0)}, stored messages ${messages.length}`);
    t.diagnostic(`paid reads on chain: ${fundings.size}; ${linked} of them spend (through change) an earlier read's funding`);
    // After the sender read the first reply, no message of the pair goes under an introduction tag.
    for (const [p, pair] of pairs.entries()) {
      for (const id of pair.late) {
        const tag = tagOf.get(id);
        assert.ok(tag, `pair ${p}: message ${id} stored`);
        assert.equal(intro.has(tag), false, `pair ${p}: message ${id} under an introduction tag after the first reply`);
      }
      // And the first message, before any reply, did go under the recipient's introduction tag.
      assert.equal(intro.has(tagOf.get(pair.early[0]!)!), true, `pair ${p}: the first message under the introduction tag`);
      assert.equal(intro.has(tagOf.get(pair.early[1]!)!), false, `pair ${p}: the first reply under the seed the first message told`);
    }

    // --- (3) No exact size: offers, quotes received, quote rows, deposit bodies and stored blobs are size classes.
    for (const o of offers) assert.ok(isSizeClass(o.size), `offer size ${o.size}`);
    for (const c of captures) for (const b of c.quotes) {
      let size: number | undefined;
      try {
        size = QuoteCodec.decode(b).size;
      } catch {
        continue; // a decline (OfferDecline), not a quote
      }
      assert.ok(isSizeClass(size), `quote size ${size}`);
    }
    for (const { row } of rows.filter((r) => r.table === 'quotes')) assert.ok(isSizeClass(row.size as number), `quote row size ${String(row.size)}`);
    // The stored blob is c sealed under k: its size class plus the AEAD tag.
    for (const { row } of messages) assert.ok(isSizeClass((row.blob as Buffer).length - BLOB_TAG_BYTES), `stored blob ${(row.blob as Buffer).length}`);
    for (const d of deposits) assert.ok(isSizeClass(d.body.length), `deposit body ${d.body.length}`);
    // Queries forwarded over the network carry only tags: a stored conversation tag is asked for by at most its own message.
    for (const c of captures) for (const b of c.queries) assert.ok(QueryRequestCodec.decode(b).query.tags.length > 0);
  });
});
