/** `satpost init`: creates the user's identity, wallet and address book in the data directory. */
import type { Command } from 'commander';
import type { PublishResult } from '../client/publish.ts';
import { readBook } from './contact.ts';
import { CliError } from './errors.ts';
import { getRecoveryPhrase } from './passphrase.ts';
import { dataDirOf, examples, output, passphraseFor, progress, scryptFromEnv, withClientOptions, type ClientFlags } from './context.ts';

interface InitFlags extends ClientFlags {
  relay: string[];
  restore?: boolean;
  addressBook?: string;
}

export function registerInitCommand(program: Command): void {
  withClientOptions(
    program
      .command('init')
      .description('create your satpost identity, wallet and address book (asks for a passphrase twice)')
      .option('--relay <url>', 'a relay that keeps your mail; repeat for several (the first four go into your address)', collect, [])
      .option('--restore', 'restore the wallet from your recovery phrase ($SATPOST_RECOVERY_PHRASE, or asked for); your identity key is new')
      .option('--address-book <file>', 'with --restore: the address book file of `satpost contact export`, sealed under that phrase'),
    { networkDefault: 'regtest' },
  )
    .addHelpText(
      'after',
      examples(
        'satpost init --relay http://127.0.0.1:8090 --chain http://127.0.0.1:3002',
        '',
        'The passphrase protects your keys; scripts set SATPOST_PASSPHRASE instead of typing it.',
        'The recovery phrase printed at the end is shown only once: write it down.',
        '',
        'satpost init --restore --address-book ~/satpost-contacts.book --relay ... --chain ...',
        '    brings back the wallet and the contacts from the recovery phrase (new identity key: send contacts your new address).',
      ),
    )
    .action(async (_opts: InitFlags, cmd: Command) => {
      const flags = cmd.opts<InitFlags>();
      const dir = dataDirOf(flags);
      const network = flags.network ?? 'regtest';
      // Before the passphrase prompt, so a refused variable costs the user no typing.
      const scrypt = scryptFromEnv(process.env, network);
      if (flags.addressBook !== undefined && !flags.restore) throw new CliError('BAD_ARGUMENTS', '--address-book goes with --restore');
      const book = flags.addressBook !== undefined ? readBook(flags.addressBook) : undefined;
      const recovery = flags.restore ? await getRecoveryPhrase({ env: process.env, input: process.stdin, output: process.stderr }) : undefined;
      const passphrase = await passphraseFor(dir, true);
      progress(flags, `creating keys in ${dir}...`);
      const { Client } = await import('../client/client.ts');
      const o = {
        dir,
        passphrase,
        network,
        relays: flags.relay,
        ...(flags.chain !== undefined ? { chainUrl: flags.chain } : {}),
        ...(flags.proxy !== undefined ? { proxy: flags.proxy } : {}),
        ...(scrypt ? { scrypt } : {}),
      };
      const { client, mnemonic, imported } = recovery !== undefined
        ? { ...(await Client.restore({ ...o, mnemonic: recovery, ...(book ? { addressBook: book } : {}) })), mnemonic: undefined }
        : { ...(await Client.init(o)), imported: undefined };
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
          { dataDir: dir, network: client.network, chain: client.chainUrl, relays: client.relays, address, fingerprint: client.fingerprint(), ...(mnemonic !== undefined ? { mnemonic } : { restored: true }), publishedAt, ...(imported ? { imported } : {}) },
          () => [
            `initialized satpost in ${dir} (${client.network}, chain ${client.chainUrl})`,
            ...(client.relays.length === 0 ? [`no relays: nobody can write to you until you add one: satpost relays add URL --data-dir ${dir}`] : []),
            ...(publishedAt.length > 0 ? [`published your prekeys at ${publishedAt.join(', ')}`] : []),
            'your satpost address (give it to the people who will write to you):',
            `  ${address}`,
            `your fingerprint: ${client.fingerprint()}`,
            ...(mnemonic !== undefined
              ? ['wallet recovery phrase (write it down now; it is not shown again):', `  ${mnemonic}`]
              : ['wallet restored from your recovery phrase; your identity key is new: send your contacts the address above']),
            ...(imported ? [`address book: added ${imported.added.length} contact(s)`, ...imported.skipped.map((x) => `  skipped ${x.name}: ${x.message}`)] : []),
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
