// One gRPC call as the invoke path's Exchange: the message is the body, the
// reply becomes a gRPC answer. Replies that are already protobuf (a gRPC
// backend's) go out as their bytes; JSON replies (in-process ONNX, HTTP `oip`
// backends, static fallbacks) are written as the call's response message.
// Errors: Junction's own become a gRPC status with x-error-code; a backend's
// gRPC status passes through as it came.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { sendUnaryData, ServerUnaryCall, ServiceError } from '@grpc/grpc-js';
import { RequestBody } from '../../call/body.js';
import type { Operation, Reply } from '../../call/types.js';
import { JunctionError, toJunctionError } from '../../errors.js';
import { oip } from '../../config/protocols/oip.js';
import { inferResponseFromJson, metadataFromJson } from '../../grpc/oip-json.js';
import type { MethodName } from '../../grpc/service.js';
import { GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { type Status, STATUS_OF_ERROR, statusOfHttp } from '../../grpc/status.js';
import type { Logger } from '../../call/hooks.js';
import { endRecord, notifyObservers, type Observer, type RequestRecord } from '../../observe/record.js';
import type { Exchange } from '../invoke.js';
import { metadataOf } from './metadata.js';

/** A JSON reply is read whole to be re-encoded; past this it is refused rather than buffered. */
const MAX_JSON_REPLY = 64 * 1024 * 1024;

export interface GrpcAnswer {
  /** Encodes a response value of the method (for JSON replies turned into protobuf). */
  encode(value: object): Buffer;
  method: MethodName;
  operation: Operation;
}

export function grpcExchange(
  call: ServerUnaryCall<unknown, Buffer>,
  callback: sendUnaryData<Buffer>,
  headers: IncomingHttpHeaders,
  body: Buffer,
  record: RequestRecord,
  answer: GrpcAnswer,
  observers: readonly Observer[],
  log: Logger | undefined,
): Exchange {
  const listeners: Array<() => void> = [];
  let closed = false;
  let answered = false;
  let cancelled = false;
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
    // The caller cancelled first, whatever the path made of it: client_closed (499), as on HTTP.
    const final = endRecord(
      record,
      { writableFinished: !cancelled, headersSent: false, statusCode: record.status },
      record.end,
    );
    notifyObservers(observers, final, log);
  };
  call.once('cancelled', () => {
    if (answered) return;
    cancelled = true;
    close(); // aborts the upstream call and frees admission slots now
  });

  const fail = (code: Status, message: string, trailers: Record<string, string | undefined>) => {
    if (!cancelled) {
      answered = true;
      const err: Partial<ServiceError> = { code, details: message, metadata: metadataOf(trailers) };
      callback(err);
    }
    ended();
  };

  const exchange: Exchange = {
    method: answer.operation === 'infer' ? 'POST' : 'GET', // OIP's HTTP verbs, for backends that speak HTTP
    headers,
    body: ({ maxBytes, objective }) => RequestBody.whole(body, maxBytes, objective),
    onClose: (listener) => {
      listeners.push(listener);
    },
    get closed() {
      return closed;
    },
    get answered() {
      return answered;
    },
    reply(reply, decisionHeaders, onDone, guard) {
      const meta = { ...decisionHeaders, 'x-fallback': reply.fallback };
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
              if (!cancelled) {
                answered = true;
                call.sendMetadata(metadataOf(meta));
                callback(null, out.message);
              }
              ended();
            } else {
              record.status = out.http;
              fail(out.code, out.details, { ...meta, ...out.trailers });
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
          // Writing the answer itself failed (the call is gone): the record still ends, nothing may reject unheard.
          ended();
          settle('client_closed');
        });
    },
    error(err, decisionHeaders) {
      if (answered) return;
      fail(STATUS_OF_ERROR[err.code], err.message, {
        ...decisionHeaders,
        'x-request-id': record.requestId,
        'x-error-code': err.code,
        'retry-after':
          err.retryAfterSeconds === undefined ? undefined : String(Math.max(1, Math.ceil(err.retryAfterSeconds))),
      });
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

/** grpc-message travels percent-encoded (the gRPC backend writes it so); a malformed escape is kept as it came. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
