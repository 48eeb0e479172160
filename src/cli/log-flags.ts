// `serve --log-rotate size=256MB,age=1h --log-retain 7d` (SPEC §19): parsed
// here, with errors that name the flag and show a value that works.
import type { RotationPolicy } from '../observe/rotating-file.js';
import { UserError } from './user-error.js';

const UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `1.5h`, `7d` → milliseconds; undefined when it is not one. */
function duration(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = m === null ? NaN : Number(m[1]) * UNITS_MS[m[2]!]!;
  return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}

/** `512K`, `256MB`, `1GiB`, `1048576` → bytes (K, M, G, T: powers of 1024, as --log-max-bytes); undefined when it is not one. */
function size(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  const n = m === null ? NaN : Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined;
}

const ROTATE_EXAMPLE = 'e.g. --log-rotate size=256MB,age=1h';

/** `size=SIZE` and/or `age=DURATION`, comma-separated. */
export function parseLogRotate(value: string): RotationPolicy {
  const policy: RotationPolicy = {};
  for (const part of value.split(',')) {
    const [key, raw, extra] = part.split('=').map((s) => s.trim());
    if (raw === undefined || extra !== undefined || key === '')
      throw new UserError(
        `--log-rotate takes size=SIZE and/or age=DURATION, comma-separated, ${ROTATE_EXAMPLE} (got "${value}")`,
      );
    if (key === 'size') {
      policy.maxBytes = size(raw);
      if (policy.maxBytes === undefined)
        throw new UserError(`--log-rotate size must be a size such as 256MB, 512K or 1G (got "${raw}")`);
    } else if (key === 'age') {
      policy.maxAgeMs = duration(raw);
      if (policy.maxAgeMs === undefined)
        throw new UserError(`--log-rotate age must be a duration such as 1h, 15m or 1d (got "${raw}")`);
    } else {
      throw new UserError(`--log-rotate knows size and age, not "${key}" (${ROTATE_EXAMPLE})`);
    }
  }
  return policy;
}

/** `--log-retain 7d`: how long rotated files are kept. */
export function parseLogRetain(value: string): number {
  const ms = duration(value);
  if (ms === undefined) throw new UserError(`--log-retain must be a duration such as 7d, 36h or 90m (got "${value}")`);
  return ms;
}

/**
 * The rotation of `serve`'s log files from its flags, or undefined without
 * --log-rotate. `files`: the log files it would apply to (stdout is never rotated).
 */
export function logRotation(
  rotate: string | undefined,
  retain: string | undefined,
  files: ReadonlyArray<string | undefined>,
): RotationPolicy | undefined {
  if (rotate === undefined) {
    if (retain !== undefined)
      throw new UserError(
        `--log-retain deletes rotated files: give --log-rotate too (${ROTATE_EXAMPLE} --log-retain ${retain})`,
      );
    return undefined;
  }
  const policy = parseLogRotate(rotate);
  if (retain !== undefined) policy.retainMs = parseLogRetain(retain);
  if (!files.some((f) => f !== undefined && f !== '-'))
    throw new UserError(
      '--log-rotate rotates log files: give --decision-log FILE or --feedback-log FILE (stdout is never rotated)',
    );
  return policy;
}
