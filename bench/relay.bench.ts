// Relay throughput over the WebSocket stream: durable deposits/s at 64 connections x 16 in
// flight (1 KiB and 64 KiB bodies, SQLite synchronous FULL and NORMAL), deposit latency, and
// authenticated fetches/s over HTTP. The load generator runs in a child process (this same
// file, started with SATPOST_RELAY_LOAD set) so it does not share the relay's event loop.
import '../src/polyfills.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import WebSocket from 'ws';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { percentile, type Benchmark } from './harness.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../src/chain/devnet/backend.ts';
import { DepositCodec, MailboxAuthCodec, OfferCodec, QuoteCodec, ReceiptCodec, mailboxAuthBytes, mailboxIdOf } from '../src/core/objects/index.ts';
import { BackendChainPolicy } from '../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../src/relay/config.ts';
import { startRelay } from '../src/relay/daemon.ts';
import { FRAME_HEADER, OP, frame } from '../src/relay/wire.ts';

const CONNS = 64;
const IN_FLIGHT = 16;

interface LoadResult {
  deposits: number;
  depositSecs: number;
  p50: number;
  p99: number;
  quoteSecs: number;
  fetches: number;
  fetchSecs: number;
}

// ---------------------------------------------------------------- load generator (child)

const rnd = (n: number) => new Uint8Array(randomBytes(n));

class Conn {
  private next = 1;
  private readonly waiting = new Map<number, (r: { status: number; payload: Uint8Array }) => void>();
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const id = d.readUInt32BE(0);
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.({ status: d[4]!, payload: d.subarray(FRAME_HEADER) });
    });
  }
  static open(url: string): Promise<Conn> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream`);
    return new Promise((res, rej) => {
      ws.once('open', () => res(new Conn(ws)));
      ws.once('error', rej);
    });
  }
  async call(op: number, payload: Uint8Array): Promise<Uint8Array> {
    const id = this.next++;
    const r = await new Promise<{ status: number; payload: Uint8Array }>((res) => {
      this.waiting.set(id, res);
      this.ws.send(frame(id, op, payload));
    });
    if (r.status !== 0) throw new Error(`op ${op} refused: ${Buffer.from(r.payload).toString()}`);
    return r.payload;
  }
}

/** Runs `total` tasks with `width` of them in flight. */
async function pool(total: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < total) await task(i++);
  }));
}

async function load(url: string, perConn: number, size: number, fetches: number): Promise<LoadResult> {
  const conns = await Promise.all(Array.from({ length: CONNS }, () => Conn.open(url)));
  const ids = conns.map(() => IdentityKeyPair.generate());
  const mailboxes = ids.map((id) => mailboxIdOf(id.publicKey.serialize()));
  // Quotes first (timed apart): every deposit needs its own quote.
  const q0 = performance.now();
  const deposits = await Promise.all(conns.map(async (c, ci) => {
    const out: Uint8Array[] = [];
    await pool(perConn, IN_FLIGHT, async () => {
      const offer = { offerId: rnd(16), mailbox: mailboxes[ci]!, mode: 'recipient-pays' as const, size, maxFee: 1e6, retentionSecs: 3600, createdAt: Date.now() };
      const q = QuoteCodec.decode(await c.call(OP.quote, OfferCodec.encode(offer)));
      out.push(DepositCodec.encode({ quoteId: q.quoteId, mailbox: q.mailbox, sealedHeader: rnd(300), body: rnd(size), hr: undefined, funding: undefined }));
    });
    return out;
  }));
  const quoteSecs = (performance.now() - q0) / 1000;
  const latencies: number[] = [];
  const stored: Uint8Array[][] = conns.map(() => []);
  const t0 = performance.now();
  await Promise.all(conns.map((c, ci) => pool(perConn, IN_FLIGHT, async (i) => {
    const s = performance.now();
    const r = ReceiptCodec.decode(await c.call(OP.deposit, deposits[ci]![i]!));
    latencies.push(performance.now() - s);
    stored[ci]!.push(r.messageId);
  })));
  const depositSecs = (performance.now() - t0) / 1000;
  for (const c of conns) c.ws.close();

  // Authenticated fetches over HTTP: challenge, sign, fetch.
  const f0 = performance.now();
  await pool(fetches, CONNS, async (i) => {
    const ci = i % CONNS;
    const mailbox = mailboxes[ci]!;
    const ch = await fetch(`${url}/v1/mailbox/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mailbox: Buffer.from(mailbox).toString('hex') }) });
    const challenge = new Uint8Array(Buffer.from(((await ch.json()) as { challenge: string }).challenge, 'hex'));
    const timestamp = Date.now();
    const signature = ids[ci]!.privateKey.sign(mailboxAuthBytes({ mailbox, challenge, timestamp }) as Uint8Array<ArrayBuffer>);
    const auth = MailboxAuthCodec.encode({ mailbox, identityKey: ids[ci]!.publicKey.serialize(), challenge, timestamp, signature });
    const id = stored[ci]![i % stored[ci]!.length]!;
    const res = await fetch(`${url}/v1/mailbox/message?id=${Buffer.from(id).toString('hex')}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(auth) });
    if (res.status !== 200) throw new Error(`fetch refused: ${await res.text()}`);
    await res.arrayBuffer();
  });
  const fetchSecs = (performance.now() - f0) / 1000;
  return { deposits: perConn * CONNS, depositSecs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), quoteSecs, fetches, fetchSecs };
}

if (process.env.SATPOST_RELAY_LOAD) {
  const { url, perConn, size, fetches } = JSON.parse(process.env.SATPOST_RELAY_LOAD) as { url: string; perConn: number; size: number; fetches: number };
  const r = await load(url, perConn, size, fetches);
  // Exit only once the result is flushed to the pipe.
  process.stdout.write(JSON.stringify(r), () => process.exit(0));
}

// ---------------------------------------------------------------- the benchmark (parent)

function runLoad(url: string, perConn: number, size: number, fetches: number): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, SATPOST_RELAY_LOAD: JSON.stringify({ url, perConn, size, fetches }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`)))),
  );
}

