/**
 * `npm run demo`: the whole satpost story on the embedded chain, narrated on stdout, in a
 * temporary directory removed afterwards. Exit 0 when every promise of the protocol held;
 * otherwise exit 1 with the reason (the typed error's code and message) on stderr.
 */
import '../polyfills.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SatpostError } from '../core/errors.ts';
import { runDemo } from './run.ts';

export { runDemo } from './run.ts';
export type { DemoOptions, DemoResult, Accounting } from './run.ts';

/** Overrides act 3's message count (default 1,000): `SATPOST_DEMO_CHANNEL_MESSAGES=50 npm run demo`. */
export const CHANNEL_MESSAGES_ENV = 'SATPOST_DEMO_CHANNEL_MESSAGES';

export async function main(): Promise<number> {
  let dir: string | undefined;
  const started = performance.now();
  try {
    const raw = process.env[CHANNEL_MESSAGES_ENV];
    const channelMessages = raw === undefined || raw === '' ? undefined : /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
    dir = mkdtempSync(join(tmpdir(), 'satpost-demo-'));
    await runDemo({ out: (line) => process.stdout.write(`${line}\n`), dir, ...(channelMessages !== undefined ? { channelMessages } : {}) });
    process.stdout.write(`demo complete in ${((performance.now() - started) / 1000).toFixed(1)} s; removed ${dir}\n`);
    return 0;
  } catch (err) {
    const reason = err instanceof SatpostError ? `${err.name} [${err.code}]: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`demo failed: ${reason}\n`);
    return 1;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = await main();
}
