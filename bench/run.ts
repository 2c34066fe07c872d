// npm run bench [-- name...]: runs every bench/*.bench.ts (or those whose name matches).
import '../src/polyfills.ts';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Benchmark, type BenchFile, type Figure, formatTable, machine, writeResult } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts'));
// A filter that names a bench exactly runs only that one ('e2e' is not also 'channel-e2e').
const matches = (f: string, x: string): boolean => (all.includes(`${x}.bench.ts`) ? f === `${x}.bench.ts` : f.includes(x));
const files = all.filter((f) => filters.length === 0 || filters.some((x) => matches(f, x))).sort();

let failed = 0;
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { bench: Benchmark };
  const b = mod.bench;
  const figures: Figure[] = [];
  const t0 = performance.now();
  process.stderr.write(`running ${b.name} ...\n`);
  try {
    await b.run(
      (fig) => figures.push(fig),
      (msg) => process.stderr.write(`  ${b.name}: ${msg}\n`),
    );
  } catch (err) {
    failed++;
    process.stderr.write(`  ${b.name} FAILED: ${(err as Error).stack ?? String(err)}\n`);
    continue;
  }
  const result: BenchFile = {
    name: b.name,
    description: b.description,
    date: new Date().toISOString(),
    machine: machine(),
    figures,
    durationMs: Math.round(performance.now() - t0),
  };
  const path = writeResult(join(here, 'results'), result);
  console.log(formatTable(result));
  console.log(`(written to ${path})\n`);
}
process.exit(failed ? 1 : 0);
