// The CLI's environment handling, without spawning: passphrase sources and the test-only scrypt knob.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CliError } from '../../src/cli/errors.ts';
import { scryptFromEnv } from '../../src/cli/context.ts';
import { getPassphrase } from '../../src/cli/passphrase.ts';
import { hintFor } from '../../src/cli/hints.ts';
import { ClientError } from '../../src/client/errors.ts';

it('SATPOST_SCRYPT_LOG2N gives light scrypt parameters, refusing values below 10 or non-integers', () => {
  assert.equal(scryptFromEnv({}), undefined);
  assert.deepEqual(scryptFromEnv({ SATPOST_SCRYPT_LOG2N: '10' }), { log2N: 10, r: 8, p: 1 });
  for (const bad of ['9', '23', '12.5', 'ten']) {
    assert.throws(() => scryptFromEnv({ SATPOST_SCRYPT_LOG2N: bad }), (e: unknown) => CliError.is(e, 'BAD_ENV') && e.message.includes(JSON.stringify(bad)));
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
