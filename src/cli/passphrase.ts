/**
 * Where the CLI gets the passphrase: $SATPOST_PASSPHRASE, else a prompt on the terminal that
 * does not echo what is typed (init asks twice). Without either, PASSPHRASE_REQUIRED: a
 * script must set the variable rather than hang on a prompt nobody sees.
 */
import type { ReadStream } from 'node:tty';
import { CliError } from './errors.ts';

export interface PassphraseSource {
  env: NodeJS.ProcessEnv;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where prompts go (stderr: stdout is for the command's output). */
  output: NodeJS.WritableStream;
}

export async function getPassphrase(dir: string, opts: { confirm: boolean }, src: PassphraseSource): Promise<string> {
  const fromEnv = src.env.SATPOST_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (!src.input.isTTY) {
    throw new CliError('PASSPHRASE_REQUIRED', `a passphrase for ${dir} is needed and there is no terminal to ask for it on`);
  }
  const tty = src.input as ReadStream;
  const first = await readHidden(tty, src.output, opts.confirm ? `new passphrase for ${dir}: ` : `passphrase for ${dir}: `);
  if (!opts.confirm) return first;
  const second = await readHidden(tty, src.output, 'repeat the passphrase: ');
  if (first !== second) throw new CliError('PASSPHRASE_MISMATCH', 'the two passphrases differ');
  return first;
}

/** init --restore: $SATPOST_RECOVERY_PHRASE, else a prompt that does not echo it (RECOVERY_PHRASE_REQUIRED without either). */
export async function getRecoveryPhrase(src: PassphraseSource): Promise<string> {
  const fromEnv = src.env.SATPOST_RECOVERY_PHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (!src.input.isTTY) throw new CliError('RECOVERY_PHRASE_REQUIRED', 'restoring needs the recovery phrase and there is no terminal to ask for it on: set SATPOST_RECOVERY_PHRASE');
  return readHidden(src.input as ReadStream, src.output, 'recovery phrase (the 12 or 24 words, separated by spaces): ');
}

/** Reads one line in raw mode, echoing nothing; backspace edits, Ctrl-C/Ctrl-D cancel. */
function readHidden(input: ReadStream, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  // Echo goes off before the prompt appears: input typed the moment it shows is never echoed.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err: CliError | null) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) return finish(new CliError('CANCELLED', 'cancelled at the passphrase prompt'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    input.on('data', onData);
  });
}
