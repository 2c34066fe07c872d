/** `npm start`: runs the playground (./playground.ts) until Ctrl-C, in a fresh directory it removes on exit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlayground } from './playground.ts';
import { userPassphrase } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'satpost-playground-'));
const p = await startPlayground({ dir, preset: true, ports: [Number(process.env.SATPOST_ALICE_PORT ?? 0), Number(process.env.SATPOST_CAROL_PORT ?? 0)] });
process.stdout.write(
  [
    'satpost playground: a devnet (a block after every transaction), one relay and two people',
    `  devnet ${p.chainUrl}   relay ${p.relayUrl}`,
    '',
    `  Alice: ${p.alice.url}`,
    `  Carol: ${p.carol.url}`,
    '',
    `Open each link in its own tab (each carries its own access token). Both are unlocked, funded and know each other;`,
    `after a lock their passphrases are "${userPassphrase('Alice')}" and "${userPassphrase('Carol')}".`,
    'Stop with Ctrl-C (everything here is thrown away).',
    '',
  ].join('\n'),
);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void p.close().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write('playground stopped\n');
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
