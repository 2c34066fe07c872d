// Lint rules include the architecture (satpost/layers): each folder of src/ may import only
// the folders and packages its LAYERS entry names. README "Layering" says what this checks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noble = ['@noble/hashes', '@noble/curves', '@noble/ciphers', '@scure/base'];
const btc = ['@scure/btc-signer', '@scure/bip32', '@scure/bip39'];
const libp2p = [
  'libp2p', '@libp2p/*', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@multiformats/multiaddr',
];
const server = ['fastify', 'pino', 'prom-client', 'ws'];
const LAYERS = {
  core: { folders: [], packages: [...noble] },
  crypto: { folders: ['core'], packages: ['node:crypto'] },
  contracts: { folders: ['core'], packages: [...noble, ...btc] },
  channels: { folders: ['core', 'contracts'], packages: [...noble, ...btc] },
  store: { folders: ['core'], packages: ['better-sqlite3-multiple-ciphers', 'node:*'] },
  chain: { folders: ['core', 'crypto', 'store'], packages: [...noble, ...btc, 'bitcore-lib', 'fastify', 'node:*'] },
  wallet: { folders: ['core', 'chain', 'store'], packages: [...noble, ...btc, 'node:*'] },
  identity: { folders: ['core', 'store'], packages: [...noble, '@signalapp/libsignal-client', 'node:*'] },
  envelope: { folders: ['core', 'identity'], packages: [...noble, '@signalapp/libsignal-client'] },
  watch: { folders: ['core', 'chain', 'channels', 'contracts', 'store', 'wallet'], packages: [...noble, ...btc, 'better-sqlite3-multiple-ciphers', 'node:*'] },
  net: { folders: ['core'], packages: ['ws', 'node:*'] },
  p2p: { folders: ['core', 'crypto'], packages: [...noble, ...libp2p, '@signalapp/libsignal-client', 'node:*'] },
  relay: { folders: ['core', 'crypto', 'chain', 'channels', 'contracts', 'identity', 'store', 'wallet', 'watch', 'p2p'], packages: [...noble, ...btc, ...server, '@signalapp/libsignal-client', 'node:*'] },
  client: { folders: ['core', 'crypto', 'chain', 'channels', 'contracts', 'envelope', 'identity', 'net', 'store', 'wallet', 'watch'], packages: [...noble, ...btc, '@signalapp/libsignal-client', 'ws', 'node:*'] },
  cli: { folders: ['core', 'crypto', 'chain', 'client', 'relay', 'wallet', 'identity', 'net', 'store', 'app'], packages: [...noble, 'commander', 'pino', 'node:*'] },
  // The browser app's server: the SDK only (never the relay), node:http and ws.
  app: { folders: ['core', 'client'], packages: ['ws', 'node:*'] },
  demo: { folders: ['app', 'core', 'crypto', 'chain', 'contracts', 'channels', 'client', 'identity', 'relay', 'store', 'wallet', 'watch', 'envelope', 'net'], packages: [...noble, ...btc, 'pino', 'node:*'] },
};

/** satpost/layers: every import of a file in src/<folder>/ is allowed by LAYERS[folder]. */
const layersPlugin = {
  rules: {
    layers: {
      meta: { type: 'problem', schema: [] },
      create(context) {
        const file = context.filename.replaceAll('\\', '/');
        const m = /\/src\/([^/]+)\//.exec(file);
        const folder = m?.[1];
        const layer = folder ? LAYERS[folder] : undefined;
        if (!layer) return {};
        const srcRoot = file.slice(0, file.indexOf('/src/') + 5);
        const pkgOk = (spec) => {
          const name = spec.startsWith('node:') ? spec : spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          return layer.packages.some((p) => (p.endsWith('/*') || p.endsWith(':*') ? name.startsWith(p.slice(0, -1)) : name === p));
        };
        const check = (node, spec) => {
          if (typeof spec !== 'string') return;
          if (spec.startsWith('.')) {
            const parts = file.slice(0, file.lastIndexOf('/')).split('/');
            for (const seg of spec.split('/')) {
              if (seg === '..') parts.pop();
              else if (seg !== '.') parts.push(seg);
            }
            const target = parts.join('/');
            if (!target.startsWith(srcRoot)) return;
            const rest = target.slice(srcRoot.length);
            if (!rest.includes('/')) return; // src/polyfills.ts and the like
            const to = rest.split('/')[0];
            if (to === folder || layer.folders.includes(to)) return;
            context.report({ node, message: `src/${folder}/ may not import src/${to}/ (allowed: ${layer.folders.join(', ') || 'nothing'}; eslint.config.js LAYERS)` });
          } else if (!pkgOk(spec)) {
            context.report({ node, message: `src/${folder}/ may not import the package "${spec}" (eslint.config.js LAYERS)` });
          }
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { satpost: layersPlugin },
    rules: { 'satpost/layers': 'error' },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
