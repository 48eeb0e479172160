// Writes schema/junction.schema.json from the one config schema (src/config/schema.ts).
// A test fails when the committed file is stale: run `npm run schema`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/json-schema.js';

const out = fileURLToPath(new URL('../schema/junction.schema.json', import.meta.url));
writeFileSync(out, configJsonSchema());
console.log(`wrote ${out}`);
