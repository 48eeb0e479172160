import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, JunctionError, toJunctionError } from './errors.js';

describe('error catalogue', () => {
  it('every code is documented with its status in docs/errors.md', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(doc, `docs/errors.md lacks a row for ${code}`).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('a JunctionError takes its status from the catalogue', () => {
    expect(new JunctionError('rate_limited', 'slow down', { retryAfterSeconds: 2 })).toMatchObject({
      status: 429,
      retryAfterSeconds: 2,
    });
  });

  it('anything else thrown becomes internal', () => {
    expect(toJunctionError(new TypeError('boom'))).toMatchObject({ code: 'internal', status: 500, message: 'boom' });
  });
});

describe('a refused config on a request path', () => {
  it('is invalid_request with every issue attached', async () => {
    const { ConfigError } = await import('./config/issues.js');
    const issues = [{ path: 'objectives.cw.default', message: 'unknown model' }];
    expect(toJunctionError(new ConfigError(issues))).toMatchObject({ code: 'invalid_request', status: 400, issues });
  });
});
