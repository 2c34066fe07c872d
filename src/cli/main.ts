/**
 * `satpost` command line. Each command group lives in its own module and registers
 * itself on the program; this file only wires them and turns typed errors into a
 * clear message and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { SatpostError } from '../core/errors.ts';
import { registerDevnetCommand } from './devnet.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('satpost')
    .description(
      'End-to-end encrypted store-and-forward messaging, relayed by servers that are paid in Bitcoin on delivery.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDevnetCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
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

export function reportError(err: unknown, json: boolean): void {
  if (err instanceof SatpostError) {
    if (json) process.stdout.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    else process.stderr.write(`error [${err.code}]: ${err.message}\n`);
  } else {
    const e = err as Error;
    if (json) process.stdout.write(JSON.stringify({ error: { code: 'INTERNAL', message: String(e?.message ?? e) } }) + '\n');
    else process.stderr.write(`error: ${e?.stack ?? String(e)}\n`);
  }
}
