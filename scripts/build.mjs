#!/usr/bin/env node
// Compiles src/ to dist/src/ (what bin/satpost.js runs) without type-checking: `npm run
// typecheck` checks types; this only has to be fast. Files tsc does not emit (the .mjs
// worker) are copied next to the compiled modules that load them by URL.
// `--if-stale` skips the build when dist/ is newer than every source file (run-tests.mjs).
import { cpSync, existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const stamp = join(root, 'dist', '.built');

function newestSource(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestSource(p) : st.mtimeMs);
  }
  return newest;
}

const inputs = () => Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'web')), statSync(join(root, 'tsconfig.json')).mtimeMs, statSync(join(root, 'tsconfig.build.json')).mtimeMs);

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= inputs()) process.exit(0);

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const started = new Date();
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

function copyOthers(from, to) {
  for (const name of readdirSync(from)) {
    const p = join(from, name);
    if (statSync(p).isDirectory()) copyOthers(p, join(to, name));
    else if (!name.endsWith('.ts')) cpSync(p, join(to, name));
  }
}
copyOthers(join(root, 'src'), join(root, 'dist', 'src'));
// The browser app's front end (web/, Preact): one minified bundle, the page and its style in
// dist/web, where `satpost app` serves them from. Built here, never committed.
const { build } = await import('esbuild');
const web = join(root, 'dist', 'web');
await build({
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  outfile: join(web, 'app.js'),
  logLevel: 'warning',
});
for (const name of ['index.html', 'style.css']) cpSync(join(root, 'web', name), join(web, name));
// The stamp carries the build's start time: a source saved during the build is newer, so
// the next --if-stale run builds again.
writeFileSync(stamp, '');
utimesSync(stamp, started, started);

