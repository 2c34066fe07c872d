import type { Command } from 'commander';

// Placeholder wiring; the devnet service command is implemented in src/chain/devnet.
export function registerDevnetCommand(program: Command): void {
  program.command('devnet').description('run the embedded Bitcoin development chain (regtest rules)');
}
