// `npm run bench -- cli`: the command line as a user's shell runs it. Every figure is the wall
// time of whole processes (spawn to exit, median of RUNS), and their CPU time, next to a bare
// `node -e 0` of the same run, against a devnet and a relay process the bench starts. Keys are sealed at the
// default scrypt cost (2^17), as a user's are. Importing test/cli/helpers builds dist/ first when
// it is older than the sources, so the figures are those of these sources.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Benchmark, median } from './harness.ts';
import { BIN, baseEnv, devPost, json, run, startDevnet, startRelay, type Listening } from '../test/cli/helpers.ts';

const RUNS = 7;

/**
 * Preloaded into every timed process (NODE_OPTIONS=--require): at exit it writes the process's
 * CPU time (user + system, microseconds, bootstrap included) on fd 3. Wall time is what a user
 * waits; CPU time is what the command costs, and stays readable when other work shares the
 * machine (a busy machine stretches wall times, bare Node's start included).
 */
const CPU_PROBE = "process.on('exit', () => { const u = process.cpuUsage(); try { require('node:fs').writeSync(3, String(u.user + u.system)); } catch {} });\n";

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Wall time of one process, spawn to exit, and its CPU time; fails on a non-zero exit. */
function timed(args: string[], env: NodeJS.ProcessEnv, probe: string): Promise<Timing> {
  const t0 = performance.now();
  const options = [env.NODE_OPTIONS, `--require ${probe}`].filter(Boolean).join(' ');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...env, NODE_OPTIONS: options } });
  let stderr = '';
  let cpu = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (cpu += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
      if (!/^[0-9]+$/.test(cpu)) return reject(new Error(`${args.join(' ')}: no CPU time reported (${JSON.stringify(cpu)})`));
      resolve({ wallMs, cpuMs: Number(cpu) / 1000 });
    }),
  );
}

async function medianOf(args: string[], env: NodeJS.ProcessEnv, probe: string, runs = RUNS): Promise<Timing> {
  const ts: Timing[] = [];
  for (let i = 0; i < runs; i++) ts.push(await timed(args, env, probe));
  return { wallMs: median(ts.map((t) => t.wallMs)), cpuMs: median(ts.map((t) => t.cpuMs)) };
}

