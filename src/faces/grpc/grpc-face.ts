// The Open Inference Protocol over gRPC (SPEC §13): `serve --grpc-port N`.
// Only the face is new: model calls go through the shared invoke path
// (admission, routing, policies, the request record and its observers), with
// `model_name` as the objective and `model_version` as an override request.
// ModelInfer's message is never decoded here: its model name and version are
// read from the wire bytes, and the bytes travel on as the call's body.
//
// The face owns its HTTP/2 streams (node:http2, not a gRPC server library,
// which would read and inflate a whole message before anything could refuse
// it). On each stream, before one byte of its message is read: the path, the
// content type, the API key (from the request headers: a caller without a
// valid one never has its message read), the encoding and the deadline. Then
// the message (message.ts): its declared length against the listener's limit,
// its first bytes' model name against that objective's maxBodyBytes, the
// declared length reserved from the data plane's shared body budget (given
// back when the stream closes, whatever closes it), and only then the rest.
// HTTP/2 flow control keeps what a refused or unread stream can push to one
// window. Sessions: a cap on concurrent streams and header size, a peer that
// has not sent its preface (or finished its TLS handshake) in time is cut,
// an idle one closed.
import { performance } from 'node:perf_hooks';
import {
  constants,
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
  type Settings,
} from 'node:http2';
import type { Operation } from '../../call/types.js';
import { JunctionError, toJunctionError } from '../../errors.js';
import { loadOipGrpcService, SERVICE_NAME, type MethodName, type OipGrpcService } from '../../grpc/service.js';
import { GRPC_CONTENT_TYPE } from '../../grpc/content-type.js';
import { Status, STATUS_OF_ERROR } from '../../grpc/status.js';
import { peekModelName, peekModelRef, readModelRef, type LeadingRef, type ModelRef } from '../../grpc/wire.js';
import { RequestBody } from '../../call/body.js';
import type { BodyWanted } from '../invoke.js';
import { finishRequest, newRecord, noteFailure, type RequestRecord } from '../../observe/record.js';
import { RequestIds } from '../../observe/request-ids.js';
import type { DataPlane } from '../types.js';
import { readiness } from '../health.js';
import { invokeExchange } from '../invoke.js';
import { guardConnections } from '../../http/connections.js';
import type { ListenerTls } from '../../http/listener.js';
import { oipFace, serverMetadata, versionOverride } from '../oip.js';
import { type CallDeadline, deadlinePassed, errorMetadata, grpcExchange, sendMessage, sendStatus } from './exchange.js';
import {
  type Encoding,
  type OpenMessage,
  prefixOf,
  readUnaryMessage,
  Reservation,
  watchMessageRate,
} from './message.js';
import { headersOf, timeoutMs } from './metadata.js';

export interface GrpcFaceOptions {
  port: number;
  host?: string;
  /** Largest message accepted, compressed or inflated (RESOURCE_EXHAUSTED beyond it); objectives' maxBodyBytes apply within it. */
  maxMessageBytes?: number;
  /** Reported by ServerMetadata. */
  version?: string;
  /** Serve gRPC over TLS (h2 by ALPN) with this certificate and key: the same as the other listeners'. */
  tls?: ListenerTls;
  /**
   * Serve plaintext gRPC even when the data plane serves TLS (`serve
   * --grpc-plaintext`); without it `startJunction` gives this listener the
   * data plane's certificate and key.
   */
  plaintext?: boolean;
  /** Calls one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; default 100). */
  maxConcurrentStreams?: number;
  /** Bytes of request headers (metadata) a call may send (SETTINGS_MAX_HEADER_LIST_SIZE; default 16 KiB). */
  maxHeaderBytes?: number;
  /** A connection with no call open for this long is closed with GOAWAY (default 65 s, as HTTP's keep-alive). */
  idleTimeoutMs?: number;
  /** A connection must finish its TLS handshake and send the HTTP/2 preface within this (default 10 s). */
  handshakeTimeoutMs?: number;
  /**
   * Open connections at most (http/connections.ts: at the cap the oldest
   * connection with no call open is shed; default from the file-descriptor limit).
   */
  maxConnections?: number;
  /** How long close() lets calls in flight finish before cutting them (default 2 s). */
  closeGraceMs?: number;
  /**
   * Read gzip- and deflate-compressed messages (inflated as a stream under the
   * same limits and budget; default true). false refuses them: UNIMPLEMENTED.
   */
  compression?: boolean;
  /** Memory (MB) one connection's HTTP/2 session may use for queued frames and header tables (default 64). */
  maxSessionMemoryMb?: number;
}

