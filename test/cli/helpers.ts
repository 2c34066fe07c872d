// Runs `satpost` as a user would: a separate process per command, real files, a devnet
// process started by the test.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'satpost.js');

// BIN runs dist/. scripts/run-tests.mjs builds it before any test starts; this covers a test
// file run directly (`node --import tsx --test ...`): a no-op when dist/ is current.
const built = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('npm run build failed: the CLI tests would run a stale dist/');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Base environment of every spawned command: cheap scrypt, no inherited satpost settings. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SATPOST_SCRYPT_LOG2N: '10' };
  for (const k of ['SATPOST_PASSPHRASE', 'SATPOST_RECOVERY_PHRASE', 'SATPOST_DATA_DIR', 'SATPOST_CHAIN']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return start(args, env).done;
}

/**
 * A command started, for a test that signals it while it runs; `done` as run() resolves.
 * `printed(stream, re)` resolves once what the command wrote so far on that stream matches `re`
 * (whenever it was written), and rejects if the command exits first.
 */
export function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run>; seen: { stdout: string; stderr: string }; printed(stream: 'stdout' | 'stderr', re: RegExp): Promise<void> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const seen = { stdout: '', stderr: '' };
  // 'close' comes after the last output (an 'exit' may come before it): only then is a line that never came known to be missing.
  let closed: number | null | undefined;
  const waits = new Set<() => void>();
  const wake = () => { for (const w of [...waits]) w(); };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].on('data', (d: Buffer) => {
      seen[stream] += d.toString();
      wake();
    });
  }
  const done = new Promise<Run>((resolve) => child.on('close', (code) => {
    closed = code;
    wake();
    resolve({ code, ...seen });
  }));
  const printed = (stream: 'stdout' | 'stderr', re: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (re.test(seen[stream])) resolve();
        else if (closed !== undefined) reject(new Error(`exited (${closed}) before printing ${re}: ${seen.stderr}`));
        else return;
        waits.delete(check);
      };
      waits.add(check);
      check();
    });
  return { child, seen, printed, done };
}

/**
 * Alice and Carol, each `init`ed at `relay` and `chain` (passphrase "<name> pw"), in each other's
 * contacts, Alice's wallet given 100,000 sats by the faucet and confirmed.
 */
export async function aliceAndCarol(as: (who: 'alice' | 'carol', args: string[]) => Promise<Run>, relay: string, chain: string): Promise<void> {
  const [ai, ci] = await Promise.all([
    as('alice', ['init', '--relay', relay, '--chain', chain, '--json']),
    as('carol', ['init', '--relay', relay, '--chain', chain, '--json']),
  ]);
  assert.equal((await as('alice', ['contact', 'add', 'carol', json<{ address: string }>(ci).address])).code, 0);
  assert.equal((await as('carol', ['contact', 'add', 'alice', json<{ address: string }>(ai).address])).code, 0);
  await devPost(chain, '/dev/faucet', { address: json<{ address: string }>(await as('alice', ['wallet', 'address', '--json'])).address, sats: 100_000 });
  await devPost(chain, '/dev/mine', { blocks: 1 });
}

/** The JSON a command printed, after asserting it exited 0. */
export const json = <T>(r: Run): T => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as T;
};

export interface Listening {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  /** What the process wrote on stderr so far. */
  stderr: () => string;
}

/** Spawns `satpost ...args` and resolves with the URL once it prints "listening on URL". */
function startListening(args: string[], what: string): Promise<Listening> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: baseEnv() });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:[0-9]+)$/.exec(line);
      if (m) resolve({ child, url: m[1]!, exited, stderr: () => stderr });
    });
    void exited.then((code) => reject(new Error(`${what} exited (${code}) before listening: ${stderr}`)));
  });
}

export function startDevnet(dataDir: string): Promise<Listening> {
  return startListening(['devnet', '--port', '0', '--data-dir', dataDir], 'devnet');
}

/** A relay process on `chain` without P2P, with short contracts (lockBlocks 30, claimMarginBlocks 3); `extra` more arguments. */
export function startRelay(dataDir: string, chain: string, extra: string[] = []): Promise<Listening> {
  return startListening(
    ['relay', '--port', '0', '--data-dir', dataDir, '--chain', chain, '--p2p-off', '--log-level', 'silent', '--set', 'lockBlocks=30', '--set', 'claimMarginBlocks=3', ...extra],
    'relay',
  );
}

/**
 * A real HTTP hop in front of a relay (`target`, set once the relay listens). It forwards every
 * request, except that after hold(prefix) the requests whose path starts with prefix get no
 * answer and are never forwarded: a relay that stops answering at a chosen step. hold()
 * resolves once such a request has arrived (the client is then waiting on it).
 */
export interface HoldingProxy {
  url: string;
  target: string;
  hold(prefix: string): Promise<void>;
  /** Forward everything again; held requests are dropped (their connections closed), never forwarded. */
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(): Promise<HoldingProxy> {
  let holding: { prefix: string; arrived: () => void } | undefined;
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (holding && req.url!.startsWith(holding.prefix)) {
      held.push(res);
      holding.arrived();
      return;
    }
    const up = request(`${proxy.target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: HoldingProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: '',
    hold: (prefix) => new Promise((arrived) => (holding = { prefix, arrived })),
    release: () => {
      holding = undefined;
      for (const res of held.splice(0)) res.destroy();
    },
    close: () => {
      proxy.release();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** POSTs to a devnet's /dev/ endpoints (faucet, mine). */
export async function devPost<T>(url: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Runs a command on a real pseudo-terminal (util-linux `script`), answering each prompt
 * only once it has appeared, as a person would. Returns everything the terminal showed.
 */
export function runOnTerminal(args: string[], env: NodeJS.ProcessEnv, answers: { prompt: string; type: string }[]): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  let next = 0;
  let from = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    while (next < answers.length) {
      const at = stdout.indexOf(answers[next]!.prompt, from);
      if (at < 0) break;
      from = at + answers[next]!.prompt.length;
      child.stdin.write(answers[next]!.type);
      next++;
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
