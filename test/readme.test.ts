// The README's config example is what new users copy first: it must validate.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText, validateConfig } from '../src/config/load.js';

describe('README', () => {
  it('its config example is valid', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /```yaml\n(models:[\s\S]*?)```/.exec(readme);
    expect(block, 'README has a yaml config example').not.toBeNull();
    const config = validateConfig(parseConfigText(block![1]!));
    expect(Object.keys(config.objectives)).toEqual(['continue-watching-ranking']);
  });
});
