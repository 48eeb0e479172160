// The issues validation reports for a config value, as `path: message` lines
// ([] when it is valid): what the config tests assert on.
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/issues.js';
import { validateConfig } from '../../src/config/load.js';

export function issuesOf(value: unknown): string[] {
  try {
    validateConfig(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}
