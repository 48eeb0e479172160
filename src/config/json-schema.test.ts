import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';

describe('published JSON Schema', () => {
  it('matches the zod schema (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(new URL('../../schema/junction.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configJsonSchema());
  });
});
