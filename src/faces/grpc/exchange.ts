// One gRPC call as the invoke path's Exchange, on the face's own HTTP/2
// stream: the message is the body, the reply becomes a gRPC answer. Replies
// that are already protobuf (a gRPC backend's) go out as their bytes; JSON
// replies (in-process ONNX, HTTP `oip` backends, static fallbacks) are written
// as the call's response message. Errors: Junction's own become a gRPC status
// with x-error-code; a backend's gRPC status passes through as it came.
//
// One rule for the caller's deadline: a call still unanswered when it passes
// ends as deadline_exceeded (504), whether the face's timer or the caller's
// RST_STREAM comes first; a caller that leaves before it is client_closed (499).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { constants, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Operation, Reply } from '../../call/types.js';
import { JunctionError, toJunctionError } from '../../errors.js';
import { oip } from '../../config/protocols/oip.js';
import { inferResponseFromJson, metadataFromJson } from '../../grpc/oip-json.js';
import type { MethodName } from '../../grpc/service.js';
import { GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { httpOfStatus, type Status, STATUS_OF_ERROR, statusOfHttp } from '../../grpc/status.js';
import type { Logger } from '../../call/hooks.js';
import { finishRequest, type Observer, type RequestRecord } from '../../observe/record.js';
import type { Exchange } from '../invoke.js';
import type { ReplyGuard } from '../../http/reply.js';
import { prefixOf } from './message.js';
import { metadataOf, percentDecoded, percentEncoded } from './metadata.js';

/** A JSON reply is read whole to be re-encoded; past this it is refused rather than buffered. */
const MAX_JSON_REPLY = 64 * 1024 * 1024;

/** What the face answers with (grpc-accept-encoding): the encodings it reads. */
export const ACCEPT_ENCODING = 'identity,gzip,deflate';

/**
 * A caller that leaves this close to its deadline (as the face measured it)
 * left because of it: its RST_STREAM and the face's own timer race by the
 * time the headers took to be read, and one deadline must end one way.
 */
const DEADLINE_SLACK_MS = 100;

/** Whether the caller's deadline (absolute, performance.now() clock) has passed, within the slack. */
export function deadlinePassed(deadlineAt: number, deadlineMs: number, now = performance.now()): boolean {
  return Number.isFinite(deadlineAt) && now >= deadlineAt - Math.min(DEADLINE_SLACK_MS, deadlineMs / 2);
}

export interface GrpcAnswer {
  /** Encodes a response value of the method (for JSON replies turned into protobuf). */
  encode(value: object): Buffer;
  method: MethodName;
  operation: Operation;
}

/** The caller's deadline: absolute (performance.now() clock) and as it was sent, in ms. */
export interface CallDeadline {
  at: number;
  ms: number;
}

/** A response message with its headers, then grpc-status 0 in the trailers. */
export function sendMessage(stream: ServerHttp2Stream, metadata: OutgoingHttpHeaders, message: Buffer): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    {
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-accept-encoding': ACCEPT_ENCODING,
      ...metadata,
    },
    { waitForTrailers: true },
  );
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.write(prefixOf(message.length));
  stream.end(message);
}

/**
 * A status without a message: gRPC's trailers-only response. When the caller
 * is still sending, the stream is then reset (NO_ERROR, as gRPC over HTTP/2
 * says), so the rest of its upload is never read or buffered.
 */
