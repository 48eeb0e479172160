// ModelInfer proxied as an HTTP/2 stream (SPEC §15): the gRPC face's message
// goes to the replica as bytes, never as a whole message handed to a gRPC
// library. The upstream message is a new 5-byte prefix, the backend's own
// model reference (fields 1 and 2), then the caller's other fields: either
// the parts of a message held in memory (a buffered body, sent without
// joining them) or the rest of a message still arriving, pumped chunk by
// chunk as it comes with HTTP/2 flow control both ways (a write that the
// upstream's window refuses pauses the caller's stream until it drains) and
// checked as it passes (FieldWalker: well formed, no second model reference,
// exactly its declared length). The reply is handed back unread: its framed
// message stream and, when they come, its trailers (grpc-status and the
// server's trailing metadata); a trailers-only reply is the server's status.
import { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { CancelSignal } from '../../call/cancel.js';
import type { HeaderMap, Reply } from '../../call/types.js';
import { JunctionError } from '../../errors.js';
import { GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { FieldWalker } from '../../grpc/wire.js';
import { percentDecoded } from '../../grpc/percent.js';
import type { H2Sessions } from './h2-sessions.js';

/** What went wrong before a reply started, in the shape `failure()` in grpc-backend.ts reads: a gRPC status, or none. */
export class StreamFailure extends Error {
  constructor(
    message: string,
    readonly code?: number,
    readonly details?: string,
  ) {
    super(message);
  }
}

export interface InferStream {
  path: string;
  /** Metadata, already filtered to what gRPC accepts. */
  metadata: Record<string, string>;
  /** Milliseconds left: sent as grpc-timeout (none when Infinity). */
  timeoutMs: number;
  /** Bytes sent first, in order (the rewritten reference, or a whole rewritten message's parts). */
  parts: Buffer[];
  /** The rest of the message, still arriving, of `length` bytes (none when `parts` are the whole message). */
  rest?: { source: Readable; length: number } | undefined;
  /** Aborted when the call is (the caller left, its deadline passed). */
  signal: CancelSignal;
  /** The body's side failed (the caller left mid-upload, sent a malformed message): the error to fail with. */
  onBodyError(err: unknown): JunctionError;
}

/** Response headers a caller sees again: not HTTP/2's own, not the transport's. */
function replyHeaders(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = { 'content-type': GRPC_CONTENT_TYPE };
  for (const key in h) {
    if (key.charCodeAt(0) === 58 /* : */ || key === 'content-type' || key === 'content-length') continue;
    out[key] = h[key];
  }
  return out;
}

/** gRPC's mapping of an HTTP status that is not 200 to a status ("HTTP to gRPC Status Code Mapping"). */
function grpcOfHttp(http: number): number {
  switch (http) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** `grpc-timeout` for `ms` (at most 8 digits, so milliseconds up to ~27 hours, then seconds); none when unbounded. */
export function grpcTimeout(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const millis = Math.max(1, Math.ceil(ms));
  return millis <= 99_999_999 ? `${millis}m` : `${Math.min(99_999_999, Math.ceil(millis / 1000))}S`;
}

/** A 5-byte gRPC prefix for an uncompressed message of `length` bytes. */
function prefix(length: number): Buffer {
  const p = Buffer.allocUnsafe(5);
  p[0] = 0;
  p.writeUInt32BE(length, 1);
  return p;
}

/**
 * Sends one ModelInfer on a session of `sessions` and resolves with the reply
 * once its headers arrive; rejects with a StreamFailure (the server's status
 * or a transport error) or the body's JunctionError before that.
 */
export function inferStream(sessions: H2Sessions, call: InferStream): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    let length = call.rest?.length ?? 0;
    for (const part of call.parts) length += part.length;
    const headers: OutgoingHttpHeaders = {
      ...call.metadata,
      ':method': 'POST',
      ':path': call.path,
      'content-type': GRPC_CONTENT_TYPE,
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
    };
    const timeout = grpcTimeout(call.timeoutMs);
    if (timeout !== undefined) headers['grpc-timeout'] = timeout;
    let req: ClientHttp2Stream;
    try {
      req = sessions.session().request(headers, { endStream: false });
    } catch (err) {
      reject(new StreamFailure((err as Error).message));
      return;
    }
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    let trailersDone: (t: HeaderMap) => void = () => undefined;
    let trailersFailed: (err: Error) => void = () => undefined;
    const trailers = new Promise<HeaderMap>((res, rej) => {
      trailersDone = res;
      trailersFailed = rej;
    });
    trailers.catch(() => undefined); // read by the face when it streams the reply; never unheard
    const onAbort = () => cut(req);
    call.signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => call.signal.removeEventListener('abort', onAbort);
    if (call.signal.aborted) onAbort();

    req.once('response', (h) => {
      const http = Number(h[':status']);
      if (http !== 200) {
        // Not a gRPC answer (a proxy in front of the server, the wrong port): gRPC's HTTP→status mapping.
        fail(new StreamFailure(`HTTP ${http}`, grpcOfHttp(http), `the replica answered HTTP ${http}`));
        req.resume();
        return;
      }
      const status = h['grpc-status'];
      if (status !== undefined) {
        // Trailers-only: the server's status and no message.
        const message = h['grpc-message'];
        fail(
          new StreamFailure(
            `status ${String(status)}`,
            Number(status),
            typeof message === 'string' ? percentDecoded(message) : '',
          ),
        );
        req.resume();
        return;
      }
      if (settled) return;
      settled = true;
      req.once('close', cleanup);
      resolve({ status: 200, headers: replyHeaders(h), body: req, trailers });
    });
    let gotTrailers = false;
    req.once('trailers', (t: IncomingHttpHeaders) => {
      gotTrailers = true;
      trailersDone(t);
    });
    req.once('close', () => {
      // Errors only for what failed: a stack trace per call is not free.
      if (!gotTrailers) trailersFailed(new Error(`the stream closed without trailers (code ${req.rstCode ?? 0})`));
      if (!settled) fail(new StreamFailure(`the stream closed before a reply (code ${req.rstCode ?? 0})`));
    });
    req.on('error', (err: Error) => fail(new StreamFailure(err.message)));

    req.cork();
    req.write(prefix(length));
    for (const part of call.parts) req.write(part);
    req.uncork();
    const rest = call.rest;
    if (rest === undefined) {
      req.end();
      return;
    }
    pump(rest.source, req, new FieldWalker(rest.length), (err) => {
      cut(req);
      fail(call.onBodyError(err));
    });
  });
}

