/**
 * `satpost` command line. Each command group lives in its own module and registers
 * itself on the program; this file only wires them and turns typed errors into a
 * clear message (with what to do next) and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { SatpostError } from '../core/errors.ts';
import { registerAddressCommand } from './address.ts';
import { registerAppCommand } from './app.ts';
import { registerChannelCommands } from './channel.ts';
import { registerContactCommands } from './contact.ts';
import { registerDevnetCommand } from './devnet.ts';
import { hintFor } from './hints.ts';
import { registerInitCommand } from './init.ts';
import { registerMessageCommands } from './messages.ts';
import { registerProofCommand } from './proof.ts';
import { registerRelayCommand } from './relay.ts';
import { registerRelaysCommand } from './relays.ts';
import { registerUnlockCommands } from './unlock.ts';
import { registerWalletCommands } from './wallet.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('satpost')
    .description(
      'End-to-end encrypted store-and-forward messaging, relayed by servers that are paid in Bitcoin on delivery.',
    )
    .version('0.2.0')
    .showHelpAfterError('(run with --help for usage)')
    // Options after a command name belong to that command (`relay --port` vs `relay wallet --data-dir`).
    .enablePositionalOptions()
    .exitOverride();
  registerInitCommand(program);
  registerAddressCommand(program);
  registerContactCommands(program);
  registerWalletCommands(program);
  registerMessageCommands(program);
  registerProofCommand(program);
  registerChannelCommands(program);
  registerDevnetCommand(program);
  registerRelayCommand(program);
  registerRelaysCommand(program);
  registerUnlockCommands(program);
  registerAppCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // Tests only: how many scrypt derivations the command ran (proves an unlocked one runs none).
  // Loaded only then: the public commands must not pay for the scrypt code.
  if (process.env.SATPOST_TEST_SCRYPT_COUNT === '1') {
    const { scryptDerivations } = await import('../core/secretbox.ts');
    process.once('exit', () => process.stderr.write(`scrypt derivations: ${scryptDerivations()}\n`));
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    reportError(err, argv.includes('--json'));
    process.exitCode = 1;
  }
}

/** --json: {"error":{"code","message"}} on stdout (plus `reason`/`change` when the error has them); else one line on stderr. */
export function reportError(err: unknown, json: boolean): void {
  if (err instanceof SatpostError) {
    if (json) {
      const { name: _name, ...fields } = err.toJSON() as { name: string; code: string; message: string };
      process.stdout.write(JSON.stringify({ error: fields }) + '\n');
    } else {
      const hint = hintFor(err);
      process.stderr.write(`error [${err.code}]: ${err.message}${hint ? `; ${hint}` : ''}\n`);
    }
  } else {
    const e = err as Error;
    if (json) process.stdout.write(JSON.stringify({ error: { code: 'INTERNAL', message: String(e?.message ?? e) } }) + '\n');
    else process.stderr.write(`error: ${e?.stack ?? String(e)}\n`);
  }
}
