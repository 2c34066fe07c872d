// `satpost contact export|import` and `satpost init --restore --address-book`, as a user runs
// them (processes): the address book sealed under the recovery phrase and brought back on a new
// directory; a wrong passphrase, a wrong or malformed phrase, a damaged file, a file that exists:
// each its code and exit 1, and nothing created. No chain or relay is reached (none is needed).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { baseEnv, json, run } from './helpers.ts';

const CHAIN = 'http://127.0.0.1:9';
const WRONG_PHRASE = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

describe('address book backup (processes)', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'satpost-cli-backup-'));
  const as = (dir: string, args: string[], extra: Record<string, string | undefined> = {}) =>
    run([...args, '--data-dir', join(root, dir)], baseEnv({ SATPOST_PASSPHRASE: `${dir} pw`, ...extra }));
  const code = (r: { code: number | null; stdout: string }) => ({ exit: r.code, code: (JSON.parse(r.stdout) as { error: { code: string } }).error.code });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('export, restore with the phrase and the file, import again; bad inputs refused', async () => {
    const [alice, carol] = await Promise.all([
      as('alice', ['init', '--chain', CHAIN, '--json']).then((r) => json<{ mnemonic: string }>(r)),
      as('carol', ['init', '--chain', CHAIN, '--json']).then((r) => json<{ address: string }>(r)),
    ]);
    json(await as('alice', ['contact', 'add', 'carol', carol.address, '--json']));
    const book = join(root, 'alice.book');
    assert.deepEqual(json(await as('alice', ['contact', 'export', book, '--json'])), { file: book, contacts: 1 });
    assert.deepEqual(code(await as('alice', ['contact', 'export', book, '--json'])), { exit: 1, code: 'BAD_ARGUMENTS' }, 'an existing file is not overwritten');
    assert.deepEqual(code(await as('alice', ['contact', 'export', join(root, 'x.book'), '--json'], { SATPOST_PASSPHRASE: 'not alice' })), { exit: 1, code: 'WRONG_PASSPHRASE' });
    assert.equal(existsSync(join(root, 'x.book')), false);

    const restore = (dir: string, extra: Record<string, string | undefined>, file = book) => as(dir, ['init', '--restore', '--address-book', file, '--chain', CHAIN, '--json'], extra);
    assert.deepEqual(code(await restore('r1', { SATPOST_RECOVERY_PHRASE: WRONG_PHRASE })), { exit: 1, code: 'WRONG_RECOVERY_PHRASE' });
    assert.deepEqual(code(await restore('r1', { SATPOST_RECOVERY_PHRASE: 'twelve words that are not a phrase' })), { exit: 1, code: 'BAD_RECOVERY_PHRASE' });
    assert.deepEqual(code(await restore('r1', {})), { exit: 1, code: 'RECOVERY_PHRASE_REQUIRED' });
    const damaged = join(root, 'damaged.book');
    writeFileSync(damaged, readFileSync(book).subarray(0, 30));
    assert.deepEqual(code(await restore('r1', { SATPOST_RECOVERY_PHRASE: alice.mnemonic }, damaged)), { exit: 1, code: 'BAD_BACKUP' });
    assert.equal(existsSync(join(root, 'r1', 'config.json')), false, 'nothing created by a refused restore');

    const restored = json<{ restored: boolean; mnemonic?: string; imported: { added: string[]; skipped: unknown[] } }>(await restore('r1', { SATPOST_RECOVERY_PHRASE: alice.mnemonic }));
    assert.equal(restored.restored, true);
    assert.equal(restored.mnemonic, undefined, 'the phrase is not printed back');
    assert.deepEqual(restored.imported, { added: ['carol'], skipped: [] });
    const list = json<{ contacts: { name: string; address: string }[] }>(await as('r1', ['contact', 'list', '--json']));
    assert.deepEqual(list.contacts.map((c) => [c.name, c.address]), [['carol', carol.address]]);

    const again = await as('r1', ['contact', 'import', book]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^added 0 contact\(s\)\nskipped carol: a contact named "carol" already exists/);
  });
});