/**
 * Resets the upstream stream without ending it first. `close(code)` half-closes
 * the writable side before its RST_STREAM, so the server could see END_STREAM
 * on a message it should never complete (truncated, or carrying a smuggled
 * model reference); destroying the stream sends RST_STREAM alone.
 */
function cut(req: ClientHttp2Stream): void {
  if (!req.destroyed) req.destroy(new Error('cancelled by Junction'));
}

/** Whether the caller's HTTP/2 stream was reset (RST_STREAM) rather than ended. */
function reset(source: Readable): boolean {
  const s = source as { aborted?: boolean; rstCode?: number; destroyed: boolean };
  return s.aborted === true || (s.rstCode !== undefined && s.rstCode !== 0);
}

/**
 * The rest of the message from the caller's stream to the upstream one, chunk
 * by chunk: the caller's stream pauses while the upstream's window is full.
 * No Transform in between: each chunk is checked and written as it is.
 */
function pump(source: Readable, dest: ClientHttp2Stream, walker: FieldWalker, onError: (err: unknown) => void): void {
  let failed = false;
  const stop = (err: unknown) => {
    if (failed) return;
    failed = true;
    source.off('data', onData);
    source.off('end', onEnd);
    dest.off('drain', onDrain);
    onError(err);
  };
  const onData = (chunk: Buffer) => {
    try {
      walker.push(chunk);
    } catch (err) {
      stop(err);
      return;
    }
    if (!dest.write(chunk)) source.pause();
  };
  const onDrain = () => source.resume();
  const callerLeft = () => stop(new JunctionError('client_closed', 'the caller left before its message arrived'));
  const onEnd = () => {
    try {
      walker.end();
    } catch (err) {
      // A client that cancels mid-upload (grpc-js, node:http2's close()) half-closes its stream
      // before its RST_STREAM: a short message followed at once by a reset is the caller leaving.
      // The reset comes in the same read or the next; a message that is only short waits 20 ms more.
      dest.off('drain', onDrain);
      const settle = () => {
        clearTimeout(wait);
        source.off('close', settle);
        if (reset(source)) callerLeft();
        else stop(err);
      };
      const wait = setTimeout(settle, 20);
      source.once('close', settle);
      return;
    }
    dest.off('drain', onDrain);
    dest.end();
  };
  source.on('data', onData);
  source.once('end', onEnd);
  source.once('error', stop);
  source.once('close', () => {
    if (!source.readableEnded) callerLeft();
  });
  dest.on('drain', onDrain);
  dest.once('close', () => {
    // The upstream stream is gone: stop reading the caller for it.
    source.off('data', onData);
    dest.off('drain', onDrain);
  });
  source.resume();
}
