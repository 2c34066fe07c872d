/**
 * `satpost address`: prints the user's satpost address, to hand to the people who write to her.
 * It is public, so it is read from public.json without the passphrase; only a directory that
 * has none yet (made before public.json existed) is unlocked once, which writes it.
 */
import type { Command } from 'commander';
import { ClientError } from '../client/errors.ts';
import { expected } from '../core/errors.ts';
import { dataDirOf, examples, withClient, withClientOptions, type ClientFlags } from './context.ts';

export function registerAddressCommand(program: Command): void {
  withClientOptions(program.command('address').description('print your satpost address (what others need to write to you); needs no passphrase'))
    .addHelpText('after', examples('satpost address', 'satpost address --json   # {"address":"satpost1...","fingerprint":"...","identityKey":"05..."}'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      const { DataDir } = await import('../client/datadir.ts');
      const { addressOutput, savedPublicInfo } = await import('./public-address.ts');
      const dir = new DataDir(dataDirOf(flags));
      const saved = savedPublicInfo(dir);
      if (saved === undefined) {
        await withClient(flags, (client) => process.stdout.write(addressOutput(flags, client.address(), client.fingerprint())));
        return;
      }
      if (flags.network !== undefined && flags.network !== saved.network) {
        throw new ClientError('NETWORK_MISMATCH', expected('network', `${saved.network} (the network of ${dir.path})`, flags.network));
      }
      process.stdout.write(addressOutput(flags, saved.address, saved.fingerprint));
    });
}