export interface GrpcFace {
  /** The bound port (useful with port 0). */
  port: number;
  /** Whether the listener serves TLS. */
  tls: boolean;
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024;
/** Request messages of the calls other than ModelInfer (a model name and version) are small. */
const MAX_SMALL_MESSAGE = 64 * 1024;
/**
 * Per-stream and per-connection HTTP/2 receive windows: what a caller may push
 * before the face reads (the most an unread, refused stream can cost), and
 * enough that a large message is not slowed by window updates.
 */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 4 * 1024 * 1024;
const CONTENT_TYPE = /^application\/grpc(\+proto)?(;|$)/;
const PATH_PREFIX = `/${SERVICE_NAME}/`;
/** On a connection's socket: whether its session has a call open (for the connection guard). */
const BUSY = Symbol('junction.grpc.busy');

const OPERATION: Readonly<Record<MethodName, Operation | undefined>> = {
  ServerLive: undefined,
  ServerReady: undefined,
  ServerMetadata: undefined,
  ModelReady: 'ready',
  ModelMetadata: 'metadata',
  ModelInfer: 'infer',
};

export async function startGrpcFace(dp: DataPlane, opts: GrpcFaceOptions): Promise<GrpcFace> {
  const service = loadOipGrpcService();
  const maxMessage = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  const idleMs = opts.idleTimeoutMs ?? 65_000;
  const handshakeMs = opts.handshakeTimeoutMs ?? 10_000;
  const settings: Settings = {
    maxConcurrentStreams: opts.maxConcurrentStreams ?? 100,
    maxHeaderListSize: opts.maxHeaderBytes ?? 16 * 1024,
    initialWindowSize: STREAM_WINDOW,
    enablePush: false,
  };
  const common = {
    settings,
    maxSessionMemory: opts.maxSessionMemoryMb ?? 64,
    maxHeaderListPairs: 128,
    // Frames a peer may make the session answer (pings, settings) before it is refused: HTTP/2's own floods.
    maxOutstandingPings: 10,
    maxSettings: 32,
    unknownProtocolTimeout: handshakeMs,
  };
  const server: Http2Server | Http2SecureServer =
    opts.tls === undefined
      ? createServer(common)
      : createSecureServer({
          ...common,
          cert: opts.tls.cert,
          key: opts.tls.key,
          allowHTTP1: false,
          ALPNProtocols: ['h2'],
          handshakeTimeout: handshakeMs,
        });
  // The connection guard every listener has: a connection that sends nothing is cut, a cap on open ones.
  const guard = guardConnections(
    server,
    { maxConnections: opts.maxConnections, firstByteTimeoutMs: handshakeMs },
    {
      busy: (socket) => (socket as unknown as Record<symbol, (() => boolean) | undefined>)[BUSY]?.() === true,
      log: (fields, msg) => dp.log?.warn(fields, msg),
      name: 'gRPC',
    },
  );
  const ids = new RequestIds(); // one per listener, as on the data plane
  const ctx: FaceContext = {
    dp,
    service,
    ids,
    maxMessage,
    compression: opts.compression !== false,
    version: opts.version ?? '',
  };
  /** Calls open per session: a session is idle when it has none. */
  const open = new Map<Http2Session, number>();
  const sessions = new Set<Http2Session>();

  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    open.set(session, 0);
    // The guard knows sockets, not sessions: the socket says whether its session has a call open.
    // (session.socket is node:http2's proxy; a symbol set on it lands on the socket itself.)
    (session.socket as unknown as Record<symbol, () => boolean>)[BUSY] = () => (open.get(session) ?? 0) > 0;
    // A peer that never sends its preface (its SETTINGS) holds a socket for nothing.
    const preface = setTimeout(() => session.destroy(), handshakeMs);
    session.once('remoteSettings', () => clearTimeout(preface));
    const idle = () => {
      if ((open.get(session) ?? 0) === 0 && !session.closed) session.close();
    };
    session.on('timeout', idle); // once: re-arming below sets the time, not another listener
    session.setTimeout(idleMs);
    try {
      session.setLocalWindowSize(CONNECTION_WINDOW);
    } catch {
      // the session went away before it was set up
    }
    session.on('error', () => undefined); // the session is destroyed; its streams see 'close'
    session.once('close', () => {
      clearTimeout(preface);
      sessions.delete(session);
      open.delete(session);
    });
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      open.set(session, (open.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const left = (open.get(session) ?? 1) - 1;
        open.set(session, left);
        if (left === 0 && !session.closed && !session.destroyed) session.setTimeout(idleMs); // re-armed: idle from now
      });
      onStream(ctx, stream, headers);
    });
  });
  server.on('sessionError', () => undefined);
  // A handshake that failed or stalled: Node.js destroys the socket; nothing to add.
  if (opts.tls !== undefined) server.on('tlsClientError', () => undefined);

  const host = opts.host ?? '127.0.0.1';
  const address = `${host}:${opts.port}`;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? Object.assign(new Error(`listen EADDRINUSE: gRPC address ${address} already in use`), {
              code: 'EADDRINUSE',
            })
          : err,
      );
    server.once('error', failed);
    server.listen({ port: opts.port, host }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err) => dp.log?.error({ err: String(err) }, 'gRPC listener error'));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    tls: opts.tls !== undefined,
    close: () => {
      // GOAWAY first: no new calls; calls in flight get the grace to finish, then whatever is left is cut.
      for (const session of sessions) if (!session.closed) session.close();
      return guard.drain(opts.closeGraceMs ?? 2000);
    },
  };
}

