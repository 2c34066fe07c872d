/**
 * `satpost devnet`: runs the embedded regtest chain as an Esplora-compatible HTTP
 * service, and `satpost devnet mine|faucet` drive a running one through its /dev/
 * endpoints.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import { ChainError } from '../chain/backend.ts';
import { defaultDataDir } from './data-dir.ts';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

interface ServeOptions {
  port: number;
  host: string;
  dataDir?: string;
  blockInterval?: number;
  json?: boolean;
}

export function registerDevnetCommand(program: Command): void {
  const devnet = program
    .command('devnet')
    .description('run the embedded Bitcoin development chain (regtest rules) as an Esplora HTTP service')
    .option('--port <port>', 'TCP port (0: any free port)', integer(0, 65535), 3002)
    .option('--host <host>', 'address to bind; the faucet is open to anyone who can reach it', '127.0.0.1')
    .option('--data-dir <dir>', 'directory of devnet.sqlite (default: $SATPOST_DATA_DIR, $XDG_DATA_HOME/satpost or ~/.local/share/satpost)')
    .option('--block-interval <ms>', 'mine a block every <ms> milliseconds (default: only on request)', integer(1, 86_400_000))
    .option('--json', 'print machine-readable JSON (also for the subcommands)')
    .action((opts: ServeOptions) => serve(opts));

  const chainOption = () =>
    new Option('--chain <url>', 'URL of a running devnet').env('SATPOST_CHAIN').makeOptionMandatory();
  // Options are positional (src/cli/main.ts): --json after a subcommand's name is the subcommand's own.
  const jsonOption = () => new Option('--json', 'print machine-readable JSON');

  devnet
    .command('mine')
    .description('mine blocks on a running devnet')
    .argument('<blocks>', 'number of blocks', integer(1, 10_000))
    .option('--address <address>', 'pay the block rewards to this regtest address')
    .addOption(chainOption())
    .addOption(jsonOption())
    .action(async (blocks: number, opts: { address?: string; chain: string }, cmd: Command) => {
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
      const body: { blocks: number; address?: string } = { blocks };
      if (opts.address !== undefined) body.address = opts.address;
      const { hashes } = await devPost<{ hashes: string[] }>(opts.chain, '/dev/mine', body);
      process.stdout.write(json ? JSON.stringify({ hashes }) + '\n' : hashes.join('\n') + '\n');
    });

  devnet
    .command('faucet')
    .description('send coins from the devnet faucet (unconfirmed until the next block)')
    .argument('<address>', 'regtest address (bcrt1...)')
    .argument('<sats>', 'amount in satoshis', integer(1, 21e14))
    .addOption(chainOption())
    .addOption(jsonOption())
    .action(async (address: string, sats: number, opts: { chain: string }, cmd: Command) => {
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
      const { txid } = await devPost<{ txid: string }>(opts.chain, '/dev/faucet', { address, sats });
      process.stdout.write(json ? JSON.stringify({ txid }) + '\n' : txid + '\n');
    });
}

async function serve(opts: ServeOptions): Promise<void> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const path = join(dataDir, 'devnet.sqlite');
  const { Devnet } = await import('../chain/devnet/devnet.ts');
  const { startDevnetServer } = await import('../chain/devnet/server.ts');
  const devnet = Devnet.open({ path });
  let server;
  try {
    server = await startDevnetServer({ devnet, host: opts.host, port: opts.port });
  } catch (err) {
    devnet.close();
    throw err;
  }
  if (opts.blockInterval !== undefined) devnet.startAutoMine(opts.blockInterval);
  const tip = devnet.tip();
  const url = server.url;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ listening: url, dataFile: path, tip }) + '\n');
  } else {
    process.stdout.write(
      [
        `satpost devnet (regtest rules), chain file ${path}, tip height ${tip.height} ${tip.hash}`,
        `listening on ${url}`,
        `  Esplora API at ${url} (point any Esplora client, or EsploraBackend baseUrl, here)`,
        `  get coins:   satpost devnet faucet <bcrt1... address> <sats> --chain ${url}`,
        `  mine blocks: satpost devnet mine <n> [--address <bcrt1...>] --chain ${url}`,
        opts.blockInterval !== undefined ? `  mining a block every ${opts.blockInterval} ms` : '  blocks are mined only on request',
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    devnet.stopAutoMine();
    server.close().then(
      () => {
        devnet.close();
        if (!opts.json) process.stderr.write(`devnet stopped (${signal})\n`);
      },
      (err: unknown) => {
        devnet.close();
        process.stderr.write(`devnet stopped with an error: ${String(err)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function devPost<T>(chain: string, path: string, body: unknown): Promise<T> {
  const url = `${chain.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (cause) {
    throw new ChainError('BACKEND_UNAVAILABLE', `cannot reach the devnet at ${chain}: ${(cause as Error).message}`, { cause });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ChainError('BACKEND_UNAVAILABLE', `${url} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    const code = res.status === 404 ? 'NOT_FOUND' : res.status < 500 ? 'BAD_REQUEST' : 'BACKEND_UNAVAILABLE';
    throw new ChainError(code, `${path}: ${e?.message ?? text}`);
  }
  return json as T;
}
