import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../errors.js';
import { httpOfStatus, Status, STATUS_OF_ERROR, statusOfHttp } from './status.js';

describe('gRPC statuses', () => {
  it('every error code has a gRPC status, documented in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const name = Status[STATUS_OF_ERROR[code]];
      expect(doc, `docs/errors.md lacks the gRPC row for ${code}`).toMatch(
        new RegExp(`\\| \`${code}\` \\| \`${name}\` \\|`),
      );
    }
  });

  it('a gRPC status and its HTTP meaning agree both ways for what policies read', () => {
    for (const code of [
      Status.OK,
      Status.INVALID_ARGUMENT,
      Status.UNAUTHENTICATED,
      Status.PERMISSION_DENIED,
      Status.NOT_FOUND,
      Status.RESOURCE_EXHAUSTED,
      Status.UNIMPLEMENTED,
      Status.UNAVAILABLE,
      Status.DEADLINE_EXCEEDED,
      Status.CANCELLED,
    ]) {
      expect(statusOfHttp(httpOfStatus(code))).toBe(code);
    }
    // What fallback and retry treat as the backend's failure (5xx) stays a failure.
    expect(httpOfStatus(Status.INTERNAL)).toBe(500);
    expect(httpOfStatus(Status.UNKNOWN)).toBe(500);
    expect(httpOfStatus(Status.UNAVAILABLE)).toBe(503);
  });
});
