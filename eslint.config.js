// Lint rules include the architecture: the pure protocol core imports no I/O, and
// dependencies point one way (core <- contracts <- chain/wallet/identity/store <- relay/client <- cli/demo).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeIo = ['node:*', 'fs', 'net', 'http', 'https', 'child_process', 'better-sqlite3-multiple-ciphers', 'ws', 'fastify', 'pino'];
const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

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
    files: ['src/core/**/*.ts', 'src/contracts/**/*.ts', 'src/channels/**/*.ts'],
    rules: restrict(
      [...nodeIo, '**/chain/**', '**/wallet/**', '**/identity/**', '**/store/**', '**/relay/**', '**/client/**', '**/cli/**', '**/demo/**'],
      'core and contracts are pure: no I/O, no shells. Pass what you need in.',
    ),
  },
  {
    files: ['src/chain/**/*.ts', 'src/wallet/**/*.ts', 'src/identity/**/*.ts', 'src/store/**/*.ts', 'src/watch/**/*.ts', 'src/envelope/**/*.ts', 'src/crypto/**/*.ts'],
    rules: restrict(['**/relay/**', '**/client/**', '**/cli/**', '**/demo/**'], 'lower layers must not import the relay, client or CLI.'),
  },
  {
    files: ['src/relay/**/*.ts', 'src/client/**/*.ts'],
    rules: restrict(['**/cli/**', '**/demo/**'], 'relay and client must not import the CLI or demo.'),
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