interface FaceContext {
  dp: DataPlane;
  service: OipGrpcService;
  ids: RequestIds;
  maxMessage: number;
  compression: boolean;
  version: string;
}

/** A refusal made before the call reached the invoke path: trailers-only, recorded like any other for model calls. */
function refuse(
  ctx: FaceContext,
  stream: ServerHttp2Stream,
  record: RequestRecord | undefined,
  err: JunctionError,
  code: Status = STATUS_OF_ERROR[err.code],
): void {
  try {
    sendStatus(stream, code, err.message, errorMetadata(err, record?.requestId ?? ctx.ids.next()));
  } catch (e) {
    ctx.dp.log?.error({ err: String(e) }, 'could not write a gRPC answer');
  }
  if (record === undefined) return;
  noteFailure(record, err, ctx.dp.log);
  record.end = performance.now();
  finishRequest(
    ctx.dp.observers,
    record,
    { writableFinished: true, headersSent: false, statusCode: err.status },
    record.end,
    ctx.dp.log,
  );
}

function onStream(ctx: FaceContext, stream: ServerHttp2Stream, raw: IncomingHttpHeaders): void {
  const start = performance.now();
  // A stream error (the caller's RST with an error code) must never become an uncaught exception.
  stream.on('error', () => undefined);
  const path = raw[':path'];
  const method = typeof path === 'string' && path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : '';
  const type = raw['content-type'];
  if (typeof type !== 'string' || !CONTENT_TYPE.test(type)) {
    // Not gRPC at all: HTTP's answer (gRPC over HTTP/2: 415), and the stream is reset unread.
    if (!stream.destroyed) {
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: true });
      if (!stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
    }
    return;
  }
  if (raw[':method'] !== 'POST' || !Object.hasOwn(OPERATION, method)) {
    refuse(
      ctx,
      stream,
      undefined,
      new JunctionError('not_found', `no gRPC method ${String(path).slice(0, 200)}`),
      Status.UNIMPLEMENTED,
    );
    return;
  }
  const name = method as MethodName;
  const operation = OPERATION[name];
  const record =
    operation === undefined ? undefined : newRecord(ctx.ids.fromHeader(raw['x-request-id']), 'POST', path!, start);
  // One answer and one record per call, whichever refusal comes first.
  let failed = false;
  const fail = (err: JunctionError, code?: Status) => {
    if (failed) return;
    failed = true;
    refuse(ctx, stream, record, err, code);
  };

  let deadline: CallDeadline;
  let encoding: Encoding;
  try {
    // The key first, from the headers: a caller without a valid one never has its message read.
    if (operation !== undefined) ctx.dp.authenticate?.({ headers: raw });
    const ms = timeoutMs(raw['grpc-timeout']);
    deadline = { at: ms === undefined ? Infinity : start + ms, ms: ms ?? Infinity };
    encoding = encodingOf(raw['grpc-encoding'], ctx.compression);
  } catch (err) {
    const jerr = toJunctionError(err);
    fail(jerr, jerr.code === 'method_not_allowed' ? Status.UNIMPLEMENTED : undefined);
    return;
  }

  // Whatever ends the call gives its share of the budget back.
  const reservation = new Reservation(ctx.dp.bodies?.memory);
  stream.once('close', () => reservation.release());
  let expire: (() => void) | undefined = () => {
    fail(new JunctionError('deadline_exceeded', "the caller's deadline passed before its message arrived"));
  };
  const timer = Number.isFinite(deadline.at)
    ? setTimeout(() => expire?.(), Math.max(0, deadline.at - performance.now()))
    : undefined;
  stream.once('close', () => clearTimeout(timer));

  // The message's leading model reference names the objective (whose limit may be tighter) and,
  // when the message is not compressed, lets the rest of it stream on to the backend unread.
  const objectiveLimit = (head: Buffer, final: boolean) => {
    const peeked = peekModelName(head);
    if (peeked === undefined && !final) return undefined;
    if (typeof peeked !== 'string') return { maxBytes: ctx.maxMessage, objective: undefined };
    const live = ctx.dp.runtime.current?.objectives.get(peeked);
    // Streamed when its whole reference (the name, and the version if it follows) is known.
    const ref = encoding === 'identity' ? peekModelRef(head, final) : null;
    return {
      maxBytes: live?.compiled.config.policy.maxBodyBytes ?? ctx.maxMessage,
      objective: peeked,
      streamable: ref !== null && ref !== undefined,
      readOn: ref === undefined,
    };
  };
  readUnaryMessage(stream, {
    maxBytes: operation === 'infer' ? ctx.maxMessage : MAX_SMALL_MESSAGE,
    limitFor: operation === 'infer' ? objectiveLimit : () => ({ maxBytes: MAX_SMALL_MESSAGE, objective: undefined }),
    reservation,
    encoding,
    rates: ctx.dp.bodies,
    open: operation === 'infer',
  })
    .then(
      (message) => {
        if (stream.destroyed) return;
        if (operation === undefined) {
          expire = undefined;
          answerServerCall(ctx, stream, name, message as Buffer);
          return;
        }
        const exchange = modelCall(ctx, stream, raw, record!, name, operation, deadline, message, reservation);
        expire = exchange === undefined ? undefined : () => exchange.expire();
      },
      (err: unknown) => {
        expire = undefined;
        const jerr = toJunctionError(err);
        if (jerr.code === 'client_closed' || stream.destroyed) {
          if (record !== undefined) {
            // The caller left (or its deadline passed) before its message arrived.
            const cut = deadlinePassed(deadline.at, deadline.ms) ? 'deadline_exceeded' : 'client_closed';
            fail(new JunctionError(cut, jerr.message));
          }
          return;
        }
        fail(jerr);
      },
    )
    .catch((err: unknown) => {
      // A bug past every handler above: the call still ends, with one answer and one record.
      ctx.dp.log?.error({ err: String(err) }, 'internal error on a gRPC call');
      fail(toJunctionError(err));
    });
}

