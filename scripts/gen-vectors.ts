// Writes test/vectors/{encoding,signatures,sealing}.json from fixed keys and seeds.
// Run once after a deliberate protocol change: node --import tsx scripts/gen-vectors.ts
import { writeFileSync } from 'node:fs';
import { VECTOR_FILES } from '../test/core/vector-builder.ts';

for (const [file, build] of Object.entries(VECTOR_FILES)) {
  writeFileSync(`test/vectors/${file}`, JSON.stringify(build(), null, 2) + '\n');
  console.log(`wrote test/vectors/${file}`);
}
