#!/usr/bin/env node
// Builds what bin/satpost.js runs: src/ bundled by esbuild into dist/cli/ (no type-checking
// here: `npm run typecheck` checks types; this only has to be fast). Why a bundle: Node 20 has
// no compile cache, and resolving, reading and linking ~300 ES module files cost a command more
// than its own work (a client command loaded 317 of them); the bundle is a few dozen files.
// - `main` and `polyfills` are the entry points; every `await import()` in the sources starts a
//   chunk of its own (splitting), so a command loads only what it runs. (--version, --help and
//   `address` do not even load main: see the fast path below.)
// - The pure-JavaScript ES module libraries (@noble/*, @scure/*, commander) are bundled in.
// - Native addons and CommonJS packages (SQLite, ws, bitcore-lib) stay in node_modules and are
//   loaded with require() as they are written (importing CommonJS from an ES module makes Node
//   lex the package's files for their export names first).
// - libsignal (ES modules over a native addon) is loaded on first use, not when a module naming
//   it loads: each of its exports is a getter that require()s it (Node >= 20.19 requires ES
//   modules). A command that decrypts nothing (contact list, inbox with nothing new) never
//   loads it; src/identity/stores.ts and identity.ts take care not to touch it at load. Its
//   JavaScript is bundled into one file, libsignal.js (an entry point of its own): loaded from
//   node_modules, its ~50 files cost a send about 100 ms of module resolution and linking,
//   the native addon itself (still loaded from node_modules, as the package finds it) ~10 ms.
// - The relay's server libraries (libp2p, fastify, pino, prom-client) stay in node_modules as
//   ES modules: only the long-running `relay` and `devnet` load them.
// - The relay's seal worker is a third entry point (sealer.ts finds seal-worker.js next to
//   itself); the SQLite commit worker (plain .mjs, loaded by URL) is copied next to the chunks.
// - The fast path (src/cli/fast.ts): what bin/satpost.js loads first, to answer --version,
//   --help and `address` without the CLI. A build of its own, in two files (fast.js, and
//   fast-address-*.js for `address`), sharing no chunk with the CLI: each file Node's module
//   loader resolves and links costs about a millisecond. scripts/fast-answers.mjs then records
//   the help and version texts it prints from the built program itself (fast-answers.json).
// `--if-stale` skips the build when dist/ is newer than every source file (run-tests.mjs).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'cli');
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

const inputs = () =>
  Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'web')), ...['tsconfig.json', 'scripts/build.mjs', 'scripts/fast-answers.mjs', 'package.json'].map((f) => statSync(join(root, f)).mtimeMs));

if (process.argv.includes('--if-stale') && existsSync(stamp) && existsSync(join(out, 'main.js')) && statSync(stamp).mtimeMs >= inputs()) process.exit(0);

/** CommonJS packages: loaded with the chunk's own require() (see above), never bundled. */
const REQUIRED = ['better-sqlite3-multiple-ciphers', 'ws', 'bitcore-lib'];
/** Loaded on first use of one of its exports (see above), from the bundle of it, dist/cli/libsignal.js. */
const LAZY = '@signalapp/libsignal-client';
const LAZY_BUNDLE = './libsignal.js';
/** ES module packages only the relay and the devnet load: imported from node_modules. */
const SERVER_ONLY = ['libp2p', '@libp2p/*', '@chainsafe/*', '@multiformats/*', 'fastify', 'pino', 'prom-client', 'tsx', 'tsx/*'];

/** `import { X } from 'ws'` becomes `require('ws').X`: the package is read as CommonJS, as it is written. */
const requireCommonJs = {
  name: 'require-commonjs',
  setup(build) {
    const filter = new RegExp(`^(${REQUIRED.map((p) => p.replace(/[/.-]/g, '\\$&')).join('|')})(/.*)?$`);
    build.onResolve({ filter }, (args) => (args.namespace === 'required' ? { path: args.path, external: true } : { path: args.path, namespace: 'required' }));
    build.onLoad({ filter: /.*/, namespace: 'required' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** `import { PublicKey } from LAZY`: PublicKey is a getter that loads LAZY (its bundle) when first read. */
const lazyLibsignal = {
  name: 'lazy-libsignal',
  async setup(build) {
    const names = Object.keys(await import(LAZY)).filter((n) => n !== 'default');
    const filter = new RegExp(`^${LAZY.replace(/[/.-]/g, '\\$&')}$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy' }));
    build.onResolve({ filter: /^\.\/libsignal\.js$/, namespace: 'lazy' }, (args) => ({ path: args.path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: [
        'let loaded;',
        // Every chunk's require() resolves from dist/cli/, where libsignal.js is.
        `const load = () => (loaded ??= require(${JSON.stringify(LAZY_BUNDLE)}));`,
        `module.exports = Object.defineProperties({}, {${names.map((n) => `${JSON.stringify(n)}: { enumerable: true, get: () => load()[${JSON.stringify(n)}] }`).join(', ')}});`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * libsignal's Native.js finds its addon from its own directory (`import.meta.dirname`); bundled,
 * that would be dist/cli/. It is given the package's directory in node_modules instead.
 */
const libsignalAddonFromPackage = {
  name: 'libsignal-addon-from-package',
  setup(build) {
    build.onLoad({ filter: /libsignal-client[\\/]dist[\\/]Native\.js$/ }, async (args) => {
      const { readFileSync } = await import('node:fs');
      const source = readFileSync(args.path, 'utf8');
      const from = 'load(`${import.meta.dirname}/../`)';
      if (!source.includes(from)) throw new Error(`${args.path} no longer loads its addon with ${from}: update scripts/build.mjs`);
      const packageDir = `require('node:path').dirname(require.resolve(${JSON.stringify(`${LAZY}/package.json`)})) + '/'`;
      return { contents: source.replace(from, `load(${packageDir})`), loader: 'js' };
    });
  },
};

const { build } = await import('esbuild');
const started = new Date();
rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// What both bundles (the CLI, and the fast path that answers without it) are built with.
const esm = {
  absWorkingDir: root,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
};
await build({
  ...esm,
  entryPoints: [
    { in: 'src/cli/main.ts', out: 'main' },
    { in: 'src/polyfills.ts', out: 'polyfills' },
    { in: 'src/relay/seal-worker.ts', out: 'seal-worker' },
    { in: fileURLToPath(import.meta.resolve(LAZY)), out: 'libsignal' },
  ],
  external: SERVER_ONLY,
  plugins: [requireCommonJs, lazyLibsignal, libsignalAddonFromPackage],
  // Every chunk gets a require() of its own, for the packages above and the CommonJS code bundled in (commander).
  banner: { js: "import { createRequire as __satpostCreateRequire } from 'node:module'; const require = __satpostCreateRequire(import.meta.url);" },
});
cpSync(join(root, 'src', 'identity', 'commit-worker.mjs'), join(out, 'commit-worker.mjs'));
await build({ ...esm, entryPoints: [{ in: 'src/cli/fast.ts', out: 'fast' }] });
// In a process of its own: it runs the built CLI (a test-only variable of it must not leak in).
const { SATPOST_TEST_SCRYPT_COUNT: _counting, ...recordEnv } = process.env;
const recorded = spawnSync(process.execPath, [join(root, 'scripts', 'fast-answers.mjs')], { stdio: 'inherit', env: recordEnv });
if (recorded.status !== 0) throw new Error(`scripts/fast-answers.mjs failed (exit ${recorded.status ?? recorded.signal})`);
// The browser app's front end (web/, Preact): one minified bundle, the page and its style in
// dist/web, where `satpost app` serves them from. Built here, never committed.
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

