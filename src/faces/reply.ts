// Writes a backend's reply to the caller: status and headers (minus
// hop-by-hop), Junction's decision headers, then the body streamed as it comes.
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { forwardable } from '../call/headers.js';
import type { Reply } from '../call/types.js';

export function writeReply(res: ServerResponse, reply: Reply, decisionHeaders: Record<string, string>, onDone?: (err?: Error | null) => void): void {
  const headers = forwardable(reply.headers);
  for (const key in decisionHeaders) headers[key] = decisionHeaders[key];
  if (reply.fallback !== undefined) headers['x-fallback'] = reply.fallback;
  res.writeHead(reply.status, headers);
  const body = reply.body;
  if (body === null) {
    res.end();
    onDone?.();
  } else if (Buffer.isBuffer(body)) {
    res.end(body);
    onDone?.();
  } else {
    // On a broken upstream stream, pipeline destroys res: the client sees a cut stream, never a hang.
    pipeline(body, res, (err) => onDone?.(err));
  }
}

export function writeJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
