// Writes a backend's reply to the caller: status and headers (minus
// hop-by-hop), Junction's decision headers, then the body streamed as it comes.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { forwardable } from '../call/headers.js';
import type { Reply } from '../call/types.js';
import { destroyQuietly } from '../policy/attempt.js';

export function writeReply(res: ServerResponse, reply: Reply, decisionHeaders: Record<string, string>, onDone: (err?: Error) => void): void {
  const headers = forwardable(reply.headers);
  for (const key in decisionHeaders) headers[key] = decisionHeaders[key];
  if (reply.fallback !== undefined) headers['x-fallback'] = reply.fallback;
  res.writeHead(reply.status, headers);
  const body = reply.body;
  if (body === null) {
    res.end();
    onDone();
  } else if (Buffer.isBuffer(body)) {
    res.end(body);
    onDone();
  } else {
    streamBody(body, res, onDone);
  }
}

/**
 * body.pipe(res) with both directions of failure handled. Not stream.pipeline:
 * it allocates an AbortController per call and aborts it on every finish, which
 * profiled at ~4% of a proxied request. A broken upstream stream destroys res
 * (the client sees a cut stream, never a hang); a client gone destroys the body.
 */
function streamBody(body: Readable, res: ServerResponse, onDone: (err?: Error) => void): void {
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    onDone(err);
  };
  if (res.destroyed) {
    // The caller left before the reply came: 'close' has fired already and will not again.
    destroyQuietly(body);
    finish();
    return;
  }
  body.once('error', (err) => {
    res.destroy(err);
    finish(err);
  });
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
    finish();
  });
  body.pipe(res);
}

export function writeJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
