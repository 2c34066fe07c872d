/**
 * What to do next, per error code, appended to the error line a person reads (never to
 * --json output, where programs branch on the code).
 */
import { SatpostError } from '../core/errors.ts';
import { ClientError } from '../client/errors.ts';

const HINTS: Record<string, string> = {
  WRONG_PASSPHRASE: 'try again or set SATPOST_PASSPHRASE',
  PASSPHRASE_REQUIRED: 'set SATPOST_PASSPHRASE, or run the command in a terminal',
  RECOVERY_PHRASE_REQUIRED: 'set SATPOST_RECOVERY_PHRASE, or run the command in a terminal',
  BAD_RECOVERY_PHRASE: 'type the 12 or 24 words you wrote down at `satpost init`, in order, separated by spaces',
  WRONG_RECOVERY_PHRASE: 'the file was exported by a wallet of another recovery phrase (or changed since): check the words, or use that wallet\'s file',
  BAD_BACKUP: 'give the file that `satpost contact export` wrote, unchanged',
  PASSPHRASE_MISMATCH: 'run the command again and type the same passphrase twice',
  EMPTY_PASSPHRASE: 'choose a passphrase; it protects your keys',
  NOT_INITIALIZED: 'create your client with `satpost init`, or point --data-dir at your data directory',
  WAIT_TIMEOUT: 'is the relay running? nothing is lost: run the same `satpost read` later (or raise --wait)',
  RELAY_DATA_DIR: 'a relay\'s wallet is `satpost relay wallet balance|address|send|history|recovery --data-dir DIR`',
  NOT_RELAY_DATA_DIR: 'give the --data-dir the relay runs with (`satpost relay --data-dir DIR`), after it started once',
  INIT_INCOMPLETE: 'run `satpost init` again',
  ALREADY_INITIALIZED: 'use it as it is, or choose another --data-dir',
  UNKNOWN_CONTACT: 'see `satpost contact list`, or add her with `satpost contact add NAME ADDRESS`',
  INVALID_ADDRESS: 'ask its owner for it again (copy and paste it rather than retyping)',
  INVALID_NAME: 'e.g. carol, carol.work or carol_2',
  BACKEND_UNAVAILABLE: 'is the chain server running? (for regtest: `satpost devnet`); choose another one with --chain URL',
  INSUFFICIENT_FUNDS: 'see `satpost wallet balance`; receive bitcoin at `satpost wallet address`',
  NO_ACCEPTABLE_QUOTE: 'raise --max-fee (or shorten --retention-days), or try again later',
  PRICE_TOO_HIGH: 'to read it anyway, pass --max-price with at least its price',
  UNKNOWN_SENDER: 'add the sender with `satpost contact add NAME ADDRESS` if you know her, or pass --pay-unknown to pay anyway',
  RELAY_UNREACHABLE: 'is the relay running? check the URL (`satpost relays list`, `satpost contact show NAME`)',
  INSECURE_RELAY_URL: 'use the relay\'s https:// URL (plain http only on regtest, or to a .onion relay with --proxy)',
  INSECURE_CHAIN_URL: 'use an https:// chain URL with --chain (plain http only on regtest, or to a .onion server with --proxy)',
  BAD_PROXY_URL: 'e.g. --proxy socks5h://127.0.0.1:9050 for a local Tor',
  NO_RELAYS: 'add one with `satpost relays add URL`',
  LAST_RELAY: 'add the new relay first (`satpost relays add URL`), then remove this one',
  UNKNOWN_RELAY: 'see `satpost relays list`',
  RELAY_EXISTS: 'see `satpost relays list`',
  NO_BUNDLE: 'ask her to run `satpost publish`, then send again',
  MESSAGE_NOT_FOUND: 'run `satpost inbox` to list your messages',
  MESSAGE_EXPIRED: 'ask the sender to send it again',
  RELAY_FRAUD: 'anyone can check the proof with `satpost verify-proof FILE`; ask the sender to send it again',
  MESSAGE_CORRUPT: 'nothing was paid; ask the sender to send it again',
  MALFORMED_PROOF: 'give the .json file that `satpost read` saved under fraud-proofs/ in the data directory',
  BAD_ARGUMENTS: 'see the command\'s --help',
  AGENT_UNSAFE: 'remove that file if you did not make it, then run `satpost unlock` again',
  AGENT_WRONG_DIR: 'remove that agent.sock (its agent holds the keys of another directory), then run `satpost unlock` here',
  CHANNEL_TERMS: 'see the relay\'s terms in its /.well-known/satpost "channels", or `satpost channel open --help`',
  CHANNELS_UNAVAILABLE: 'this relay takes no payment channels; messages to it are paid on chain',
  UNKNOWN_CHANNEL: 'see `satpost channel list`',
  IN_FLIGHT_NOT_EMPTY: 'close once the messages paid in it are read, or after their HTLCs expire (`satpost channel list` fails them back)',
};

export function hintFor(err: SatpostError): string | undefined {
  if (ClientError.is(err, 'CONTACT_KEY_CHANGED') && err.change) {
    return `compare the new fingerprint with ${err.change.contact}, then run \`satpost contact trust ${err.change.contact}\``;
  }
  return HINTS[err.code];
}
