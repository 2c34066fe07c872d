// Relay throughput over the WebSocket stream: durable deposits/s at 64 connections x 16 in
// flight (1 KiB and 64 KiB bodies, SQLite synchronous FULL and NORMAL), deposit latency, the
// CPU time each side spends per deposit, authenticated fetches/s over HTTP, and a kill -9
// check under load (every acknowledged deposit must be in the database after the crash).
//
// The load generator runs in a child process (this same file, started with
// SATPOST_RELAY_LOAD set) so it does not share the relay's event loop. Quotes are fetched
// over the same stream before the timed section ("chain work pre-funded": each deposit needs
// its own quote, and quotes cost a contract key derivation); the timed section sends
// pre-encoded deposit frames and answers nothing but acknowledgements.
import '../src/polyfills.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import WebSocket from 'ws';
import { percentile, median, type Benchmark } from './harness.ts';
import { Devnet } from '../src/chain/devnet/devnet.ts';
import { DevnetBackend } from '../src/chain/devnet/backend.ts';
import { startDevnetServer } from '../src/chain/devnet/server.ts';
import { DepositCodec, OfferCodec, QuoteCodec, ReceiptCodec, tagOfSecret } from '../src/core/objects/index.ts';
import { openDb } from '../src/store/sqlite.ts';
import { BackendChainPolicy } from '../src/relay/chain-ports.ts';
import { DEFAULTS, finish } from '../src/relay/config.ts';
import { startRelay } from '../src/relay/daemon.ts';
import { openRelayDataKey } from '../src/relay/wallet.ts';
import { MIGRATIONS } from '../src/relay/store.ts';
import { FRAME_HEADER, OP, STATUS, frame } from '../src/core/wire/stream.ts';

const CONNS = 64;
const IN_FLIGHT = 16;
const BIN = join(import.meta.dirname, '..', 'bin', 'satpost.js');

interface LoadJob {
  url: string;
  perConn: number;
  size: number;
  fetches: number;
  /** Crash mode: print "acked N" lines as acks arrive; at disconnect print every acked receipt. */
  crash?: boolean;
}

interface LoadResult {
  deposits: number;
  depositSecs: number;
  p50: number;
  p99: number;
  quoteSecs: number;
  fetches: number;
  fetchSecs: number;
  /** Load generator CPU (user + system) during the timed deposits, µs. */
  cpuMicros: number;
  /** Load generator CPU during the timed fetches, µs. */
  fetchCpuMicros?: number;
  /** The same fetches from the raw keep-alive client: seconds, and its CPU in µs. */
  rawFetchSecs?: number;
  rawFetchCpuMicros?: number;
  /** Crash mode: hex of every acknowledged receipt. */
  acked?: string[];
}

// ---------------------------------------------------------------- load generator (child)

const rnd = (n: number) => new Uint8Array(randomBytes(n));