/** `grpc-encoding`: identity always; gzip and deflate when compression is on. */
function encodingOf(value: string | string[] | undefined, compression: boolean): Encoding {
  if (value === undefined || value === 'identity') return 'identity';
  if (compression && (value === 'gzip' || value === 'deflate')) return value;
  throw new JunctionError(
    'method_not_allowed',
    `grpc-encoding ${String(value).slice(0, 40)} is not accepted (accepted: identity${compression ? ', gzip, deflate' : ''})`,
  );
}

function answerServerCall(ctx: FaceContext, stream: ServerHttp2Stream, name: MethodName, _message: Buffer): void {
  const value =
    name === 'ServerLive'
      ? { live: true }
      : name === 'ServerReady'
        ? { ready: readiness(ctx.dp.runtime.current).ready }
        : serverMetadata({ version: ctx.version || ctx.dp.version });
  sendMessage(stream, {}, ctx.service.decoded[name]!.responseSerialize(value));
}

function modelCall(
  ctx: FaceContext,
  stream: ServerHttp2Stream,
  raw: IncomingHttpHeaders,
  record: RequestRecord,
  method: MethodName,
  operation: Operation,
  deadline: CallDeadline,
  message: Buffer | OpenMessage,
  reservation: Reservation,
): ReturnType<typeof grpcExchange> | undefined {
  const { dp, service } = ctx;
  const headers = headersOf(raw, deadline.at, performance.now());
  // ModelInfer's message is the body, as it came; the other calls carry none.
  if (operation === 'infer') headers['content-type'] = GRPC_CONTENT_TYPE;
  const encode = (value: object) => service.decoded[method]!.responseSerialize(value);
  let model: ModelRef;
  try {
    model = !Buffer.isBuffer(message)
      ? leadingRef(message.head)
      : operation === 'infer'
        ? readModelRef(message)
        : nameAndVersion(decodeSmall(service, method, message));
  } catch (err) {
    refuse(ctx, stream, record, toJunctionError(err));
    return undefined;
  }
  const body = Buffer.isBuffer(message)
    ? (wanted: BodyWanted) =>
        grpcBody(
          RequestBody.whole(operation === 'infer' ? message : Buffer.alloc(0), wanted.maxBytes, wanted.objective),
        )
    : (wanted: BodyWanted) => openBody(ctx, stream, message, model as LeadingRef, reservation, wanted);
  const exchange = grpcExchange(
    stream,
    headers,
    body,
    record,
    { encode, method, operation },
    deadline,
    dp.observers,
    dp.log,
  );
  const ir = {
    face: oipFace,
    operation,
    objective: model.name,
    query: '',
    override: model.version === '' ? undefined : versionOverride(dp, model.name, model.version),
  };
  invokeExchange(dp, exchange, record, ir).catch((err: unknown) => {
    // Refusals before the invoke path's own error handling (no config loaded yet).
    exchange.error(noteFailure(record, err, dp.log));
  });
  return exchange;
}

