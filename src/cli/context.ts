/**
 * What every client command shares: the options they all take (--data-dir, --network,
 * --chain, --json), opening the client with the passphrase, printing the result as one JSON
 * object or as text, and progress lines for waits (stderr, not with --json).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '../client/client.ts';
import type { ScryptParams } from '../core/secretbox.ts';
import type { NetworkName } from '../core/network.ts';
import { defaultDataDir } from './data-dir.ts';
import { CliError } from './errors.ts';
import { formatOutput } from './output.ts';
import { getPassphrase } from './passphrase.ts';
import { secretsFromAgent } from './agent.ts';

export interface ClientFlags {
  dataDir?: string;
  network?: NetworkName;
  chain?: string;
  proxy?: string;
  json?: boolean;
}

export const NETWORK_NAMES: NetworkName[] = ['regtest', 'signet', 'testnet', 'mainnet'];

/** Adds the options every client command takes; `networkDefault` only for init. */
export function withClientOptions(cmd: Command, o: { networkDefault?: NetworkName } = {}): Command {
  const network = new Option('--network <name>', o.networkDefault ? 'Bitcoin network' : 'refuse to run unless the data directory is on this network').choices(
    NETWORK_NAMES,
  );
  if (o.networkDefault) network.default(o.networkDefault);
  return cmd
    .option('--data-dir <dir>', 'data directory (default: $SATPOST_DATA_DIR, $XDG_DATA_HOME/satpost or ~/.local/share/satpost)')
    .addOption(network)
    .addOption(new Option('--chain <url>', 'Esplora API root of the chain, e.g. a `satpost devnet` (default: the one saved at init)').env('SATPOST_CHAIN'))
    .addOption(new Option('--proxy <url>', 'SOCKS5 proxy for every connection, e.g. Tor: socks5h://127.0.0.1:9050 (init saves it; default: the saved one)').env('SATPOST_PROXY'))
    .option('--json', 'print one JSON object on stdout (errors as {"error":{"code","message"}})');
}

export function dataDirOf(flags: ClientFlags): string {
  return flags.dataDir ?? defaultDataDir();
}

/**
 * SATPOST_SCRYPT_LOG2N: for tests only, a cheaper passphrase hash (2^N, N >= 10) for a new data
 * directory. Honoured on regtest only: a key sealed at 2^10 is ~128 times cheaper to attack than
 * at the default 2^17, so a variable left in a shell must not silently weaken a real identity.
 * On any other network it is refused (not ignored) so the mistake is seen. Opening never needs
 * it: the parameters are stored with each sealed secret (src/core/secretbox.ts).
 */
export function scryptFromEnv(env: NodeJS.ProcessEnv, network: NetworkName): ScryptParams | undefined {
  const v = env.SATPOST_SCRYPT_LOG2N;
  if (v === undefined || v === '') return undefined;
  if (network !== 'regtest') {
    throw new CliError('WEAK_SCRYPT_REFUSED', `"SATPOST_SCRYPT_LOG2N" is for regtest tests only; unset it to create a ${network} identity`);
  }
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 10 || n > 22) throw new CliError('BAD_ENV', `"SATPOST_SCRYPT_LOG2N" expected an integer 10..22, got ${JSON.stringify(v)}`);
  return { log2N: n, r: 8, p: 1 };
}

/**
 * SATPOST_FAILPOINT=<name>: for tests only, the process kills itself (SIGKILL, as a crash or a
 * power cut would) when the client reaches that point (e.g. after-deposit).
 */
export function failpointFromEnv(env: NodeJS.ProcessEnv): { failpoint?: (name: string) => void } {
  const at = env.SATPOST_FAILPOINT;
  if (!at) return {};
  return {
    failpoint: (name) => {
      if (name === at) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** $SATPOST_PASSPHRASE, else a prompt (init asks twice with `confirm`). */
export async function passphraseFor(dir: string, confirm: boolean): Promise<string> {
  return getPassphrase(dir, { confirm }, { env: process.env, input: process.stdin, output: process.stderr });
}

/**
 * Opens the client of the command's data directory and runs `use`, closing it afterwards.
 * With an unlock agent for the directory, with the keys it holds: no passphrase is read (not
 * even $SATPOST_PASSPHRASE) and no scrypt is run. Else with the passphrase.
 */
export async function withClient<T>(flags: ClientFlags, use: (client: Client) => Promise<T> | T, o: { passphrase?: string } = {}): Promise<T> {
  const dir = dataDirOf(flags);
  // A command that needs the passphrase itself (to unseal the recovery phrase) has read it already: opened with it, no agent.
  const secrets = o.passphrase === undefined ? await secretsFromAgent(dir) : undefined;
  const unlock = secrets !== undefined ? { secrets } : { passphrase: o.passphrase ?? (await passphraseFor(dir, false)) };
  // A local step of a second at most: shown to a person waiting at a terminal, kept out of scripts' logs.
  if (!secrets && !flags.json && process.stderr.isTTY) process.stderr.write(`unlocking ${dir}...\n`);
  // Loaded here, not at the top: commands that never open the client (--help, the public
  // ones) must not pay for libsignal, SQLite and the wallet.
  const { Client } = await import('../client/client.ts');
  // A command multiplies the secp256k1 generator a few dozen times at most (BIP32 derivation,
  // signatures), in a fresh process: noble's default table for it (window 6) costs more to
  // build than it saves here, window 4 a fraction of that (a send: ~50 ms less CPU). Only the
  // speed changes; the relay, long-running, keeps the default.
  const { secp256k1 } = await import('@noble/curves/secp256k1.js');
  secp256k1.Point.BASE.precompute(4);
  const client = await Client.open({
    dir,
    ...unlock,
    ...(flags.network !== undefined ? { network: flags.network } : {}),
    ...(flags.chain !== undefined ? { chainUrl: flags.chain } : {}),
    ...(flags.proxy !== undefined ? { proxy: flags.proxy } : {}),
    ...failpointFromEnv(process.env),
  });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/**
 * A line per step of a wait, on stderr, so neither a person nor a script's log is left
 * without news; never in --json mode (stdout carries one object, stderr stays quiet).
 */
export function progress(flags: { json?: boolean }, line: string): void {
  if (!flags.json) process.stderr.write(line + '\n');
}

/** Prints the command's result: `json` as one object with --json, else the text lines. */
export function output(flags: { json?: boolean }, json: object, text: () => string[]): void {
  process.stdout.write(formatOutput(flags, json, text));
}

export function integerArg(what: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} expected an integer ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

export function positiveNumberArg(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError(`${what} expected a number > 0, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Lines of an example section for --help. */
export function examples(...lines: string[]): string {
  return `\nExample:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}
