/**
 * `npm run fuzz`: feeds every decoder of untrusted input (fuzz/targets.ts) mutated and random
 * inputs, then sends malformed requests to a real relay daemon (fuzz/http.ts). Bounded by a
 * count and a time limit; exits 1 on any finding. Not part of `npm test`. See fuzz/README.md.
 */
import '../src/polyfills.ts';
import { fork, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { ChildMessage, Plan } from './child.ts';
import { inputFor, judge, type Finding } from './engine.ts';
import { fuzzHttp } from './http.ts';
import { TARGETS } from './targets.ts';

const USAGE = `usage: npm run fuzz -- [options]
  --count N           decoder inputs in all, spread evenly over the targets (default 1000000)
  --time-limit S      seconds for the decoder phase; it stops there even if the count is not reached (default 1200)
  --seed N            makes the run repeatable (default: random, printed)
  --target TEXT       only targets whose name contains TEXT (case-insensitive)
  --hang-ms N         a single decode slower than this (twice) is a finding (default 1000)
  --watchdog-ms N     no progress from the decoding process for this long is a hang (default 20000)
  --http N            malformed requests to a real relay daemon; 0 skips the HTTP pass (default 20000)
  --ws N              mutated frames on the relay's WebSocket stream, after the HTTP requests (default 5000)
  --http-time-limit S seconds for the HTTP pass, stream frames included (default 600)
  --replay T:I        decode input I of target T (with --seed) and print the outcome`;

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    'time-limit': { type: 'string', default: '1200' },
    seed: { type: 'string' },
    target: { type: 'string' },
    'hang-ms': { type: 'string', default: '1000' },
    'watchdog-ms': { type: 'string', default: '20000' },
    http: { type: 'string', default: '20000' },
    ws: { type: 'string', default: '5000' },
    'http-time-limit': { type: 'string', default: '600' },
    replay: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} expected an integer >= ${min}, got ${JSON.stringify(v)}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seed = values.seed === undefined ? randomInt(2 ** 31) : int('seed', values.seed, 0);
const count = int('count', values.count, 0);
const timeLimitMs = int('time-limit', values['time-limit'], 1) * 1000;
const hangMs = int('hang-ms', values['hang-ms'], 1);
const watchdogMs = int('watchdog-ms', values['watchdog-ms'], 1000);
const httpCount = int('http', values.http, 0);
const wsCount = int('ws', values.ws, 0);
const httpTimeLimitMs = int('http-time-limit', values['http-time-limit'], 1) * 1000;
const filter = values.target?.toLowerCase();
const targets = TARGETS.filter((t) => filter === undefined || t.name.toLowerCase().includes(filter));