/**
 * The reference the reader found whole in a streamed message's first bytes
 * (read as all there is: it was whole in them, or they would not have been
 * streamed); a JunctionError, never a TypeError, if that ever did not hold.
 */
function leadingRef(head: Buffer): LeadingRef {
  const ref = peekModelRef(head, true);
  if (ref === null || ref === undefined)
    throw new JunctionError('invalid_request', 'the message does not open with its model reference');
  return ref;
}

/** Marks a body as a gRPC caller's (its reply may come back as a stream). */
function grpcBody(body: RequestBody): RequestBody {
  body.grpcCaller = true;
  return body;
}

/**
 * The most that a message being streamed holds of the shared budget at a
 * time: its stream's receive window and a read buffer, not its length.
 */
const STREAM_HOLD = 2 * 1024 * 1024;

/**
 * The body of a ModelInfer message whose rest is still on its stream. Read
 * whole when a policy may send it again (through the same reader, its length
 * reserved first); otherwise streamed on as it arrives, the bytes after its
 * model reference, which the backend replaces with its own.
 */
function openBody(
  ctx: FaceContext,
  stream: ServerHttp2Stream,
  message: OpenMessage,
  ref: LeadingRef,
  reservation: Reservation,
  wanted: BodyWanted,
): RequestBody | Promise<RequestBody> {
  if (wanted.buffer) {
    // The prefix and first bytes go back on the stream: the one reader reads the whole message.
    stream.unshift(Buffer.concat([prefixOf(message.length), message.head]));
    const whole = readUnaryMessage(stream, {
      maxBytes: message.length,
      limitFor: () => ({ maxBytes: message.length, objective: message.objective }),
      reservation,
      encoding: 'identity',
      rates: ctx.dp.bodies,
    });
    stream.resume(); // paused when the first bytes were read
    return whole.then((bytes) => grpcBody(RequestBody.whole(bytes as Buffer, wanted.maxBytes, wanted.objective)));
  }
  reservation.take(Math.min(message.length, STREAM_HOLD), wanted.objective);
  stream.unshift(message.head.subarray(ref.end));
  const body = RequestBody.streaming(stream, wanted.maxBytes, wanted.objective, message.length - ref.end);
  body.afterModelRef = true;
  grpcBody(body);
  watchRate(ctx, stream, wanted.objective);
  return body;
}

/** A message streamed slower than the data plane's minimum body rate is cut (408), as an HTTP body is. */
function watchRate(ctx: FaceContext, stream: ServerHttp2Stream, objective: string): void {
  let bytesRead = 0;
  // A listener beside the backend's: counts what flows; the stream stays paused until the backend reads.
  const count = (chunk: Buffer) => {
    bytesRead += chunk.length;
  };
  const unwatch = watchMessageRate(
    ctx.dp.bodies,
    () => bytesRead,
    () => objective,
    (err) => stream.destroy(err),
  );
  if (unwatch === undefined) return;
  stream.on('data', count);
  const stop = () => {
    stream.off('data', count);
    unwatch();
  };
  stream.once('end', stop);
  stream.once('close', stop);
}

function decodeSmall(service: OipGrpcService, method: MethodName, message: Buffer): unknown {
  try {
    return service.decoded[method]!.requestDeserialize(message);
  } catch (err) {
    throw new JunctionError('invalid_request', `${method} request is not a valid protobuf message: ${String(err)}`);
  }
}

function nameAndVersion(req: unknown): ModelRef {
  const { name, version } = req as { name?: string; version?: string };
  return { name: name ?? '', version: version ?? '' };
}
