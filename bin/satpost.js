#!/usr/bin/env node
// The `satpost` command. Runs the JavaScript that `npm run build` compiles into dist/ (run by
// `prepare`, so `npm install`/`npm ci` in a clone builds it): no TypeScript compiler at run
// time, so a command starts in tens of milliseconds.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('error [NOT_BUILT]: satpost is not built; run `npm run build` in the satpost checkout\n');
  process.exit(1);
}
await import('../dist/src/polyfills.js');
const cli = await import(main.href);
await cli.main(process.argv);
