/**
 * What to do next, per error code, appended to the error line a person reads (never to
 * --json output, where programs branch on the code).
 */
import { SatpostError } from '../core/errors.ts';
import { ClientError } from '../client/errors.ts';

const HINTS: Record<string, string> = {
  WRONG_PASSPHRASE: 'try again or set SATPOST_PASSPHRASE',
  PASSPHRASE_REQUIRED: 'set SATPOST_PASSPHRASE, or run the command in a terminal',
  PASSPHRASE_MISMATCH: 'run the command again and type the same passphrase twice',
  EMPTY_PASSPHRASE: 'choose a passphrase; it protects your keys',
  NOT_INITIALIZED: 'create your client with `satpost init`, or point --data-dir at your data directory',
  INIT_INCOMPLETE: 'run `satpost init` again',
  ALREADY_INITIALIZED: 'use it as it is, or choose another --data-dir',
  UNKNOWN_CONTACT: 'see `satpost contact list`, or add her with `satpost contact add NAME ADDRESS`',
  INVALID_ADDRESS: 'ask its owner for it again (copy and paste it rather than retyping)',
  INVALID_NAME: 'e.g. carol, carol.work or carol_2',
  BACKEND_UNAVAILABLE: 'is the chain server running? (for regtest: `satpost devnet`); choose another one with --chain URL',
  INSUFFICIENT_FUNDS: 'see `satpost wallet balance`; receive bitcoin at `satpost wallet address`',
};

export function hintFor(err: SatpostError): string | undefined {
  if (ClientError.is(err, 'CONTACT_KEY_CHANGED') && err.change) {
    return `compare the new fingerprint with ${err.change.contact}, then run \`satpost contact trust ${err.change.contact}\``;
  }
  return HINTS[err.code];
}
