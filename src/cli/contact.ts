/** `satpost contact add|update|list|show|trust|export|import`: the address book. */
import type { Command } from 'commander';
import type { Contact } from '../client/contacts.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError } from './errors.ts';
import { dataDirOf, examples, output, passphraseFor, withClient, withClientOptions, type ClientFlags } from './context.ts';

export function registerContactCommands(program: Command): void {
  const contact = program
    .command('contact')
    .description('your address book: the people you write to, by name')
    .addHelpText('after', examples('satpost contact add carol satpost1...', 'satpost contact list'));

  withClientOptions(contact.command('add').description('save a satpost address under a name').argument('<name>', 'a short name: letters, digits, ".", "_", "-"').argument('<address>', 'her satpost address (satpost1...)'))
    .addHelpText('after', examples('satpost contact add carol satpost1qyq...'))
    .action(async (name: string, address: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const c = await client.addContact(name, address);
        output(flags, { contact: c }, () => [`added contact ${c.name} (fingerprint ${c.fingerprint})`]);
      });
    });

  withClientOptions(
    contact
      .command('update')
      .description('replace a contact\'s address (e.g. new relays); a changed identity key must then be trusted')
      .argument('<name>', 'contact name')
      .argument('<address>', 'her new satpost address'),
  )
    .addHelpText('after', examples('satpost contact update carol satpost1qyq...'))
    .action(async (name: string, address: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const c = await client.updateContact(name, address);
        output(flags, { contact: c }, () => [`updated contact ${c.name} (relays: ${c.relayHints.join(', ') || 'none'})`]);
      });
    });

  withClientOptions(contact.command('list').description('list your contacts'))
    .addHelpText('after', examples('satpost contact list', 'satpost contact list --json'))
    .action(async (_opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, (client) => {
        const all = client.contacts();
        output(flags, { contacts: all }, () =>
          all.length === 0 ? ['no contacts yet; add one with: satpost contact add NAME ADDRESS'] : all.flatMap(listLines),
        );
      });
    });

  withClientOptions(contact.command('show').description('show one contact').argument('<name>', 'contact name'))
    .addHelpText('after', examples('satpost contact show carol'))
    .action(async (name: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, (client) => {
        const c = client.contact(name);
        output(flags, { contact: c }, () => [
          `name:        ${c.name}`,
          `address:     ${c.address}`,
          `fingerprint: ${c.fingerprint}`,
          `relays:      ${c.relayHints.join(', ') || 'none'}`,
          `added:       ${new Date(c.addedAt).toISOString()}`,
          ...keyChangeLines(c),
        ]);
      });
    });

  withClientOptions(contact.command('export').description('write your address book to a file sealed under your recovery phrase (asks for the passphrase)').argument('<file>', 'where to write it (not overwritten)'))
    .addHelpText('after', examples('satpost contact export ~/satpost-contacts.book', '', 'Restore it with the recovery phrase: satpost init --restore --address-book FILE'))
    .action(async (file: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      const passphrase = await passphraseFor(dataDirOf(flags), false);
      await withClient(flags, (client) => {
        const sealed = client.exportAddressBook(passphrase);
        try {
          writeFileSync(file, sealed, { flag: 'wx', mode: 0o600 });
        } catch (cause) {
          throw new CliError('BAD_ARGUMENTS', `cannot write ${file}: ${(cause as Error).message}`, { cause });
        }
        output(flags, { file, contacts: client.contacts().length }, () => [`wrote ${client.contacts().length} contact(s) to ${file}, sealed under your recovery phrase`]);
      }, { passphrase });
    });

  withClientOptions(contact.command('import').description('add the contacts of an address book file sealed under your recovery phrase (asks for the passphrase)').argument('<file>', 'a file of `satpost contact export`'))
    .addHelpText('after', examples('satpost contact import ~/satpost-contacts.book'))
    .action(async (file: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      const sealed = readBook(file);
      const passphrase = await passphraseFor(dataDirOf(flags), false);
      await withClient(flags, async (client) => {
        const r = await client.importAddressBook(sealed, passphrase);
        output(flags, r, () => [`added ${r.added.length} contact(s)${r.added.length > 0 ? `: ${r.added.join(', ')}` : ''}`, ...r.skipped.map((s) => `skipped ${s.name}: ${s.message}`)]);
      }, { passphrase });
    });

  withClientOptions(
    contact
      .command('trust')
      .description("accept a contact's changed identity key, after comparing fingerprints with her")
      .argument('<name>', 'contact name'),
  )
    .addHelpText('after', examples('satpost contact show carol    # compare "new" with the fingerprint Carol reads to you', 'satpost contact trust carol'))
    .action(async (name: string, _opts: ClientFlags, cmd: Command) => {
      const flags = cmd.opts<ClientFlags>();
      await withClient(flags, async (client) => {
        const c = await client.trustContact(name);
        output(flags, { contact: c }, () => [`now trusting the new identity key of ${c.name} (fingerprint ${c.fingerprint})`]);
      });
    });
}

function listLines(c: Contact): string[] {
  return [`${c.name}  ${c.fingerprint}  ${c.relayHints.join(',') || '(no relays)'}`, ...keyChangeLines(c).map((l) => `  ${l}`)];
}

function keyChangeLines(c: Contact): string[] {
  if (!c.keyChange) return [];
  return [
    `! identity key changed: trusted ${c.keyChange.trustedFingerprint}, new ${c.keyChange.newFingerprint}`,
    `  compare with ${c.name}, then: satpost contact trust ${c.name}`,
  ];
}

/** An address book file's bytes (BAD_ARGUMENTS when it cannot be read). */
export function readBook(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (cause) {
    throw new CliError('BAD_ARGUMENTS', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}
