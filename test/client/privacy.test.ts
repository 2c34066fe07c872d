// What the storing relay and the relay network learn from a message (issue 14): a real relay
// daemon (127.0.0.1:0, its own wallet) behind a recording HTTP proxy, real clients, a real devnet.
// The proxy keeps every request body the relay receives; the relay's own SQLite store is read
// back, and every blob opened with the k the relay holds (as anyone can once k is published).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { DevnetBackend } from '../../src/chain/devnet/backend.ts';
import { Client } from '../../src/client/client.ts';
import { openBlob } from '../../src/core/blob.ts';
import { decodeAddress } from '../../src/identity/address.ts';
import { DepositCodec, OfferCodec, type Deposit, type Offer } from '../../src/core/objects/index.ts';
import { BackendChainPolicy } from '../../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../../src/relay/config.ts';
import { startRelay, type RelayHandle } from '../../src/relay/daemon.ts';
import { openRelayFile } from '../relay/helpers.ts';
import { LIGHT_SCRYPT, acquaint, startChain, tempDir, type Chain } from './helpers.ts';

/** An HTTP proxy to `target()` that records each request's path and body. */
async function recordingProxy(target: () => string): Promise<{ url: string; seen: { path: string; body: Uint8Array }[]; close(): Promise<void> }> {
  const seen: { path: string; body: Uint8Array }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      seen.push({ path: req.url ?? '', body });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
      fetch(`${target()}${req.url}`, { method: req.method!, headers, ...(body.length > 0 ? { body } : {}) })
        .then(async (r) => {
          const out = Buffer.from(await r.arrayBuffer());
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(out);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Every offset at which a `width`-byte window of `a` also occurs in `b`. */
function sharedWindows(a: Uint8Array, b: Uint8Array, width: number): number {
  const inB = new Set<string>();
  for (let i = 0; i + width <= b.length; i++) inB.add(Buffer.from(b.subarray(i, i + width)).toString('hex'));
  let n = 0;
  for (let i = 0; i + width <= a.length; i++) if (inB.has(Buffer.from(a.subarray(i, i + width)).toString('hex'))) n++;
  return n;
}

const contains = (hay: Uint8Array, needle: Uint8Array): boolean => Buffer.from(hay).includes(Buffer.from(needle));

describe('what relays learn from a message', { timeout: 240_000 }, () => {
  let chain: Chain;
  let relay: RelayHandle;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  const tmp = tempDir('satpost-privacy-');
  const open: Client[] = [];
  let alice: Client;
  let carol: Client;

  const make = async (name: string) => {
    const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: `pw-${name}`, network: 'regtest', chainUrl: chain.url, relays: [proxy.url], scrypt: LIGHT_SCRYPT });
    open.push(client);
    return client;
  };

  before(async () => {
    chain = await startChain();
    proxy = await recordingProxy(() => relay.url);
    // Quotes carry the proxy's URL, so deposits go through it too.
    const config = finish({
      ...DEFAULTS, port: 0, dataDir: join(tmp.dir, 'relay'), rateLimitBurst: 0, logLevel: 'silent', p2p: false, chainUrl: chain.url, publicUrl: proxy.url,
    });
    const backend = new DevnetBackend(chain.devnet);
    relay = await startRelay(config, { backend, chain: new BackendChainPolicy(backend, 0), log: pino({ level: 'silent' }), walletScrypt: LIGHT_SCRYPT });
    alice = await make('alice');
    carol = await make('carol');
    await acquaint(chain, alice, carol);
    // Two first-contact (PreKey) messages: Carol has not answered, so both carry Alice's prekey material.
    await alice.send('carol', { text: 'hello Carol' }, { mode: 'recipient-pays', maxFee: 5_000, retentionDays: 0.1 });
    await alice.send('carol', { text: 'a longer second note '.repeat(400) }, { mode: 'recipient-pays', maxFee: 5_000, retentionDays: 0.1 });
  });
  after(async () => {
    for (const c of open) await c.close();
    await relay.stop();
    await proxy.close();
    await chain.close();
    tmp.cleanup();
  });

  const deposits = (): Deposit[] => proxy.seen.filter((s) => s.path.startsWith('/v1/deposit')).map((s) => DepositCodec.decode(s.body));
  const offers = (): Offer[] => proxy.seen.filter((s) => s.path.startsWith('/v1/quote') || s.path.startsWith('/v1/offer')).map((s) => OfferCodec.decode(s.body));

  it('what the storing relay holds names no sender: no identity key and no repeated 33-byte window across two PreKey messages', () => {
    const identityKey = decodeAddress(alice.address()).identityKey;
    const d = deposits();
    assert.equal(d.length, 2);
    // What the relay keeps, and each blob opened with the k it keeps next to it.
    const db = openRelayFile(join(tmp.dir, 'relay'), 'relay.sqlite', { readonly: true });
    const rows = db.prepare('SELECT m.sealed_header, m.blob, q.k FROM messages m JOIN quotes q ON q.quote_id = m.quote_id ORDER BY m.created_at').all() as { sealed_header: Buffer; blob: Buffer; k: Buffer }[];
    db.close();
    assert.equal(rows.length, 2);
    const opened = rows.map((r) => openBlob(new Uint8Array(r.k), new Uint8Array(r.blob)));
    const held = [...d.flatMap((x) => [x.body, x.sealedHeader]), ...rows.flatMap((r) => [new Uint8Array(r.sealed_header), new Uint8Array(r.blob)]), ...opened];
    for (const bytes of held) {
      assert.ok(!contains(bytes, identityKey), "Alice's serialized identity key is in what the relay holds");
      assert.ok(!contains(bytes, identityKey.subarray(1)), "Alice's 32-byte identity key is in what the relay holds");
    }
    // Two messages of the same session share nothing a relay could match: no 33-byte (nor 32-byte) window.
    const [a, b] = d as [Deposit, Deposit];
    assert.equal(sharedWindows(a.body, b.body, 33), 0, 'the two deposited bodies share 33-byte windows');
    assert.equal(sharedWindows(a.body, b.body, 32), 0, 'the two deposited bodies share 32-byte windows');
    assert.equal(sharedWindows(a.sealedHeader, b.sealedHeader, 32), 0, 'the two sealed headers share 32-byte windows');
    assert.equal(sharedWindows(opened[0]!, opened[1]!, 32), 0, 'the two opened blobs share 32-byte windows');
    // A short and a 8,400-character text: the relay stores the same lengths for both.
    assert.equal(a.body.length, b.body.length, 'stored bodies of one size class differ in length');
    assert.equal(rows[0]!.blob.length, rows[1]!.blob.length);
    assert.equal(a.sealedHeader.length, b.sealedHeader.length);
  });

  it('offers carry a size class and a coarse timestamp', () => {
    const o = offers();
    // POST /v1/offer first (this relay routes none), then /v1/quote: one offer id per message.
    assert.equal(new Set(o.map((x) => Buffer.from(x.offerId).toString('hex'))).size, 2);
    for (const offer of o) {
      assert.equal(offer.size, 16 * 1024, 'the offer states the 16 KiB text class, not the body length');
      assert.equal(offer.createdAt % 60_000, 0, 'the offer time is a whole minute');
      assert.ok(Math.abs(Date.now() - offer.createdAt) < 5 * 60_000);
    }
    assert.equal(new Set(o.map((x) => x.size)).size, 1, 'a short and a long text make offers of one size');
  });
});
