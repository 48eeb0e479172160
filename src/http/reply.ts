// Writes a backend's reply to the caller: status and headers (minus
// hop-by-hop), Junction's decision headers, then the body streamed as it
// comes, within the reply's budget (SPEC §3 `replyTimeoutMs`): a body still
// flowing at the deadline is cut, visibly.
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { forwardable } from '../call/headers.js';
import type { Reply } from '../call/types.js';
import type { ErrorCode } from '../errors.js';
import { destroyQuietly } from '../policy/attempt.js';

export interface ReplyGuard {
  /** Absolute (performance.now() clock): the whole reply must be out by then. */
  deadline: number;
  /** Written before ending a cut event stream; otherwise a cut body is closed without its terminating chunk. */
  finalEvent?: string | undefined;
  /** Told when the deadline cuts the body (aborts the upstream call). */
  onCut: () => void;
  /** Where body bytes sent are counted (the request's record), when someone observes. */
  count?: { bytesOut: number } | undefined;
}

/** `onDone(cut)`: the reply is over; `cut` is the code it ended with when it did not end whole. */
export type ReplyDone = (cut?: ErrorCode) => void;

export function writeReply(
  res: ServerResponse,
  reply: Reply,
  decisionHeaders: Record<string, string>,
  onDone: ReplyDone,
  guard?: ReplyGuard,
): void {
  const headers = forwardable(reply.headers);
  for (const key in decisionHeaders) headers[key] = decisionHeaders[key];
  if (reply.fallback !== undefined) headers['x-fallback'] = reply.fallback;
  res.writeHead(reply.status, headers);
  const body = reply.body;
  if (body === null) {
    res.end();
    onDone();
  } else if (Buffer.isBuffer(body)) {
    if (guard?.count !== undefined) guard.count.bytesOut = body.length;
    res.end(body);
    onDone();
  } else {
    // A final event belongs only in an event stream.
    const events = String(reply.headers['content-type'] ?? '').startsWith('text/event-stream');
    streamBody(
      body,
      res,
      onDone,
      guard === undefined || events || guard.finalEvent === undefined ? guard : { ...guard, finalEvent: undefined },
      reply.endsWithErrorEvent === true,
    );
  }
}

/**
 * body.pipe(res) with both directions of failure handled. Not stream.pipeline:
 * it allocates an AbortController per call and aborts it on every finish, which
 * profiled at ~4% of a proxied request. A broken upstream stream destroys res
 * (the client sees a cut stream, never a hang); a client gone destroys the body;
 * the reply deadline cuts both.
 */
function streamBody(
  body: Readable,
  res: ServerResponse,
  onDone: ReplyDone,
  guard: ReplyGuard | undefined,
  endsWithErrorEvent: boolean,
): void {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (cut?: ErrorCode) => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    onDone(cut);
  };
  if (res.destroyed) {
    // The caller left before the reply came: 'close' has fired already and will not again.
    destroyQuietly(body);
    finish();
    return;
  }
  body.once('error', () => {
    // A body that wrote its error event first is ended, so the event arrives; any other is cut.
    if (endsWithErrorEvent && !res.writableEnded) res.end();
    else res.destroy();
    finish('upstream_error');
  });
  res.on('close', () => {
    // once: 'close' comes once, and `on` allocates no wrapper
    if (!body.readableEnded) destroyQuietly(body);
    finish();
  });
  if (guard !== undefined) {
    const count = guard.count;
    if (count !== undefined)
      body.on('data', (chunk: Buffer | string) => {
        count.bytesOut += chunk.length;
      });
    const cut = () => {
      if (done) return;
      body.unpipe(res);
      destroyQuietly(body);
      guard.onCut();
      finish('deadline_exceeded');
      if (guard.finalEvent !== undefined && !res.writableEnded) res.end(guard.finalEvent);
      else res.destroy();
    };
    const remaining = guard.deadline - performance.now();
    if (remaining <= 0) {
      cut();
      return;
    }
    timer = setTimeout(cut, remaining);
    timer.unref();
  }
  body.pipe(res);
}

export function writeJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