export const bench: Benchmark = {
  name: 'relay',
  description: `relay deposits over the WebSocket stream (${CONNS} connections x ${IN_FLIGHT} in flight, load from a child process) and authenticated HTTP fetches`,
  async run(report, log) {
    const runs: { sync: 'FULL' | 'NORMAL'; size: number; perConn: number; fetches: number }[] = [
      { sync: 'FULL', size: 1024, perConn: 100, fetches: 1000 },
      { sync: 'NORMAL', size: 1024, perConn: 100, fetches: 0 },
      { sync: 'FULL', size: 65536, perConn: 10, fetches: 0 },
      { sync: 'NORMAL', size: 65536, perConn: 10, fetches: 0 },
    ];
    for (const r of runs) {
      const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-bench-'));
      const devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
      const config = finish({ ...DEFAULTS, port: 0, dataDir: dir, synchronous: r.sync, rateLimitBurst: 0, streamMaxInFlight: 1000, mailboxMaxMessages: 1e6, mailboxMaxBytes: 1e12, logLevel: 'silent' });
      const relay = await startRelay(config, { chain: new BackendChainPolicy(new DevnetBackend(devnet)), log: pino({ level: 'silent' }) });
      try {
        const batches0 = relay.store.writer.stats.batches;
        const res = await runLoad(relay.url, r.perConn, r.size, r.fetches);
        const kib = r.size / 1024;
        const rate = res.deposits / res.depositSecs;
        report({ metric: `deposits/s ${kib} KiB ${r.sync}`, value: rate, unit: 'deposits/s', ...(kib === 1 && r.sync === 'FULL' ? { goal: '>= 20000' } : {}), note: `${res.deposits} deposits, acknowledged after commit` });
        report({ metric: `deposit latency p50 ${kib} KiB ${r.sync}`, value: res.p50, unit: 'ms' });
        report({ metric: `deposit latency p99 ${kib} KiB ${r.sync}`, value: res.p99, unit: 'ms' });
        const writes = relay.store.writer.stats;
        report({ metric: `quotes/s ${kib} KiB ${r.sync}`, value: res.deposits / res.quoteSecs, unit: 'quotes/s', note: 'same connections; includes secp256k1 contract key derivation' });
        log(`load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ${kib} KiB ${r.sync}: ${rate.toFixed(0)}/s, ${writes.batches - batches0} batches (quotes included), largest ${writes.largestBatch}`);
        if (r.fetches > 0) report({ metric: `authenticated fetches/s ${kib} KiB`, value: res.fetches / res.fetchSecs, unit: 'fetches/s', note: `HTTP, ${CONNS} concurrent, each = challenge + XEdDSA-signed fetch` });
      } finally {
        await relay.stop();
        devnet.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  },
};
