// The CLI's environment handling, without spawning: passphrase sources and the test-only scrypt knob.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CliError } from '../../src/cli/errors.ts';
import { scryptFromEnv } from '../../src/cli/context.ts';
import { getPassphrase } from '../../src/cli/passphrase.ts';
import { hintFor } from '../../src/cli/hints.ts';
import { ClientError } from '../../src/client/errors.ts';
import { baseEnv, run } from './helpers.ts';

it('SATPOST_SCRYPT_LOG2N gives light scrypt parameters on regtest, refusing values below 10 or non-integers', () => {
  assert.equal(scryptFromEnv({}, 'regtest'), undefined);
  assert.deepEqual(scryptFromEnv({ SATPOST_SCRYPT_LOG2N: '10' }, 'regtest'), { log2N: 10, r: 8, p: 1 });
  for (const bad of ['9', '23', '12.5', 'ten']) {
    assert.throws(() => scryptFromEnv({ SATPOST_SCRYPT_LOG2N: bad }, 'regtest'), (e: unknown) => CliError.is(e, 'BAD_ENV') && e.message.includes(JSON.stringify(bad)));
  }
});

it('weakening a mainnet, testnet or signet identity with SATPOST_SCRYPT_LOG2N is refused', async () => {
  for (const network of ['mainnet', 'testnet', 'signet'] as const) {
    assert.equal(scryptFromEnv({}, network), undefined, 'without the variable the default cost applies');
    assert.throws(() => scryptFromEnv({ SATPOST_SCRYPT_LOG2N: '10' }, network), (e: unknown) => CliError.is(e, 'WEAK_SCRYPT_REFUSED'));
  }
  // The production CLI, as a process: `init --network mainnet` with the variable set creates nothing.
  const dir = mkdtempSync(join(tmpdir(), 'satpost-scrypt-'));
  try {
    const dataDir = join(dir, 'data');
    const r = await run(['init', '--network', 'mainnet', '--data-dir', dataDir, '--json'], baseEnv({ SATPOST_PASSPHRASE: 'pw' }));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'WEAK_SCRYPT_REFUSED');
    assert.equal(existsSync(join(dataDir, 'identity.sqlite')), false, 'no identity was sealed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the passphrase comes from SATPOST_PASSPHRASE, else a terminal, else PASSPHRASE_REQUIRED', async () => {
  const notATerminal = new PassThrough();
  const output = new PassThrough();
  assert.equal(await getPassphrase('/d', { confirm: true }, { env: { SATPOST_PASSPHRASE: 'from env' }, input: notATerminal, output }), 'from env');
  await assert.rejects(getPassphrase('/d', { confirm: false }, { env: {}, input: notATerminal, output }), (e: unknown) => CliError.is(e, 'PASSPHRASE_REQUIRED'));
  assert.equal(output.read(), null, 'nothing was prompted');
});

it('hints tell a person what to do next, naming the contact whose key changed', () => {
  const changed = new ClientError('CONTACT_KEY_CHANGED', 'changed');
  changed.change = { contact: 'carol', trustedFingerprint: 'a', newFingerprint: 'b' };
  assert.equal(hintFor(changed), 'compare the new fingerprint with carol, then run `satpost contact trust carol`');
  assert.equal(hintFor(new ClientError('WRONG_PASSPHRASE', 'x')), 'try again or set SATPOST_PASSPHRASE');
  assert.equal(hintFor(new ClientError('CLIENT_CLOSED', 'x')), undefined);
});

it('read takes --no-channel (recipient-pays on chain even with a usable channel), as send does', async () => {
  for (const cmd of ['read', 'send']) {
    const r = await run([cmd, '--help'], baseEnv({}));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--no-channel/, `${cmd} --help`);
  }
});