export function sendStatus(
  stream: ServerHttp2Stream,
  code: Status,
  message: string,
  metadata: OutgoingHttpHeaders,
): void {
  if (stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.respond(
    {
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-accept-encoding': ACCEPT_ENCODING,
      ...metadata,
      'grpc-status': String(code),
      'grpc-message': percentEncoded(message),
    },
    { endStream: true },
  );
  if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
}

/** Junction's error as trailers: the request id, the stable code, and when to retry. */
export function errorMetadata(
  err: JunctionError,
  requestId: string,
  decisionHeaders?: Record<string, string>,
): OutgoingHttpHeaders {
  return metadataOf({
    ...decisionHeaders,
    'x-request-id': requestId,
    'x-error-code': err.code,
    'retry-after':
      err.retryAfterSeconds === undefined ? undefined : String(Math.max(1, Math.ceil(err.retryAfterSeconds))),
  });
}

export interface GrpcExchange extends Exchange {
  /** The caller's deadline passed with the call unanswered: DEADLINE_EXCEEDED now, the upstream call aborted. */
  expire(): void;
}

export function grpcExchange(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  body: Exchange['body'],
  record: RequestRecord,
  answer: GrpcAnswer,
  deadline: CallDeadline,
  observers: readonly Observer[],
  log: Logger | undefined,
): GrpcExchange {
  const listeners: Array<() => void> = [];
  let closed = false;
  let answered = false;
  let observed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    record.end = performance.now();
    for (const listener of listeners) listener();
  };
  // The record is complete once the invoke path has ended (it answers or fails
  // even for a caller that left): observers see it then, once.
  const ended = () => {
    close();
    if (observed) return;
    observed = true;
    finishRequest(
      observers,
      record,
      { writableFinished: answered, headersSent: false, statusCode: record.status },
      record.end,
      log,
    );
  };
  stream.once('close', () => {
    if (answered) return;
    // The caller left (RST_STREAM) unanswered: because its deadline passed, or of its own accord.
    if (deadlinePassed(deadline.at, deadline.ms)) record.cut = 'deadline_exceeded';
    close(); // aborts the upstream call and frees admission slots now
  });

  /** Writes the one answer, unless one went out or the caller is gone; the record ends either way. */
  const finish = (write: () => void) => {
    if (!answered && !closed && !stream.destroyed) {
      answered = true;
      try {
        write();
      } catch (err) {
        log?.error({ err: String(err), requestId: record.requestId }, 'could not write a gRPC answer');
      }
    }
    ended();
  };

  /**
   * A gRPC backend's reply proxied as it comes (SPEC §15): its headers with the
   * decision's metadata, its framed messages piped with back-pressure both
   * ways (a caller that reads slowly slows the upstream stream), then its
   * trailers. A stream cut on either side, or one past the reply budget, is
   * cut on the other and recorded as a failure; a non-zero grpc-status in the
   * trailers is the backend's answer and is recorded with its HTTP status.
   */
  const streamReply = (
    body: Readable,
    replyHeaders: Record<string, string | string[] | undefined>,
    trailers: Promise<Record<string, string | string[] | undefined>>,
    meta: Record<string, string | undefined>,
    onDone: (cut?: ReturnType<typeof toJunctionError>['code']) => void,
    guard: ReplyGuard,
  ) => {
    let settled = false;
    const settle = (cut?: ReturnType<typeof toJunctionError>['code']) => {
      if (settled) return;
      settled = true;
      clearTimeout(budget);
      stream.off('close', callerGone);
      onDone(cut); // the invoke path notes the cut in the record
      ended();
    };
    const cutBoth = (code: ReturnType<typeof toJunctionError>['code']) => {
      body.unpipe(stream);
      body.destroy();
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      settle(code);
    };
    const budget = setTimeout(
      () => {
        guard.onCut();
        cutBoth('deadline_exceeded');
      },
      Math.max(0, guard.deadline - performance.now()),
    );
    const callerGone = () => {
      body.destroy(); // the upstream stream is reset: the server stops working for nobody
      settle('client_closed');
    };
    if (closed || stream.destroyed) {
      callerGone();
      return;
    }
    answered = true;
    const headers: OutgoingHttpHeaders = {
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-accept-encoding': ACCEPT_ENCODING,
    };
    for (const key in replyHeaders) {
      const value = replyHeaders[key];
      if (typeof value === 'string' && key !== 'content-type' && !key.startsWith('grpc-accept')) headers[key] = value;
    }
    try {
      stream.respond(metadataOf(meta, headers), { waitForTrailers: true });
    } catch (err) {
      log?.error({ err: String(err), requestId: record.requestId }, 'could not write a gRPC answer');
      cutBoth('client_closed');
      return;
    }
    record.status = 200;
    stream.once('close', callerGone);
    stream.once('wantTrailers', () => {
      trailers.then(
        (t) => {
          const out: OutgoingHttpHeaders = {};
          for (const key in t) {
            const value = t[key];
            if (key.charCodeAt(0) !== 58 && value !== undefined) out[key] = value;
          }
          const code = Number(t['grpc-status'] ?? 0);
          if (code !== 0) record.status = httpOfStatus(code);
          try {
            stream.sendTrailers(out);
          } catch {
            // the caller left as the trailers were due
          }
          settle();
        },
        () => cutBoth('upstream_error'),
      );
    });
    body.once('error', () => cutBoth('upstream_error'));
    body.once('close', () => {
      if (!body.readableEnded) cutBoth('upstream_error');
    });
    const count = guard.count;
    if (count !== undefined) body.on('data', (chunk: Buffer) => (count.bytesOut += chunk.length));
    body.pipe(stream);
  };

  const exchange: GrpcExchange = {
    method: answer.operation === 'infer' ? 'POST' : 'GET', // OIP's HTTP verbs, for backends that speak HTTP
    headers,
    body,
    onClose: (listener) => {
      listeners.push(listener);
    },
    get closed() {
      return closed;
    },
    get answered() {
      return answered;
    },
    expire() {
      if (answered || closed) return;
      record.cut = 'deadline_exceeded';
      close(); // the invoke path aborts its upstream call; it ends the record when it has unwound
      answered = true;
      const err = new JunctionError('deadline_exceeded', "the caller's deadline passed");
      try {
        sendStatus(stream, STATUS_OF_ERROR[err.code], err.message, errorMetadata(err, record.requestId));
      } catch (e) {
        log?.error({ err: String(e), requestId: record.requestId }, 'could not write a gRPC answer');
      }
    },
    reply(reply, decisionHeaders, onDone, guard) {
      const meta = { ...decisionHeaders, 'x-fallback': reply.fallback };
      if (reply.trailers !== undefined && reply.body !== null && !Buffer.isBuffer(reply.body)) {
        streamReply(reply.body, reply.headers, reply.trailers, meta, onDone, guard);
        return;
      }
      // One end for the reply, whichever comes first: the message, a failure, or the reply budget (SPEC §3).
      let settled = false;
      const settle = (cut?: ReturnType<typeof toJunctionError>['code']) => {
        if (settled) return false;
        settled = true;
        clearTimeout(budget);
        onDone(cut);
        return true;
      };
      const budget = setTimeout(
        () => {
          if (settled) return;
          guard.onCut(); // aborts the upstream call
          const jerr = new JunctionError('deadline_exceeded', 'the reply ran past replyTimeoutMs');
          record.status = jerr.status;
          record.errorCode = jerr.code;
          exchange.error(jerr, decisionHeaders);
          settle(jerr.code);
        },
        Math.max(0, guard.deadline - performance.now()),
      );
      void toMessage(reply, answer)
        .then(
          (out) => {
            if (settled) return;
            if ('message' in out) {
              finish(() => sendMessage(stream, metadataOf(meta), out.message));
            } else {
              record.status = out.http;
              finish(() => sendStatus(stream, out.code, out.details, metadataOf({ ...meta, ...out.trailers })));
            }
            settle();
          },
          (err: unknown) => {
            if (settled) return;
            const jerr = toJunctionError(err);
            record.status = jerr.status;
            record.errorCode = jerr.code;
            exchange.error(jerr, decisionHeaders);
            settle(jerr.code);
          },
        )
        .catch(() => {
          // Nothing may reject unheard: the record still ends.
          ended();
          settle('client_closed');
        });
    },
    error(err, decisionHeaders) {
      if (answered && stream.headersSent && !stream.destroyed) {
        // A streamed answer had begun: the only way left to say it failed is to cut the stream.
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        ended();
        return;
      }
      finish(() =>
        sendStatus(
          stream,
          STATUS_OF_ERROR[err.code],
          err.message,
          errorMetadata(err, record.requestId, decisionHeaders),
        ),
      );
    },
  };
  return exchange;
}

