// gRPC metadata ↔ the header map the invoke path reads (SPEC §2.1 headers keep
// their names), and the gRPC deadline as the caller's x-deadline-ms budget.
import type { IncomingHttpHeaders } from 'node:http';
import { Metadata } from '@grpc/grpc-js';

/** Transport metadata that is not the caller's to route on or to forward. */
const TRANSPORT: ReadonlySet<string> = new Set([
  'content-type',
  'user-agent',
  'te',
  'accept-encoding',
  'content-length',
]);

/**
 * The caller's text metadata as headers. Binary (`-bin`) values and gRPC's
 * own keys are left out; a gRPC deadline becomes `x-deadline-ms` (the smaller
 * of the two when the caller also sent the header).
 */
export function headersOf(metadata: Metadata, deadline: Date | number, now = Date.now()): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  const map = metadata.getMap();
  for (const key in map) {
    const value = map[key];
    if (typeof value !== 'string' || key.startsWith('grpc-') || key.charCodeAt(0) === 58 /* : */ || TRANSPORT.has(key))
      continue;
    headers[key] = value;
  }
  const at = typeof deadline === 'number' ? deadline : deadline.getTime();
  if (Number.isFinite(at)) {
    const left = Math.max(1, Math.floor(at - now));
    const sent = Number(headers['x-deadline-ms']);
    headers['x-deadline-ms'] = String(Number.isFinite(sent) && sent > 0 ? Math.min(sent, left) : left);
  }
  return headers;
}

export function metadataOf(values: Record<string, string | undefined>): Metadata {
  const md = new Metadata();
  for (const key in values) {
    const value = values[key];
    if (value !== undefined) md.set(key, value);
  }
  return md;
}
