/** `satpost init`: creates the user's identity, wallet and address book in the data directory. */
import type { Command } from 'commander';
import type { PublishResult } from '../client/publish.ts';
import { dataDirOf, examples, output, passphraseFor, progress, scryptFromEnv, withClientOptions, type ClientFlags } from './context.ts';

interface InitFlags extends ClientFlags {
  relay: string[];
}

export function registerInitCommand(program: Command): void {
  withClientOptions(
    program
      .command('init')
      .description('create your satpost identity, wallet and address book (asks for a passphrase twice)')
      .option('--relay <url>', 'a relay that keeps your mail; repeat for several (the first four go into your address)', collect, []),
    { networkDefault: 'regtest' },
  )
    .addHelpText(
      'after',
      examples(
        'satpost init --relay http://127.0.0.1:8090 --chain http://127.0.0.1:3002',
        '',
        'The passphrase protects your keys; scripts set SATPOST_PASSPHRASE instead of typing it.',
        'The recovery phrase printed at the end is shown only once: write it down.',
      ),
    )
    .action(async (_opts: InitFlags, cmd: Command) => {
      const flags = cmd.opts<InitFlags>();
      const dir = dataDirOf(flags);
      const network = flags.network ?? 'regtest';
      // Before the passphrase prompt, so a refused variable costs the user no typing.
      const scrypt = scryptFromEnv(process.env, network);
      const passphrase = await passphraseFor(dir, true);
      progress(flags, `creating keys in ${dir}...`);
      const { Client } = await import('../client/client.ts');
      const { client, mnemonic } = await Client.init({
        dir,
        passphrase,
        network,
        relays: flags.relay,
        ...(flags.chain !== undefined ? { chainUrl: flags.chain } : {}),
        ...(flags.proxy !== undefined ? { proxy: flags.proxy } : {}),
        ...(scrypt ? { scrypt } : {}),
      });
      try {
        const address = client.address();
        // Senders need the prekeys at her relays; a relay that is down now only means `satpost publish` later.
        let published: PublishResult | undefined;
        if (client.relays.length > 0) {
          progress(flags, 'publishing your prekeys at your relays...');
          try {
            published = await client.publish();
          } catch (err) {
            process.stderr.write(`warning: your prekeys are not published yet (${(err as Error).message}); run \`satpost publish\` once your relay is up\n`);
          }
          for (const r of published?.relays ?? []) {
            if (r.error) process.stderr.write(`warning: relay ${r.url} did not take your prekeys: ${r.error.message}\n`);
          }
        }
        const publishedAt = (published?.relays ?? []).filter((r) => !r.error).map((r) => r.url);
        output(
          flags,
          { dataDir: dir, network: client.network, chain: client.chainUrl, relays: client.relays, address, fingerprint: client.fingerprint(), mnemonic, publishedAt },
          () => [
            `initialized satpost in ${dir} (${client.network}, chain ${client.chainUrl})`,
            ...(client.relays.length === 0 ? [`no relays: nobody can write to you until you add one: satpost relays add URL --data-dir ${dir}`] : []),
            ...(publishedAt.length > 0 ? [`published your prekeys at ${publishedAt.join(', ')}`] : []),
            'your satpost address (give it to the people who will write to you):',
            `  ${address}`,
            `your fingerprint: ${client.fingerprint()}`,
            'wallet recovery phrase (write it down now; it is not shown again):',
            `  ${mnemonic}`,
          ],
        );
      } finally {
        await client.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
