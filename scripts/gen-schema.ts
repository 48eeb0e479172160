// Writes schema/junction.schema.json and docs/config-reference.md from the one
// config schema (src/config/schema.ts). A test fails when either is stale:
// run `npm run schema`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/json-schema.js';
import { configReference } from '../src/config/reference.js';

for (const [rel, text] of [
  ['../schema/junction.schema.json', configJsonSchema()],
  ['../docs/config-reference.md', configReference()],
] as const) {
  const out = fileURLToPath(new URL(rel, import.meta.url));
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
