/** `satpost unlock` / `satpost lock` (the agent itself is ./agent.ts). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { agentInput, checkPrivateDir, durationArg, lockAgent, serveAgent, zeroSecrets } from './agent.ts';
import { dataDirOf, examples, integerArg, output, withClientOptions, type ClientFlags } from './context.ts';
import { CliError } from './errors.ts';
import { getPassphrase } from './passphrase.ts';

interface UnlockFlags extends ClientFlags {
  for: number;
}

export function registerUnlockCommands(program: Command): void {
  withClientOptions(
    program
      .command('unlock')
      .description('ask for the passphrase once; until --for has passed or `satpost lock`, an agent holds the unsealed keys and commands of this data directory neither ask nor derive')
      .option('--for <duration>', 'how long: 90s, 15m, 8h (at most 24h)', durationArg, 15 * 60_000),
  )
    .addHelpText('after', examples('satpost unlock --for 30m', 'satpost inbox        # no passphrase asked', 'satpost lock'))
    .action(async (_opts: UnlockFlags, cmd: Command) => {
      const flags = cmd.opts<UnlockFlags>();
      const dir = dataDirOf(flags);
      // Before the prompt: a directory others can write to would let them swap the socket.
      if (existsSync(dir)) checkPrivateDir(dir);
      // Never from an agent: unlock is where the user proves she knows it.
      const passphrase = await getPassphrase(dir, { confirm: false }, { env: process.env, input: process.stdin, output: process.stderr });
      // A wrong passphrase fails here, once. What it unseals (and Client.unseal checked by
      // opening with it) goes to the agent; the passphrase itself goes nowhere.
      const { Client } = await import('../client/client.ts');
      const secrets = await Client.unseal({ dir, passphrase, ...(flags.network !== undefined ? { network: flags.network } : {}) });
      const input = agentInput(secrets);
      zeroSecrets(secrets);
      await startAgent(dir, input, flags.for);
      const until = new Date(Date.now() + flags.for).toISOString();
      output(flags, { unlocked: dir, until }, () => [`unlocked ${dir} until ${until}; \`satpost lock\` locks it sooner`]);
    });

  withClientOptions(program.command('lock').description('end the unlock of `satpost unlock`: commands ask for the passphrase again'))
    .addHelpText('after', examples('satpost lock'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      const dir = dataDirOf(flags);
      const locked = await lockAgent(dir);
      output(flags, { locked }, () => [locked ? `locked ${dir}` : `${dir} was not unlocked`]);
    });

  // The agent process that unlock starts; not for users.
  program
    .command('agent-serve', { hidden: true })
    .requiredOption('--data-dir <dir>')
    .requiredOption('--ms <n>', 'lifetime', integerArg('ms', 1, 24 * 3600_000))
    .action(async (flags: { dataDir: string; ms: number }) => {
      await serveAgent(flags.dataDir, flags.ms);
    });
}

/** Starts `satpost agent-serve` detached, hands it the unsealed keys on stdin (zeroing `input` once written), waits for "ready". */
async function startAgent(dir: string, input: Buffer, ms: number): Promise<void> {
  // The keys go through a pipe: argv and the environment are readable in /proc.
  const child = spawn(process.execPath, [process.argv[1]!, 'agent-serve', '--data-dir', dir, '--ms', String(ms)], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // an agent that died at once: reported below
  child.stdin.end(input, () => input.fill(0));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => line === 'ready' && resolve(true));
    void exited.then(() => resolve(false));
  });
  if (!(await ready)) {
    throw new CliError('AGENT_FAILED', `the unlock agent for ${dir} did not start: ${stderr.trim() || `exit ${await exited}`}`);
  }
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
}
