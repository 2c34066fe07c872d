#!/usr/bin/env node
// The `satpost` command. Runs the bundle that `npm run build` makes in dist/cli/ (run by
// `prepare`, so `npm install`/`npm ci` in a clone builds it; see scripts/build.mjs): no
// TypeScript compiler at run time, and a few files to load rather than hundreds.
// First the fast path (dist/cli/fast.js, src/cli/fast.ts): --version, --help and `address`
// answered without loading the CLI, with the bytes the CLI prints; anything else runs the CLI.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error [NOT_BUILT]: satpost is not built; run `npm run build` in the satpost checkout\n');
  process.exit(1);
}
const fast = await import('../dist/cli/fast.js');
if (!(await fast.answerFast(process.argv.slice(2), process.env, process.stdout))) {
  await import('../dist/cli/polyfills.js');
  const cli = await import(main.href);
  await cli.main(process.argv);
}
