#!/usr/bin/env node
// Finds every test/**/*.test.ts and runs them with Node's own test runner under tsx.
// (Node 20's --test takes no glob patterns, so the list is built here.)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = find('test');
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The tests run the sources under tsx, but test/cli spawns bin/satpost.js, which runs dist/:
// build it here, once, before any test starts (a build inside a test helper would race
// between test files running in parallel), and only when a source is newer than the build.
const built = spawnSync(process.execPath, [join(import.meta.dirname, 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (built.status !== 0) {
  console.error('build failed: the CLI tests would run stale code');
  process.exit(1);
}
// The SOCKS5 tests need a real proxy: say how to get it, and fail, rather than skip them.
if (files.some((f) => f.includes('proxy.test')) && spawnSync('sh', ['-c', 'command -v microsocks']).status !== 0) {
  console.error('microsocks is missing (test/client/proxy.test.ts needs a real SOCKS5 proxy): install it with `sudo apt-get install -y microsocks`');
  process.exit(1);
}
// The app's browser tests drive Debian's Chromium: say how to get it, and fail, rather than skip them.
if (files.some((f) => f.startsWith(join('test', 'app'))) && !existsSync(process.env.SATPOST_CHROMIUM ?? '/usr/bin/chromium')) {
  console.error('chromium is missing (test/app/ runs the app in a real browser): install it with `sudo apt-get install -y chromium`');
  process.exit(1);
}
const concurrency = process.env.SATPOST_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', './test/setup.ts', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
