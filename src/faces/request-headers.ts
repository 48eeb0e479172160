// Junction's request headers (SPEC §2.1) → what routing and the deadline need.
// Bad values are the caller's error: 400 invalid_request naming the header.
// The checks and defaults are routing/request.ts's, shared with /v1/decide and explain.
import type { IncomingHttpHeaders } from 'node:http';
import { JunctionError } from '../errors.js';
import { NO_CONTEXT, routingRequest, type FieldNames } from '../routing/request.js';
import type { RoutingRequest } from '../routing/types.js';

const CONTEXT_PREFIX = 'x-context-';
const HEADERS: FieldNames = { trafficClass: 'x-traffic-class', override: 'x-model-override', overrideSource: 'header' };

/** Any byte beyond ASCII (Node hands header bytes over as Latin-1 characters). */
const NON_ASCII = /[\u0080-\u00ff]/;

/**
 * A header value as the text the caller meant. Node reads header bytes as
 * Latin-1, so a unit id sent as UTF-8 (`ユーザー`, what clients send for text
 * beyond Latin-1) would arrive as other characters and bucket differently from
 * the same unit in /v1/decide or an SDK. Bytes that form valid UTF-8 are read
 * as UTF-8; any other value stays as Latin-1 (`ü` sent as one byte). The one
 * ambiguity, a Latin-1 value whose bytes happen to be valid UTF-8 (`Ã©`), is
 * read as UTF-8 (docs/security.md).
 */
export function headerText(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  // A lossless round trip means the bytes were valid UTF-8.
  return text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(bytes) ? value : text;
}

export function routingRequestFrom(headers: IncomingHttpHeaders, objective: string): RoutingRequest {
  const unit = headers['x-unit-id'];
  // Node lowercases header names, so context keys need no folding; most requests send none and share NO_CONTEXT.
  let context: Record<string, string> | undefined;
  for (const key in headers) {
    if (key.length > CONTEXT_PREFIX.length && key.startsWith(CONTEXT_PREFIX)) {
      (context ??= {})[key.slice(CONTEXT_PREFIX.length)] = headerText(headers[key] as string);
    }
  }
  return routingRequest(
    typeof unit === 'string' ? headerText(unit) : undefined,
    context ?? NO_CONTEXT,
    headers['x-traffic-class'],
    headers['x-model-override'],
    HEADERS,
    objective,
  );
}

/** The caller's remaining budget in ms, if it sent one. */
export function callerDeadlineMs(headers: IncomingHttpHeaders, objective?: string): number | undefined {
  const raw = headers['x-deadline-ms'];
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(ms) || ms <= 0) {
    throw new JunctionError(
      'invalid_request',
      `x-deadline-ms must be a positive number of milliseconds (got "${String(raw)}")`,
      { objective },
    );
  }
  return ms;
}
