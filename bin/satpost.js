#!/usr/bin/env node
// The `satpost` command. Runs the TypeScript sources through tsx so a checkout needs
// no build step: `npx satpost --help`.
import { register } from 'tsx/esm/api';

register();
await import('../src/polyfills.ts');
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