type Outcome =
  { message: Buffer } | { code: Status; details: string; http: number; trailers: Record<string, string | undefined> };

async function toMessage(reply: Reply, answer: GrpcAnswer): Promise<Outcome> {
  const grpcStatus = reply.headers['grpc-status'];
  if (typeof grpcStatus === 'string') {
    // A gRPC backend's own failure: its status and message, as it sent them.
    discard(reply.body);
    const message = reply.headers['grpc-message'];
    return {
      code: Number(grpcStatus) as Status,
      details: typeof message === 'string' ? percentDecoded(message) : '',
      http: reply.status,
      trailers: {},
    };
  }
  const type = reply.headers['content-type'];
  const bytes = await readAll(reply.body);
  if (typeof type === 'string' && type.startsWith(GRPC_CONTENT_TYPE) && reply.status < 400) return { message: bytes };
  if (answer.operation === 'ready') {
    // Not ready is an answer, not an error (OIP: ready=false).
    return { message: answer.encode({ ready: readyFromJson(reply.status, bytes) }) };
  }
  if (reply.status >= 400) {
    return {
      code: statusOfHttp(reply.status),
      details: errorText(bytes, reply.status),
      http: reply.status,
      trailers: {},
    };
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new JunctionError('upstream_error', `the backend's ${answer.method} answer is neither protobuf nor JSON`);
  }
  return {
    message: answer.encode(answer.operation === 'metadata' ? metadataFromJson(json) : inferResponseFromJson(json)),
  };
}

/** OIP JSON errors are `{"error": "..."}`; Junction's own `{"error": {"message"}}`; anything else as text. */
function errorText(bytes: Buffer, status: number): string {
  const text = bytes.toString('utf8');
  try {
    const value = JSON.parse(text) as { error?: unknown };
    if (typeof value.error === 'string') return value.error;
    const message = (value.error as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 1024) || `backend answered HTTP ${status}`;
}

async function readAll(body: Readable | Buffer | null): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_REPLY) {
      body.destroy();
      throw new JunctionError('upstream_error', `the backend's reply is over ${MAX_JSON_REPLY} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function discard(body: Readable | Buffer | null): void {
  if (body !== null && !Buffer.isBuffer(body)) body.resume();
}

/** A JSON readiness answer: an empty 2xx (Triton) or `{"ready": true}` (KServe); the same verdict as HTTP health checks. */
function readyFromJson(status: number, body: Buffer): boolean {
  return oip.healthy!(status, body);
}
