// gRPC metadata (HTTP/2 request headers) ↔ the header map the invoke path
// reads (SPEC §2.1 headers keep their names); the caller's `grpc-timeout` as
// its x-deadline-ms budget; response metadata and grpc-message as HTTP/2
// header values.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { JunctionError } from '../../errors.js';
export { percentDecoded, percentEncoded } from '../../grpc/percent.js';

/** Transport metadata that is not the caller's to route on or to forward. */
const TRANSPORT: ReadonlySet<string> = new Set([
  'content-type',
  'user-agent',
  'te',
  'accept-encoding',
  'content-length',
]);

/**
 * The caller's text metadata as headers. Binary (`-bin`) values, pseudo-headers
 * and gRPC's own keys are left out; the caller's deadline (absolute, on the
 * `now` clock) becomes `x-deadline-ms`: the smaller of the two when the caller
 * also sent the header.
 */
export function headersOf(raw: IncomingHttpHeaders, deadlineAt: number, now: number): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const key in raw) {
    const value = raw[key];
    if (
      typeof value !== 'string' ||
      key.charCodeAt(0) === 58 /* : */ ||
      key.startsWith('grpc-') ||
      key.endsWith('-bin') ||
      TRANSPORT.has(key)
    )
      continue;
    headers[key] = value;
  }
  if (Number.isFinite(deadlineAt)) {
    const left = Math.max(1, Math.floor(deadlineAt - now));
    const sent = Number(headers['x-deadline-ms']);
    headers['x-deadline-ms'] = String(Number.isFinite(sent) && sent > 0 ? Math.min(sent, left) : left);
  }
  return headers;
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * `grpc-timeout` (gRPC over HTTP/2: at most 8 digits and a unit) in ms;
 * undefined when absent. A malformed value is the caller's error.
 */
export function timeoutMs(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (m === null) throw new JunctionError('invalid_request', `grpc-timeout is malformed (got "${String(value)}")`);
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}

/** What gRPC metadata accepts as a text value (printable ASCII). */
const METADATA_VALUE = /^[\x20-\x7e]*$/;

/** Response metadata: absent values skipped, values no header may carry left out rather than failing the answer. */
export function metadataOf(
  values: Record<string, string | undefined>,
  into: OutgoingHttpHeaders = {},
): OutgoingHttpHeaders {
  for (const key in values) {
    const value = values[key];
    if (value !== undefined && METADATA_VALUE.test(value)) into[key] = value;
  }
  return into;
}
