/**
 * `satpost relay`: runs a relay daemon. Settings come from --config (JSON), then
 * SATPOST_RELAY_* environment variables, then these flags (src/relay/config.ts documents
 * every setting). Prints `listening on <url>` on stdout when ready; SIGTERM/SIGINT stop it
 * gracefully (acknowledged deposits are always committed).
 */
import { Command } from 'commander';
import { join } from 'node:path';
import type { ConfigInput } from '../relay/config.ts';
import { scryptFromEnv } from './context.ts';
import { defaultDataDir } from './data-dir.ts';
import { registerRelayWalletCommands } from './relay-wallet.ts';

/** The relay network port of `satpost relay`: fixed, so a restarted relay keeps the multiaddr other relays bootstrap from. */
export const DEFAULT_P2P_PORT = 4848;

interface RelayFlags {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
  chain?: string;
  network?: string;
  publicUrl?: string;
  name?: string;
  synchronous?: string;
  modes?: string;
  logLevel?: string;
  p2pPort?: string;
  bootstrap?: string[];
  p2pOff?: boolean;
  set?: string[];
}

export function registerRelayCommand(program: Command): void {
  const relayCmd = program
    .command('relay')
    // `relay wallet ...` takes its own --data-dir: options after a subcommand name belong to it.
    .enablePositionalOptions()
    .description('run a satpost relay: stores sealed messages for a fee, serves HTTP and a WebSocket stream')
    .option('--config <file>', 'JSON file of relay settings')
    .option('--port <port>', 'TCP port (0: any free port; default 8090)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--data-dir <dir>', 'directory of relay.sqlite and the keys (default: <satpost data dir>/relay)')
    .option('--chain <url>', 'Esplora API root of the chain, e.g. a satpost devnet')
    .option('--network <name>', 'regtest, signet, testnet or mainnet (default regtest)')
    .option('--public-url <url>', 'URL clients reach this relay at (default http://host:port)')
    .option('--name <name>', 'relay name in the information document')
    .option('--synchronous <mode>', 'SQLite durability: FULL (default) or NORMAL')
    .option('--modes <list>', 'accepted payment modes, comma separated')
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug or silent')
    .option('--p2p-port <port>', `relay network (libp2p) TCP port (default ${DEFAULT_P2P_PORT}, kept across restarts so other relays' --bootstrap stays valid; 0: any free port)`)
    .option('--bootstrap <multiaddr...>', 'relays to join the network through, /ip4/../tcp/../p2p/<peer id>')
    .option('--p2p-off', 'run standalone: no relay network (/v1/offer and /v1/mailbox/query answer P2P_OFF)')
    .option('--set <key=value...>', 'any other setting by its config key, e.g. --set priceBaseSats=1000')
    .action(async (f: RelayFlags) => {
      const flags: ConfigInput = {
        port: f.port, host: f.host, dataDir: f.dataDir, chainUrl: f.chain, network: f.network, publicUrl: f.publicUrl,
        name: f.name, synchronous: f.synchronous, acceptedModes: f.modes, logLevel: f.logLevel,
        p2pPort: f.p2pPort, bootstrap: f.bootstrap, p2p: f.p2pOff === true ? false : undefined,
      };
      for (const kv of f.set ?? []) {
        const at = kv.indexOf('=');
        flags[(at < 0 ? kv : kv.slice(0, at)) as keyof ConfigInput] = at < 0 ? '' : kv.slice(at + 1);
      }
      // Loaded here, not at the top: `satpost --version` must not load the relay's dependencies.
      const { loadConfig } = await import('../relay/config.ts');
      const { startRelay } = await import('../relay/daemon.ts');
      const config = loadConfig({ base: { p2pPort: String(DEFAULT_P2P_PORT) }, ...(f.config ? { file: f.config } : {}), env: process.env, flags });
      if (config.dataDir === '') config.dataDir = join(defaultDataDir(), 'relay');
      // SATPOST_SCRYPT_LOG2N (regtest tests only): a cheaper hash for a new relay wallet's passphrase, as for a client's.
      const walletScrypt = scryptFromEnv(process.env, config.network);
      const relay = await startRelay(config, walletScrypt ? { walletScrypt } : {});
      if (relay.recoveryPhrase !== undefined) {
        // Shown once, at the start that created the wallet: the earnings are lost without it if the data dir is.
        process.stderr.write(
          `new relay wallet; its recovery phrase:\n\n    ${relay.recoveryPhrase}\n\n` +
            `write this down and keep it offline: it restores the relay's earnings if ${config.dataDir} is lost ` +
            `(show it again with \`satpost relay wallet recovery --data-dir ${config.dataDir}\`)\n`,
        );
      }
      process.stdout.write(`listening on ${relay.url}\n`);
      for (const a of relay.network.info().multiaddrs ?? []) process.stdout.write(`relay network on ${a}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          relay.stop().then(resolve, (err: unknown) => {
            process.stderr.write(`relay stopped with an error: ${String(err)}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
  registerRelayWalletCommands(relayCmd);
}
