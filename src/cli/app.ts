/** `satpost app`: serves the browser app (src/app/) for the data directory and prints its URL. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { spawn } from 'node:child_process';
import { dataDirOf } from './context.ts';

interface AppFlags {
  dataDir?: string;
  port: number;
  host: string;
  open?: boolean;
  chain?: string;
  relay: string[];
}

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) throw new InvalidArgumentError(`expected a port 0..65535, got ${JSON.stringify(value)}`);
  return n;
}

export function registerAppCommand(program: Command): void {
  program
    .command('app')
    .description('serve the satpost app in your browser (on 127.0.0.1; the printed link carries an access token)')
    .option('--data-dir <dir>', 'data directory (default: $SATPOST_DATA_DIR, $XDG_DATA_HOME/satpost or ~/.local/share/satpost)')
    .option('--port <port>', 'TCP port (0: any free port)', port, 0)
    .option('--host <host>', 'address to listen on; anything but loopback lets other machines try the token', '127.0.0.1')
    .option('--chain <url>', 'Esplora API root (a first run saves it; default per network)')
    .option('--relay <url>', 'a relay offered at first run; repeat for several', (v: string, acc: string[]) => [...acc, v], [])
    .option('--open', 'open the link in the default browser')
    .action(async (flags: AppFlags) => {
      const { startAppServer } = await import('../app/server.ts');
      const app = await startAppServer({
        dataDir: dataDirOf(flags), host: flags.host, port: flags.port, relays: flags.relay, ...(flags.chain !== undefined ? { chainUrl: flags.chain } : {}),
      });
      process.stdout.write(`satpost app for ${dataDirOf(flags)}\nopen ${app.url}\n(the link carries this run's access token; stop with Ctrl-C)\n`);
      if (flags.open) {
        const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
        spawn(opener, [app.url], { stdio: 'ignore', detached: true }).on('error', () => process.stderr.write(`could not start ${opener}: open the link by hand\n`)).unref();
      }
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void app.close().then(() => process.stderr.write('satpost app stopped\n'));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