if (values.replay !== undefined) {
  const at = values.replay.lastIndexOf(':');
  const target = TARGETS.find((t) => t.name === values.replay!.slice(0, at));
  if (target === undefined) {
    console.error(`no target ${JSON.stringify(values.replay.slice(0, at))}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  const index = int('replay index', values.replay.slice(at + 1), 0);
  const input = inputFor(target, seed, index);
  console.log(`seed ${seed}, ${target.name} input ${index}: ${Buffer.from(input).toString('hex')}`);
  try {
    console.log('decoded:', target.decode(input));
  } catch (e) {
    console.log('refused:', e);
  }
  const { finding } = judge(target, input, index, hangMs);
  console.log(finding ? `finding: ${finding.kind}: ${finding.detail}` : 'no finding');
  process.exit(finding ? 1 : 0);
}

if (targets.length === 0) {
  console.error(`no target matches ${JSON.stringify(values.target)}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

interface Tally {
  name: string;
  from: number;
  to: number;
  accepted: number;
  refused: number;
  notApplicable: number;
  findings: number;
}

const tallies: Tally[] = targets.map((t, i) => ({
  name: t.name, from: 0, to: Math.floor(count / targets.length) + (i < count % targets.length ? 1 : 0), accepted: 0, refused: 0, notApplicable: 0, findings: 0,
}));
const findings: Finding[] = [];
/** Findings printed in full per target and kind; the rest are counted. */
const SHOWN = 5;

function record(f: Finding): void {
  const tally = tallies.find((t) => t.name === f.target);
  if (tally) tally.findings++;
  findings.push(f);
  if (findings.filter((x) => x.target === f.target && x.kind === f.kind).length <= SHOWN) {
    console.log(`FINDING ${f.kind} in ${f.target} (input ${f.index}; replay: npm run fuzz -- --seed ${seed} --replay '${f.target}:${f.index}')\n  ${f.detail}\n  input ${f.input}`);
  }
}

/** Runs the decoder phase in forked processes, restarting past a chunk that hung or killed its process. */
async function decoderPhase(deadline: number): Promise<'count' | 'time'> {
  for (;;) {
    const work = tallies.filter((t) => t.from < t.to).map((t) => ({ name: t.name, from: t.from, to: t.to }));
    if (work.length === 0) return 'count';
    if (Date.now() > deadline) return 'time';
    const plan: Plan = { seed, hangMs, chunk: 500, deadline, work };
    const ended = await runChild(plan);
    if (ended !== undefined) return ended;
  }
}

/** One decoding process; undefined when it had to be stopped (a finding was recorded and its chunk skipped). */
function runChild(plan: Plan): Promise<'count' | 'time' | undefined> {
  const child: ChildProcess = fork(new URL('./child.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let current: { target: string; from: number; to: number } | undefined;
  let end: 'count' | 'time' | undefined;
  let lastHeard = Date.now();
  let hung = false;
  return new Promise((resolve) => {
    const watchdog = setInterval(() => {
      if (Date.now() - lastHeard < watchdogMs) return;
      hung = true;
      child.kill('SIGKILL');
    }, 250);
    child.on('message', (m: ChildMessage) => {
      lastHeard = Date.now();
      if (m.t === 'ready') child.send(plan);
      else if (m.t === 'chunk') current = m;
      else if (m.t === 'done') {
        const tally = tallies.find((t) => t.name === m.target)!;
        tally.from = m.to;
        tally.accepted += m.accepted;
        tally.refused += m.refused;
        tally.notApplicable += m.notApplicable;
        for (const f of m.findings) record(f);
        current = undefined;
      } else end = m.reason;
    });
    // 'close', not 'exit': it comes after the last message and the last of stderr.
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      if (end !== undefined) return resolve(end);
      if (current !== undefined) {
        // The chunk is skipped; its inputs replay one by one with --replay.
        const kind = hung ? 'hang' : 'process-died';
        const detail = hung
          ? `no progress for ${watchdogMs} ms within inputs ${current.from}..${current.to - 1}`
          : `the decoding process exited (${signal ?? code}) within inputs ${current.from}..${current.to - 1}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
        record({ target: current.target, index: current.from, kind, detail, input: '' });
        tallies.find((t) => t.name === current!.target)!.from = current.to;
        return resolve(undefined);
      }
      record({ target: '(all)', index: 0, kind: 'process-died', detail: `the decoding process exited (${signal ?? code}) between chunks: ${stderr.trim()}`, input: '' });
      resolve('time');
    });
  });
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const started = Date.now();
console.log(`satpost fuzz: seed ${seed}, ${count} decoder inputs over ${targets.length} targets, time limit ${timeLimitMs / 1000} s`);
const reason = await decoderPhase(started + timeLimitMs);
const elapsed = (Date.now() - started) / 1000;
const done = tallies.reduce((n, t) => n + t.accepted + t.refused + t.notApplicable, 0);
console.log(`\n${'target'.padEnd(28)}${pad('inputs', 9)}${pad('accepted', 10)}${pad('refused', 9)}${pad('n/a', 8)}${pad('findings', 10)}`);
for (const t of tallies) {
  console.log(`${t.name.padEnd(28)}${pad(t.accepted + t.refused + t.notApplicable, 9)}${pad(t.accepted, 10)}${pad(t.refused, 9)}${pad(t.notApplicable, 8)}${pad(t.findings, 10)}`);
}
console.log(
  `decoders: ${done} inputs in ${elapsed.toFixed(1)} s (${Math.round(done / elapsed)} inputs/s)${reason === 'time' ? ', stopped by the time limit' : ''}; ${findings.length} findings`,
);

let httpFindings = 0;
if (httpCount + wsCount > 0 && filter === undefined) {
  const http = await fuzzHttp({ seed, count: httpCount, frames: wsCount, deadline: Date.now() + httpTimeLimitMs });
  httpFindings = http.findings.length;
  for (const f of http.findings.slice(0, 20)) console.log(`FINDING http: ${f}`);
  console.log(
    `http: ${http.sent} requests (${http.raw} raw) and ${http.frames} stream frames in ${http.seconds.toFixed(1)} s (${Math.round((http.sent + http.frames) / http.seconds)} per s)${http.stoppedByTime ? ', stopped by the time limit' : ''}; statuses ${JSON.stringify(http.statuses)}; ${httpFindings} findings`,
  );
}

const total = findings.length + httpFindings;
console.log(total === 0 ? 'no findings' : `${total} findings`);
process.exit(total === 0 ? 0 : 1);