/** A stream connection answering by callback (no promise per request in the timed section). */
class Conn {
  private next = 1;
  private readonly waiting = new Map<number, (status: number, payload: Buffer) => void>();
  closed: Promise<void>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const id = d.readUInt32BE(0);
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.(d[4]!, d.subarray(FRAME_HEADER));
    });
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
  }
  static open(url: string): Promise<Conn> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream`);
    return new Promise((res, rej) => {
      ws.once('open', () => res(new Conn(ws)));
      ws.once('error', rej);
    });
  }
  /** A frame with a fresh request id, to send later with `send`. */
  prepare(op: number, payload: Uint8Array): { id: number; bytes: Uint8Array } {
    const id = this.next++;
    return { id, bytes: frame(id, op, payload) };
  }
  send(f: { id: number; bytes: Uint8Array }, done: (status: number, payload: Buffer) => void): void {
    this.waiting.set(f.id, done);
    this.ws.send(f.bytes);
  }
  call(op: number, payload: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.send(this.prepare(op, payload), (status, p) => (status === STATUS.ok ? resolve(p) : reject(new Error(`op ${op} refused: ${p.toString()}`)))),
    );
  }
}

/** Runs `total` tasks with `width` of them in flight. */
async function pool(total: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < total) await task(i++);
  }));
}

async function load(job: LoadJob): Promise<LoadResult> {
  const { url, perConn, size, fetches } = job;
  const conns = await Promise.all(Array.from({ length: CONNS }, () => Conn.open(url)));
  // Each message under its own tag (tags are single-use); the secret opens it for the fetch below.
  const secretOfTag = new Map<string, Uint8Array>();
  // Quotes first (timed apart), then every deposit frame is encoded before the clock starts.
  const q0 = performance.now();
  const frames = await Promise.all(conns.map(async (c) => {
    const out: { id: number; bytes: Uint8Array }[] = [];
    await pool(perConn, IN_FLIGHT, async () => {
      const secret = rnd(32);
      const tag = tagOfSecret(secret);
      secretOfTag.set(Buffer.from(tag).toString('hex'), secret);
      const offer = { offerId: rnd(16), tag, mode: 'recipient-pays' as const, size, maxFee: 1e9, retentionSecs: 3600, createdAt: Date.now() };
      const q = QuoteCodec.decode(await c.call(OP.quote, OfferCodec.encode(offer)));
      out.push(c.prepare(OP.deposit, DepositCodec.encode({ quoteId: q.quoteId, tag: q.tag, sealedHeader: rnd(300), body: rnd(size), hr: undefined, funding: undefined })));
    });
    return out;
  }));
  const quoteSecs = (performance.now() - q0) / 1000;

  const total = perConn * CONNS;
  const latencies = new Float64Array(total);
  const stored: Buffer[][] = conns.map(() => []);
  const acked: string[] = [];
  let answered = 0;
  let failure: Error | undefined;
  await new Promise<void>((resolve) => process.stdout.write('deposits-start\n', () => resolve()));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const finishIfDone = () => {
      if (failure) reject(failure);
      else if (answered === total) resolve();
    };
    conns.forEach((c, ci) => {
      const list = frames[ci]!;
      let next = 0;
      const sendNext = () => {
        if (next >= list.length) return;
        const f = list[next++]!;
        const s = performance.now();
        c.send(f, (status, payload) => {
          if (status !== STATUS.ok) failure ??= new Error(`deposit refused: ${payload.toString()}`);
          else {
            latencies[answered] = performance.now() - s;
            stored[ci]!.push(Buffer.from(payload));
            if (job.crash) {
              acked.push(payload.toString('hex'));
              if (acked.length % 256 === 0) process.stdout.write(`acked ${acked.length}\n`);
            }
          }
          answered++;
          sendNext();
          finishIfDone();
        });
      };
      for (let i = 0; i < IN_FLIGHT; i++) sendNext();
      if (job.crash) void c.closed.then(() => reject(new Error('closed')));
    });
  }).catch((err: unknown) => {
    if (!job.crash) throw err;
  });
  const depositSecs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write('deposits-end\n');
  if (job.crash) return { deposits: acked.length, depositSecs, p50: 0, p99: 0, quoteSecs, fetches: 0, fetchSecs: 0, cpuMicros: cpu.user + cpu.system, acked };
  for (const c of conns) c.ws.close();

  // Authenticated fetches over HTTP: one request each, the tag's secret in the body (the relay
  // checks H("satpost/v1/tag-of" || secret) = the message's tag); no challenge round trip.
  // Each request built before the clock starts; CONNS keep-alive connections (node:http, whose
  // client costs a fraction of fetch()'s on these shared cores).
  const requests = Array.from({ length: fetches }, (_, i) => {
    const ci = i % CONNS;
    const receipt = ReceiptCodec.decode(stored[ci]![Math.floor(i / CONNS) % stored[ci]!.length]!);
    const secret = secretOfTag.get(Buffer.from(receipt.tag).toString('hex'))!;
    return { path: `/v1/tags/message?id=${Buffer.from(receipt.messageId).toString('hex')}`, body: JSON.stringify({ secret: Buffer.from(secret).toString('hex') }) };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
  const { hostname, port } = new URL(url);
  const post = (r: { path: string; body: string }) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ agent, hostname, port, path: r.path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`fetch refused: ${Buffer.concat(chunks).toString()}`))));
      });
      req.on('error', reject);
      req.end(r.body);
    });
  // Connections opened before the clock starts.
  await Promise.all(requests.slice(0, CONNS).map(post));
  await new Promise<void>((resolve) => process.stdout.write('fetches-start\n', () => resolve()));
  const fcpu0 = process.cpuUsage();
  const f0 = performance.now();
  await pool(fetches, CONNS, (i) => post(requests[i]!));
  const fetchSecs = (performance.now() - f0) / 1000;
  const fcpu = process.cpuUsage(fcpu0);
  process.stdout.write('fetches-end\n');
  agent.destroy();

  // The same requests from a lean client, as load generators such as wrk make them: CONNS raw
  // keep-alive sockets, one request at a time on each, the bytes built before the clock
  // starts, a response read up to its Content-Length. node:http's client spends about as much
  // CPU per request as the relay does on these shared cores; this one leaves the cores to the relay.
  const raw = requests.map((r) => Buffer.from(`POST ${r.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`));
  const sockets = await Promise.all(Array.from({ length: CONNS }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  })));
  await new Promise<void>((resolve) => process.stdout.write('rawfetches-start\n', () => resolve()));
  const rcpu0 = process.cpuUsage();
  const r0 = performance.now();
  let nextRaw = 0;
  await Promise.all(sockets.map((s) => new Promise<void>((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let need = -1; // bytes of the whole response, once its header is in
    const sendNext = () => {
      if (nextRaw >= raw.length) return resolve();
      s.write(raw[nextRaw++]!);
    };
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (true) {
        if (need < 0) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(`raw fetch refused: ${head.split('\r\n')[0]}`));
          const m = /\r\ncontent-length: *([0-9]+)/i.exec(head);
          if (!m) return reject(new Error('raw fetch: no content-length'));
          need = end + 4 + Number(m[1]);
        }
        if (buf.length < need) return;
        buf = buf.subarray(need);
        need = -1;
        sendNext();
      }
    });
    s.once('error', reject);
    sendNext();
  })));
  const rawSecs = (performance.now() - r0) / 1000;
  const rcpu = process.cpuUsage(rcpu0);
  process.stdout.write('rawfetches-end\n');
  for (const s of sockets) s.destroy();
  const lat = [...latencies];
  return {
    deposits: total, depositSecs, p50: percentile(lat, 50), p99: percentile(lat, 99), quoteSecs, fetches, fetchSecs, cpuMicros: cpu.user + cpu.system, fetchCpuMicros: fcpu.user + fcpu.system,
    rawFetchSecs: rawSecs, rawFetchCpuMicros: rcpu.user + rcpu.system,
  };
}

if (process.env.SATPOST_RELAY_LOAD) {
  const r = await load(JSON.parse(process.env.SATPOST_RELAY_LOAD) as LoadJob);
  // Exit only once the result is flushed to the pipe.
  process.stdout.write(`result ${JSON.stringify(r)}\n`, () => process.exit(0));
}

// ---------------------------------------------------------------- the benchmark (parent)

function spawnLoad(job: LoadJob, onLine: (line: string) => void = () => {}): { child: ChildProcess; result: Promise<LoadResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, SATPOST_RELAY_LOAD: JSON.stringify(job) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let result: LoadResult | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('result ')) result = JSON.parse(line.slice(7)) as LoadResult;
    else onLine(line);
  });
  return {
    child,
    result: new Promise((resolve, reject) =>
      child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`load generator exited ${code}`)))),
    ),
  };
}

// SATPOST_BENCH_PROFILE=<dir>: a V8 CPU profile of the relay during each timed section.
const profileDir = process.env.SATPOST_BENCH_PROFILE;
const profiler = new Session();
if (profileDir) {
  profiler.connect();
  profiler.post('Profiler.enable');
}

/** A timed section of the load generator ("<name>-start" / "<name>-end" lines): the relay's CPU during it, and its profile. */
class Section {
  private at: NodeJS.CpuUsage | undefined;
  cpu: NodeJS.CpuUsage | undefined;
  constructor(
    private readonly name: string,
    private readonly profile: string,
  ) {}
  line(line: string): void {
    if (line === `${this.name}-start`) {
      this.at = process.cpuUsage();
      if (profileDir) profiler.post('Profiler.start');
    }
    if (line === `${this.name}-end` && this.at) {
      this.cpu = process.cpuUsage(this.at);
      if (profileDir) {
        profiler.post('Profiler.stop', (err, p) => {
          if (!err) writeFileSync(join(profileDir, `${this.profile}.cpuprofile`), JSON.stringify(p.profile));
        });
      }
    }
  }
}

interface Run {
  sync: 'FULL' | 'NORMAL';
  size: number;
  perConn: number;
  fetches: number;
  reps: number;
  /** The relay store encrypted with the data key (the default) or the plaintext baseline. */
  atRest?: 'encrypted' | 'plaintext';
}

async function measure(r: Run, log: (msg: string) => void) {
  const out: {
    rate: number; p50: number; p99: number; quotes: number; relayCpu: number; loadCpu: number;
    fetches?: number; fetchRelayCpu?: number; fetchLoadCpu?: number; rawFetches?: number; rawFetchRelayCpu?: number; rawFetchLoadCpu?: number;
  }[] = [];
  for (let rep = 0; rep < r.reps; rep++) {
    const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-bench-'));
    const devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
    const config = finish({ ...DEFAULTS, port: 0, dataDir: dir, synchronous: r.sync, p2p: false, rateLimitBurst: 0, streamMaxInFlight: 1000, mailboxMaxMessages: 1e6, mailboxMaxBytes: 1e12, mailboxUnpaidMaxMessages: 1e6, mailboxUnpaidMaxBytes: 1e12, depositorUnpaidMaxMessages: 1e7, depositorUnpaidMaxBytes: 1e13, logLevel: 'silent' });
    const relay = await startRelay(config, { chain: new BackendChainPolicy(new DevnetBackend(devnet)), log: pino({ level: 'silent' }), storeAtRest: r.atRest ?? 'encrypted' });
    try {
      // The child says when each timed section starts and ends; the relay's CPU is sampled there.
      const deposits = new Section('deposits', `relay-${r.size}-${r.sync}-${rep}`);
      const fetching = new Section('fetches', `relay-fetch-${rep}`);
      const rawFetching = new Section('rawfetches', `relay-rawfetch-${rep}`);
      const { result } = spawnLoad({ url: relay.url, perConn: r.perConn, size: r.size, fetches: r.fetches }, (line) => {
        deposits.line(line);
        fetching.line(line);
        rawFetching.line(line);
      });
      const res = await result;
      const cpu = deposits.cpu;
      if (cpu === undefined) throw new Error('the load generator did not report its timed section');
      const fetchCpu = fetching.cpu;
      const row = {
        rate: res.deposits / res.depositSecs, p50: res.p50, p99: res.p99, quotes: res.deposits / res.quoteSecs,
        relayCpu: (cpu.user + cpu.system) / res.deposits, loadCpu: res.cpuMicros / res.deposits,
        ...(r.fetches > 0 ? { fetches: res.fetches / res.fetchSecs, fetchRelayCpu: fetchCpu ? (fetchCpu.user + fetchCpu.system) / res.fetches : NaN, fetchLoadCpu: (res.fetchCpuMicros ?? NaN) / res.fetches } : {}),
        ...(r.fetches > 0 && res.rawFetchSecs !== undefined ? {
          rawFetches: res.fetches / res.rawFetchSecs,
          rawFetchRelayCpu: rawFetching.cpu ? (rawFetching.cpu.user + rawFetching.cpu.system) / res.fetches : NaN,
          rawFetchLoadCpu: (res.rawFetchCpuMicros ?? NaN) / res.fetches,
        } : {}),
      };
      out.push(row);
      const w = relay.store.writer.stats;
      log(`load ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ${r.size / 1024} KiB ${r.sync}${r.atRest ? ` ${r.atRest}` : ''} #${rep + 1}: ${row.rate.toFixed(0)}/s${row.fetches ? ` (fetches ${row.fetches.toFixed(0)}/s, relay ${row.fetchRelayCpu!.toFixed(1)} µs CPU/fetch; raw client ${row.rawFetches!.toFixed(0)}/s, relay ${row.rawFetchRelayCpu!.toFixed(1)} µs)` : ''}, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, relay ${row.relayCpu.toFixed(1)} µs CPU/deposit, load generator ${row.loadCpu.toFixed(1)} µs; ${w.batches} commits, largest ${w.largestBatch}`);
    } finally {
      await relay.stop();
      devnet.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** kill -9 of a relay process while 64 connections deposit; every acknowledged receipt must be stored. */
async function crashCheck(log: (msg: string) => void): Promise<{ acked: number; lost: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'satpost-relay-crash-bench-'));
  const devnet = Devnet.open({ path: ':memory:', faucetBlocks: 1 });
  const chain = await startDevnetServer({ devnet });
  try {
    const relay = spawn(process.execPath, [BIN, 'relay', '--port', '0', '--data-dir', dir, '--chain', chain.url, '--p2p-off', '--log-level', 'error',
      '--set', 'rateLimitBurst=0', 'streamMaxInFlight=1000', 'mailboxMaxMessages=1000000', 'mailboxUnpaidMaxMessages=1000000', 'mailboxUnpaidMaxBytes=1000000000000', 'depositorUnpaidMaxMessages=10000000', 'depositorUnpaidMaxBytes=10000000000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => relay.on('exit', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: relay.stdout! }).on('line', (line) => {
        const m = /^listening on (http:\/\/127\.0\.0\.1:[0-9]+)$/.exec(line);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error('relay exited before listening')));
    });
    let killed = false;
    const { result } = spawnLoad({ url, perConn: 100, size: 1024, fetches: 0, crash: true }, (line) => {
      // Kill in the middle of the load: after about a third of the deposits were acknowledged.
      if (!killed && line.startsWith('acked ') && Number(line.slice(6)) >= 2048) {
        killed = true;
        relay.kill('SIGKILL');
      }
    });
    const res = await result;
    await exited;
    if (!killed) throw new Error('the load finished before the relay was killed');
    const key = openRelayDataKey(finish({ ...DEFAULTS, dataDir: dir }), { log: pino({ level: 'silent' }) }).key;
    const db = openDb({ path: join(dir, 'relay.sqlite'), migrations: MIGRATIONS, key });
    try {
      const get = db.prepare('SELECT receipt FROM messages WHERE id = ?');
      let lost = 0;
      for (const hex of res.acked!) {
        const receipt = Buffer.from(hex, 'hex');
        const id = ReceiptCodec.decode(receipt).messageId;
        const row = get.get(id) as { receipt: Buffer } | undefined;
        if (row === undefined || !row.receipt.equals(receipt)) lost++;
      }
      const n = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
      log(`kill -9 under load: ${res.acked!.length} acknowledged, ${n} in the database after the crash, ${lost} acknowledged but missing`);
      return { acked: res.acked!.length, lost };
    } finally {
      db.close();
    }
  } finally {
    await chain.close();
    devnet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const bench: Benchmark = {
  name: 'relay',
  description: `relay deposits over the WebSocket stream (${CONNS} connections x ${IN_FLIGHT} in flight, load from a child process, medians of repeated runs) and authenticated HTTP fetches`,
  async run(report, log) {
    const only = process.env.SATPOST_BENCH_RELAY_ONLY;
    const runs: Run[] = [
      { sync: 'FULL', size: 1024, perConn: 100, fetches: 6400, reps: 3 },
      { sync: 'NORMAL', size: 1024, perConn: 100, fetches: 0, reps: 3 },
      { sync: 'FULL', size: 65536, perConn: 16, fetches: 0, reps: 1 },
      { sync: 'NORMAL', size: 65536, perConn: 16, fetches: 0, reps: 1 },
    ].filter((r) => !only || `${r.size / 1024}k-${r.sync}`.toLowerCase() === only.toLowerCase()) as Run[];
    // Quick runs while profiling: SATPOST_BENCH_RELAY_REPS / SATPOST_BENCH_RELAY_PER_CONN override every run.
    for (const r of runs) {
      r.reps = Number(process.env.SATPOST_BENCH_RELAY_REPS ?? r.reps);
      r.perConn = Number(process.env.SATPOST_BENCH_RELAY_PER_CONN ?? r.perConn);
    }
    for (const r of runs) {
      const rows = await measure(r, log);
      const kib = r.size / 1024;
      const m = (f: (x: (typeof rows)[number]) => number) => median(rows.map(f));
      const deposits = r.perConn * CONNS;
      report({ metric: `deposits/s ${kib} KiB ${r.sync}`, value: m((x) => x.rate), unit: 'deposits/s', ...(kib === 1 && r.sync === 'FULL' ? { goal: '>= 20000' } : {}),
        note: `median of ${r.reps} x ${deposits} deposits, each acknowledged after its commit; runs: ${rows.map((x) => x.rate.toFixed(0)).join(', ')}` });
      report({ metric: `deposit latency p50 ${kib} KiB ${r.sync}`, value: m((x) => x.p50), unit: 'ms' });
      report({ metric: `deposit latency p99 ${kib} KiB ${r.sync}`, value: m((x) => x.p99), unit: 'ms' });
      report({ metric: `relay CPU per deposit ${kib} KiB ${r.sync}`, value: m((x) => x.relayCpu), unit: 'µs', note: 'user+system of the relay process during the deposits' });
      report({ metric: `load generator CPU per deposit ${kib} KiB ${r.sync}`, value: m((x) => x.loadCpu), unit: 'µs', note: 'competes for the same cores' });
      report({ metric: `quotes/s ${kib} KiB ${r.sync}`, value: m((x) => x.quotes), unit: 'quotes/s', note: 'before the timed deposits; includes the contract key derivation' });
      if (r.fetches > 0) {
        report({ metric: `relay CPU per fetch ${kib} KiB`, value: m((x) => x.fetchRelayCpu!), unit: 'µs', note: 'user+system of the relay process during the fetches' });
        report({ metric: `load generator CPU per fetch ${kib} KiB`, value: m((x) => x.fetchLoadCpu!), unit: 'µs', note: 'node:http client; competes for the same cores' });
      }
      if (r.fetches > 0) {
        const what = `HTTP keep-alive, ${CONNS} connections, ${r.fetches} fetches of distinct messages, each = one request with the tag's secret (POST /v1/tags/message)`;
        report({ metric: `authenticated fetches/s ${kib} KiB, node:http client`, value: m((x) => x.fetches!), unit: 'fetches/s', note: `${what}; the client spends about the relay's CPU again on the same 2 cores` });
        report({ metric: `authenticated fetches/s ${kib} KiB`, value: m((x) => x.rawFetches!), unit: 'fetches/s', goal: '>= 5000', note: `${what}; a lean client (raw sockets, one request at a time per connection, as wrk): the relay's own rate` });
        report({ metric: `relay CPU per fetch ${kib} KiB, lean client`, value: m((x) => x.rawFetchRelayCpu!), unit: 'µs' });
        report({ metric: `lean client CPU per fetch ${kib} KiB`, value: m((x) => x.rawFetchLoadCpu!), unit: 'µs' });
      }
    }
    if (!only || only === 'at-rest') {
      // Encryption at rest, before/after in this run: the same load on a plaintext and an
      // encrypted relay store, alternating so that both see the same machine load.
      const reps = Number(process.env.SATPOST_BENCH_RELAY_REPS ?? 3);
      const perConn = Number(process.env.SATPOST_BENCH_RELAY_PER_CONN ?? 100);
      const rates: Record<'plaintext' | 'encrypted', number[]> = { plaintext: [], encrypted: [] };
      const cpu: Record<'plaintext' | 'encrypted', number[]> = { plaintext: [], encrypted: [] };
      for (let rep = 0; rep < reps; rep++) {
        for (const atRest of ['plaintext', 'encrypted'] as const) {
          const [row] = await measure({ sync: 'FULL', size: 1024, perConn, fetches: 0, reps: 1, atRest }, log);
          rates[atRest].push(row!.rate);
          cpu[atRest].push(row!.relayCpu);
        }
      }
      for (const atRest of ['plaintext', 'encrypted'] as const) {
        report({ metric: `deposits/s 1 KiB FULL, ${atRest} store`, value: median(rates[atRest]), unit: 'deposits/s', note: `median of ${reps} x ${perConn * CONNS}; runs: ${rates[atRest].map((x) => x.toFixed(0)).join(', ')}` });
        report({ metric: `relay CPU per deposit 1 KiB FULL, ${atRest} store`, value: median(cpu[atRest]), unit: 'µs' });
      }
      report({ metric: 'encryption at rest: deposit throughput cost', value: 100 * (1 - median(rates.encrypted) / median(rates.plaintext)), unit: '%', note: 'chacha20 pages (SQLite3 Multiple Ciphers), relay.sqlite; the wallet file is encrypted in both' });
    }
    if (!only || only === 'crash') {
      const c = await crashCheck(log);
      report({ metric: 'acknowledged deposits lost after kill -9 under load', value: c.lost, unit: 'deposits', goal: '0', note: `relay process killed after ${c.acked} acknowledgements (1 KiB, FULL, 64 connections)` });
    }
    log(`load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    report({ metric: 'machine load average (5 min) at the end', value: loadavg()[1]!, unit: '', note: `${cpus().length} cores shared with other work: rates above fall with it` });
  },
};