export const bench: Benchmark = {
  name: 'cli',
  description: 'satpost commands as whole processes (median wall time, and CPU time), default scrypt cost',
  async run(report, log) {
    const root = mkdtempSync(join(tmpdir(), 'satpost-bench-cli-'));
    const dirs = { alice: join(root, 'alice'), carol: join(root, 'carol') };
    // The default scrypt cost: no SATPOST_SCRYPT_LOG2N, as a user runs it.
    const env = (who: 'alice' | 'carol') => baseEnv({ SATPOST_SCRYPT_LOG2N: undefined, SATPOST_PASSPHRASE: `${who} pw` });
    const sat = (who: 'alice' | 'carol', args: string[]) => [BIN, ...args, '--data-dir', dirs[who]];
    let devnet: Listening | undefined;
    let relay: Listening | undefined;
    let unlocked = false;
    try {
      devnet = await startDevnet(join(root, 'chain'));
      relay = await startRelay(join(root, 'relay'), devnet.url);
      log('devnet and relay up; init alice and carol');
      const init = (who: 'alice' | 'carol') => run(sat(who, ['init', '--relay', relay!.url, '--chain', devnet!.url, '--json']).slice(1), env(who));
      const [ai, ci] = await Promise.all([init('alice'), init('carol')]);
      const carolAddress = json<{ address: string }>(ci).address;
      json(ai);
      json(await run(sat('alice', ['contact', 'add', 'carol', carolAddress, '--json']).slice(1), env('alice')));
      const wallet = json<{ address: string }>(await run(sat('alice', ['wallet', 'address', '--json']).slice(1), env('alice'))).address;
      await devPost(devnet.url, '/dev/faucet', { address: wallet, sats: 1_000_000 });
      await devPost(devnet.url, '/dev/mine', { blocks: 1 });

      const probe = join(root, 'cpu-probe.cjs');
      writeFileSync(probe, CPU_PROBE);
      /** Times a command (median of RUNS) and reports its wall time (with `goal`) and its CPU time. */
      const measure = async (metric: string, args: string[], env: NodeJS.ProcessEnv, f: { goal?: string; cpuGoal?: string; note?: string } = {}) => {
        const t = await medianOf(args, env, probe);
        report({ metric, value: t.wallMs, unit: 'ms', ...(f.goal ? { goal: f.goal } : {}), ...(f.note ? { note: f.note } : {}) });
        report({ metric: `  its CPU time (user + system)`, value: t.cpuMs, unit: 'ms', ...(f.cpuGoal ? { goal: f.cpuGoal } : {}) });
        return t;
      };

      const bare = await measure('node -e 0 (bare Node start)', ['-e', '0'], baseEnv());
      const publicGoal = `<= 150 and <= 2x node (${Math.round(2 * bare.wallMs)})`;
      const publicCpuGoal = `<= 2x node (${Math.round(2 * bare.cpuMs)})`;
      const pub = { goal: publicGoal, cpuGoal: publicCpuGoal };
      await measure('satpost --version', [BIN, '--version'], baseEnv(), pub);
      await measure('satpost --help', [BIN, '--help'], baseEnv(), pub);
      // No passphrase in the environment: a public command must not need one.
      await measure('satpost address (no passphrase)', sat('carol', ['address']), baseEnv(), pub);
      const contacts = await measure('satpost contact list (passphrase: scrypt 2^17)', sat('alice', ['contact', 'list']), env('alice'), { note: 'private data: unlocks the keys' });

      // Messages for the inbox to list and check.
      const sends: Timing[] = [];
      for (let i = 0; i < RUNS; i++) sends.push(await timed(sat('alice', ['send', 'carol', `bench message ${i}`, '--max-fee', '5000', '--retention-days', '0.1']), env('alice'), probe));
      const send = { wallMs: median(sends.map((t) => t.wallMs)), cpuMs: median(sends.map((t) => t.cpuMs)) };
      report({ metric: 'satpost send (whole process)', value: send.wallMs, unit: 'ms', note: 'sender-pays, on chain, 1 relay' });
      report({ metric: '  its CPU time (user + system)', value: send.cpuMs, unit: 'ms' });
      // What send adds to opening the client (process start, scrypt, databases: the contact
      // list figure): quote, seal, deposit, funding transaction. With one relay and P2P off
      // the relay quotes at once (no quote window), and the devnet answers the chain calls
      // at once (no confirmation is awaited), so this difference is the send's own work.
      report({ metric: 'send own work (send - contact list)', value: send.wallMs - contacts.wallMs, unit: 'ms', goal: '<= 500' });
      report({ metric: '  in CPU time', value: send.cpuMs - contacts.cpuMs, unit: 'ms', goal: '<= 500' });
      const inbox = await measure(`satpost inbox (${RUNS} messages at 1 relay; passphrase: scrypt 2^17)`, sat('carol', ['inbox']), env('carol'));
      report({ metric: 'inbox own work (inbox - contact list)', value: inbox.wallMs - contacts.wallMs, unit: 'ms' });

      // `satpost unlock`: the agent holds the unsealed keys; commands get no passphrase at all
      // (none in their environment) and derive nothing.
      for (const who of ['alice', 'carol'] as const) json(await run(sat(who, ['unlock', '--for', '30m', '--json']).slice(1), env(who)));
      unlocked = true;
      const noPw = baseEnv({ SATPOST_SCRYPT_LOG2N: undefined });
      const unlockedContacts = await measure('satpost contact list (unlocked: the agent holds the keys)', sat('alice', ['contact', 'list']), noPw, { note: 'no passphrase, no scrypt' });
      await measure(`satpost outbox (${RUNS} messages; unlocked)`, sat('alice', ['outbox']), noPw, { note: 'asks the relay about recipient-pays states' });
      await measure(`satpost inbox (${RUNS} messages at 1 relay; unlocked)`, sat('carol', ['inbox']), noPw, { goal: '<= 400', cpuGoal: '<= 400' });
      // The send's own work again, both unlocked: no scrypt on either side, so the difference is
      // not lost in the spread of three scrypt runs at 2^17 (large on a busy machine).
      const unlockedSends: Timing[] = [];
      for (let i = 0; i < RUNS; i++) unlockedSends.push(await timed(sat('alice', ['send', 'carol', `unlocked bench message ${i}`, '--max-fee', '5000', '--retention-days', '0.1']), noPw, probe));
      const unlockedSend = { wallMs: median(unlockedSends.map((t) => t.wallMs)), cpuMs: median(unlockedSends.map((t) => t.cpuMs)) };
      report({ metric: 'satpost send (unlocked)', value: unlockedSend.wallMs, unit: 'ms', note: 'sender-pays, on chain, 1 relay' });
      report({ metric: '  its CPU time (user + system)', value: unlockedSend.cpuMs, unit: 'ms' });
      report({ metric: 'send own work, unlocked (send - contact list)', value: unlockedSend.wallMs - unlockedContacts.wallMs, unit: 'ms', goal: '<= 500' });
      report({ metric: '  in CPU time', value: unlockedSend.cpuMs - unlockedContacts.cpuMs, unit: 'ms', goal: '<= 500' });
    } finally {
      if (unlocked) for (const who of ['alice', 'carol'] as const) await run(sat(who, ['lock']).slice(1), baseEnv());
      for (const p of [relay, devnet]) {
        if (!p) continue;
        p.child.kill('SIGTERM');
        await p.exited;
      }
      rmSync(root, { recursive: true, force: true });
    }
  },
};
