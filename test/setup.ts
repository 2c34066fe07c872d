// Loaded before every test file (see scripts/run-tests.mjs).
import '../src/polyfills.ts';
