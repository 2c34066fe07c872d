// Backup and restore (src/client/backup.ts, Client.restore): the address book sealed under the
// recovery phrase, brought back with the wallet on a new directory; a wrong phrase, a phrase that
// is not one, a damaged file: each a typed error, and no directory left behind. Real devnet,
// real SQLite, real scrypt and XChaCha20-Poly1305.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/index.ts';
import { generateMnemonic } from '../../src/wallet/keys.ts';
import { LIGHT_SCRYPT, rejectsWith, startChain, tempDir, type Chain } from './helpers.ts';

let chain: Chain;
let tmp: { dir: string; cleanup: () => void };
let alice: Client;
let phrase: string;
let file: Uint8Array;
const opened: Client[] = [];

const base = () => ({ network: 'regtest' as const, chainUrl: chain.url, relays: ['http://127.0.0.1:9'], scrypt: LIGHT_SCRYPT });
async function someone(name: string): Promise<string> {
  const { client } = await Client.init({ dir: join(tmp.dir, name), passphrase: name, ...base() });
  opened.push(client);
  return client.address();
}

before(async () => {
  tmp = tempDir('satpost-backup-');
  chain = await startChain();
  const made = await Client.init({ dir: join(tmp.dir, 'alice'), passphrase: 'alice pass', ...base() });
  alice = made.client;
  phrase = made.mnemonic;
  opened.push(alice);
  await alice.addContact('carol', await someone('carol'));
  await alice.addContact('Dave', await someone('dave'));
  // Dave gave a new address with another key: the change awaits trust when the backup is made.
  await assert.rejects(alice.updateContact('dave', await someone('dave-again')), rejectsWith('CONTACT_KEY_CHANGED'));
  chain.fund(alice.walletAddress(), 50_000);
  file = alice.exportAddressBook('alice pass');
});
after(async () => {
  for (const c of opened) await c.close();
  await chain?.close();
  tmp.cleanup();
});

test('round trip: a new directory from the recovery phrase and the file has the contacts, the pending key change and the coins', async () => {
  const { client, imported } = await Client.restore({ dir: join(tmp.dir, 'restored'), passphrase: 'new pass', mnemonic: ` ${phrase.toUpperCase()} `, addressBook: file, ...base() });
  opened.push(client);
  assert.deepEqual(imported, { added: ['carol', 'Dave'], skipped: [] });
  const view = (c: Client) => c.contacts().map((x) => ({ name: x.name, address: x.address, keyChange: x.keyChange }));
  assert.deepEqual(view(client), view(alice));
  assert.notEqual(client.contact('dave').keyChange, null, 'the key change is pending again');
  assert.notEqual(client.fingerprint(), alice.fingerprint(), 'a restored directory has a new identity key');
  assert.equal((await client.balance()).confirmed, 50_000);
  // Importing the same book again changes nothing: each contact exists already.
  const again = await client.importAddressBook(client.exportAddressBook('new pass'), 'new pass');
  assert.deepEqual(again.added, []);
  assert.deepEqual(again.skipped.map((s) => [s.name, s.code]), [['carol', 'CONTACT_EXISTS'], ['Dave', 'CONTACT_EXISTS']]);
});

test('a wrong recovery phrase: WRONG_RECOVERY_PHRASE, and nothing created', async () => {
  const dir = join(tmp.dir, 'wrong-phrase');
  const other = generateMnemonic((n) => new Uint8Array(randomBytes(n)));
  await assert.rejects(Client.restore({ dir, passphrase: 'p', mnemonic: other, addressBook: file, ...base() }), rejectsWith('WRONG_RECOVERY_PHRASE'));
  assert.equal(existsSync(join(dir, 'config.json')), false);
  await assert.rejects(Client.restore({ dir, passphrase: 'p', mnemonic: 'these are not twelve words of any recovery phrase at all ok', addressBook: file, ...base() }), rejectsWith('BAD_RECOVERY_PHRASE'));
  await assert.rejects(Client.init({ dir, passphrase: 'p', mnemonic: `${phrase.split(' ').slice(0, 11).join(' ')} abandon`, ...base() }), rejectsWith('BAD_RECOVERY_PHRASE'));
  assert.equal(existsSync(join(dir, 'config.json')), false);
  // The wrong passphrase cannot export (it unseals the phrase).
  assert.throws(() => alice.exportAddressBook('not alice'), rejectsWith('WRONG_PASSPHRASE'));
});

test('a damaged file: BAD_BACKUP (not a book, cut short, bad parameters), WRONG_RECOVERY_PHRASE (a changed byte fails the AEAD)', async () => {
  const dir = join(tmp.dir, 'damaged');
  const restore = (f: Uint8Array) => Client.restore({ dir, passphrase: 'p', mnemonic: phrase, addressBook: f, ...base() });
  await assert.rejects(restore(new Uint8Array(randomBytes(200))), rejectsWith('BAD_BACKUP'));
  await assert.rejects(restore(file.subarray(0, 40)), rejectsWith('BAD_BACKUP'));
  const params = Uint8Array.from(file);
  params[22] = 40; // log2N far outside what sealSecret writes
  await assert.rejects(restore(params), rejectsWith('BAD_BACKUP'));
  const flipped = Uint8Array.from(file);
  flipped[flipped.length - 5]! ^= 1;
  await assert.rejects(restore(flipped), rejectsWith('WRONG_RECOVERY_PHRASE'));
  assert.equal(existsSync(join(dir, 'config.json')), false);
});
