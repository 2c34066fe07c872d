/** Errors of the command line itself (what the user gave it), as opposed to the SDK's. */
import { SatpostError } from '../core/errors.ts';

export type CliErrorCode =
  /** No SATPOST_PASSPHRASE and no terminal to ask on. */
  | 'PASSPHRASE_REQUIRED'
  /** init --restore: no SATPOST_RECOVERY_PHRASE and no terminal to ask on. */
  | 'RECOVERY_PHRASE_REQUIRED'
  /** init: the two passphrases typed differ. */
  | 'PASSPHRASE_MISMATCH'
  /** The passphrase prompt was cancelled (Ctrl-C / Ctrl-D). */
  | 'CANCELLED'
  /** An environment variable holds an unusable value. */
  | 'BAD_ENV'
  /** SATPOST_SCRYPT_LOG2N (weak test-only key derivation) set for a network other than regtest. */
  | 'WEAK_SCRYPT_REFUSED'
  /** The arguments contradict each other or name an unreadable file. */
  | 'BAD_ARGUMENTS'
  /** The unlock agent's socket is not safely this user's (owner, mode, directory): not used. */
  | 'AGENT_UNSAFE'
  /** The agent behind this directory's agent.sock serves another data directory (a moved or linked socket): not used. */
  | 'AGENT_WRONG_DIR'
  /** `satpost unlock` could not start its agent (e.g. one already runs). */
  | 'AGENT_FAILED'
  /** `relay wallet`: the directory holds no relay wallet (the relay never started there). */
  | 'NOT_RELAY_DATA_DIR';

export class CliError extends SatpostError<CliErrorCode> {}
