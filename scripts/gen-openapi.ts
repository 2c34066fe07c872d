// Writes docs/openapi.json: the relay's OpenAPI 3.1 document, generated from its routes
// (src/relay/openapi.ts). Run after changing a route: `npm run openapi`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { relayOpenApiText } from '../src/relay/app.ts';

const out = join(import.meta.dirname, '..', 'docs', 'openapi.json');
const text = await relayOpenApiText();
writeFileSync(out, text);
console.log(`wrote ${out} (${Object.keys((JSON.parse(text) as { paths: object }).paths).length} paths)`);
