// `npm run bench -- cli`: the command line as a user's shell runs it. Every figure is the wall
// time of whole processes (spawn to exit, median of RUNS), next to a bare `node -e 0` of the
// same run, against a devnet and a relay process the bench starts. Keys are sealed at the
// default scrypt cost (2^17), as a user's are. Importing test/cli/helpers builds dist/ first when
// it is older than the sources, so the figures are those of these sources.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Benchmark, median } from './harness.ts';
import { BIN, baseEnv, devPost, json, run, startDevnet, startRelay, type Listening } from '../test/cli/helpers.ts';

const RUNS = 7;

/** Wall time of one process, spawn to exit; fails on a non-zero exit. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`)))),
  );
}

async function medianOf(args: string[], env: NodeJS.ProcessEnv, runs = RUNS): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(await timed(args, env));
  return median(ms);
}

export const bench: Benchmark = {
  name: 'cli',
  description: 'satpost commands as whole processes (median wall time), default scrypt cost',
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

      const bare = await medianOf(['-e', '0'], baseEnv());
      report({ metric: 'node -e 0 (bare Node start)', value: bare, unit: 'ms' });
      const publicGoal = `<= 150 and <= 2x node (${Math.round(2 * bare)})`;
      const version = await medianOf([BIN, '--version'], baseEnv());
      report({ metric: 'satpost --version', value: version, unit: 'ms', goal: publicGoal });
      const help = await medianOf([BIN, '--help'], baseEnv());
      report({ metric: 'satpost --help', value: help, unit: 'ms', goal: publicGoal });
      // No passphrase in the environment: a public command must not need one.
      const address = await medianOf(sat('carol', ['address']), baseEnv());
      report({ metric: 'satpost address (no passphrase)', value: address, unit: 'ms', goal: publicGoal });
      const contacts = await medianOf(sat('alice', ['contact', 'list']), env('alice'));
      report({ metric: 'satpost contact list (passphrase: scrypt 2^17)', value: contacts, unit: 'ms', note: 'private data: unlocks the keys' });

      // Messages for the inbox to list and check.
      const send = (text: string) => timed(sat('alice', ['send', 'carol', text, '--max-fee', '5000', '--retention-days', '0.1']), env('alice'));
      const sends: number[] = [];
      for (let i = 0; i < RUNS; i++) sends.push(await send(`bench message ${i}`));
      const sendMs = median(sends);
      report({ metric: 'satpost send (whole process)', value: sendMs, unit: 'ms', note: 'sender-pays, on chain, 1 relay' });
      // What send adds to opening the client (process start, scrypt, databases: the contact
      // list figure): quote, seal, deposit, funding transaction. With one relay and P2P off
      // the relay quotes at once (no quote window), and the devnet answers the chain calls
      // at once (no confirmation is awaited), so this difference is the send's own work.
      report({ metric: 'send own work (send - contact list)', value: sendMs - contacts, unit: 'ms', goal: '<= 500' });
      const inbox = await medianOf(sat('carol', ['inbox']), env('carol'));
      report({ metric: `satpost inbox (${RUNS} messages at 1 relay; passphrase: scrypt 2^17)`, value: inbox, unit: 'ms' });
      report({ metric: 'inbox own work (inbox - contact list)', value: inbox - contacts, unit: 'ms' });

      // `satpost unlock`: the agent holds the unsealed keys; commands get no passphrase at all
      // (none in their environment) and derive nothing.
      for (const who of ['alice', 'carol'] as const) json(await run(sat(who, ['unlock', '--for', '30m', '--json']).slice(1), env(who)));
      unlocked = true;
      const noPw = baseEnv({ SATPOST_SCRYPT_LOG2N: undefined });
      const contactsUnlocked = await medianOf(sat('alice', ['contact', 'list']), noPw);
      report({ metric: 'satpost contact list (unlocked: the agent holds the keys)', value: contactsUnlocked, unit: 'ms', note: 'no passphrase, no scrypt' });
      const outboxUnlocked = await medianOf(sat('alice', ['outbox']), noPw);
      report({ metric: `satpost outbox (${RUNS} messages; unlocked)`, value: outboxUnlocked, unit: 'ms', note: 'asks the relay about recipient-pays states' });
      const inboxUnlocked = await medianOf(sat('carol', ['inbox']), noPw);
      report({ metric: `satpost inbox (${RUNS} messages at 1 relay; unlocked)`, value: inboxUnlocked, unit: 'ms', goal: '<= 400' });
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
