import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';
import { configReference } from './reference.js';

describe('generated config artifacts (run `npm run schema` when these fail)', () => {
  it('schema/junction.schema.json matches the zod schema', () => {
    const committed = readFileSync(new URL('../../schema/junction.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configJsonSchema());
  });

  it('docs/config-reference.md matches the zod schema', () => {
    const committed = readFileSync(new URL('../../docs/config-reference.md', import.meta.url), 'utf8');
    expect(committed).toBe(configReference());
  });
});
