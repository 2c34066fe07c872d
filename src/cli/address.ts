/** `satpost address`: prints the user's satpost address, to hand to the people who write to her. */
import type { Command } from 'commander';
import { examples, output, withClient, withClientOptions, type ClientFlags } from './context.ts';

export function registerAddressCommand(program: Command): void {
  withClientOptions(program.command('address').description('print your satpost address (what others need to write to you)'))
    .addHelpText('after', examples('satpost address', 'satpost address --json   # {"address":"satpost1...","fingerprint":"..."}'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, (client) => {
        const address = client.address();
        output(flags, { address, fingerprint: client.fingerprint() }, () => [address]);
      });
    });
}
