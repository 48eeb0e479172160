// Header hygiene shared by both directions of the proxy (RFC 9110 §7.6.1).
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMap } from './types.js';

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  // Answered on the caller's side (the data plane sends 100 Continue once the
  // request is admitted), never forwarded: undici refuses it, and it means
  // nothing on a second hop.
  'expect',
]);

/** Headers safe to forward: hop-by-hop ones and those named in `Connection` removed. */
export function forwardable(headers: IncomingHttpHeaders | HeaderMap, drop?: ReadonlySet<string>): HeaderMap {
  const out: HeaderMap = {};
  const connection = headers.connection;
  const named =
    typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close'
      ? new Set(
          connection
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : undefined;
  for (const key in headers) {
    if (HOP_BY_HOP.has(key) || named?.has(key) || drop?.has(key)) continue;
    out[key] = headers[key];
  }
  return out;
}
