// The one invoke path every face shares: admit → route → send → reply.
// Faces differ only in how they name the objective and shape errors; a face
// that is not HTTP (gRPC) hands the path an Exchange of its own.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { forwardable } from '../call/headers.js';
import { RequestBody } from '../call/body.js';
import type { Call, Operation, Reply } from '../call/types.js';
import { JunctionError, toJunctionError } from '../errors.js';
import type { RequestRecord } from '../observe/record.js';
import { traceRouting } from '../observe/tracing.js';
import { decide } from '../routing/decide.js';
import type { Outcome } from '../routing/types.js';
import type { DataPlane } from './data-plane.js';
import { writeError, type Face } from './error-reply.js';
import { writeReply } from './reply.js';
import { callerDeadlineMs, routingRequestFrom } from './request-headers.js';

/** Headers never forwarded upstream: Junction's own routing metadata and the caller's key. */
const NOT_FORWARDED: ReadonlySet<string> = new Set(['authorization', 'x-model-override']);

export interface InvokeRequest {
  face: Face;
  operation: Operation;
  objective: string;
  /** Query string with its `?`, or ''. */
  query: string;
  /** Set by faces that had to read the body (OpenAI's `model`). */
  body?: RequestBody;
  parsedBody?: Record<string, unknown>;
  /** A target named by the path (OIP `/versions/{v}`), treated as an override. */
  override?: string;
}

/** One request as the invoke path sees it, whatever face it came through. */
export interface Exchange {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as the face has it: the socket stream (HTTP) or the whole message (gRPC). */
  readonly body: Readable | Buffer;
  /** Called once when the exchange ends: answered, or the caller gone. */
  onClose(listener: () => void): void;
  /** The exchange has ended. */
  readonly closed: boolean;
  /** The answer went out whole (a close before that is the caller leaving). */
  readonly answered: boolean;
  /** Sends the reply with Junction's decision headers; `onDone` once it is out (or cut). */
  reply(reply: Reply, decisionHeaders: Record<string, string>, onDone: (err?: Error) => void): void;
  error(err: JunctionError, decisionHeaders?: Record<string, string>): void;
}

function httpExchange(req: IncomingMessage, res: ServerResponse, face: Face, requestId: string): Exchange {
  return {
    method: req.method ?? 'POST',
    headers: req.headers,
    body: req,
    onClose: (listener) => res.once('close', listener),
    get closed() { return res.closed; },
    get answered() { return res.writableFinished; },
    reply: (reply, headers, onDone) => writeReply(res, reply, headers, onDone),
    error: (err, headers) => writeError(res, err, face, requestId, headers),
  };
}

export function invoke(dp: DataPlane, req: IncomingMessage, res: ServerResponse, record: RequestRecord, ir: InvokeRequest): Promise<void> {
  return invokeExchange(dp, httpExchange(req, res, ir.face, record.requestId), record, ir);
}

export async function invokeExchange(dp: DataPlane, req: Exchange, record: RequestRecord, ir: InvokeRequest): Promise<void> {
  const revision = dp.runtime.current;
  if (revision === undefined) throw new JunctionError('not_ready', 'no config loaded yet');
  revision.enter();
  let outcome: Outcome | undefined;
  try {
    record.objective = ir.objective;
    const live = revision.objectives.get(ir.objective);
    if (live === undefined) throw new JunctionError('objective_not_found', `no objective "${ir.objective}"`, { objective: ir.objective });
    const o = live.compiled;
    record.started = true;
    if (dp.onStart !== undefined) for (const start of dp.onStart) start(record, req.headers);
    if (ir.face === 'junction' && !o.config.methods.includes(req.method as 'POST')) {
      throw new JunctionError('method_not_allowed', `objective "${o.name}" accepts ${o.config.methods.join(', ')}`, { objective: o.name });
    }

    // Listen for the caller leaving before the first await (admission, body buffering):
    // a caller gone by then must still abort the upstream call and free its slot.
    const controller = new AbortController();
    let release: (() => void) | undefined;
    req.onClose(() => {
      release?.();
      if (!req.answered) controller.abort(new JunctionError('invalid_request', 'client went away'));
    });

    const admitted = dp.admit?.(req, o, record);
    const admission = admitted instanceof Promise ? await admitted : admitted; // no tick spent when admission is synchronous
    if (admission?.release !== undefined) {
      if (req.closed) admission.release(); // the caller left while admission was awaited
      else release = admission.release;
    }
    // A protocol face serves the objectives of its own interface (face names are interface names).
    if (ir.face !== 'junction' && o.interface !== ir.face) {
      throw new JunctionError('invalid_request', `objective "${o.name}" has interface ${o.interface}, not ${ir.face}; call it at /v1/objectives/${o.name}`, { objective: o.name });
    }
    const routingReq = routingRequestFrom(req.headers, o.name);
    if (ir.override !== undefined) {
      routingReq.override = ir.override;
      routingReq.overrideSource = 'path';
    }
    routingReq.mayOverride = record.client !== undefined && admission?.mayOverride === true;
    record.unit = routingReq.unit;
    record.context = routingReq.context;
    record.trafficClass = routingReq.trafficClass;
    const decideStart = record.trace === undefined ? 0 : performance.now();
    outcome = decide(revision.routing, o, routingReq);
    record.outcome = outcome;
    if (record.trace !== undefined) traceRouting(record.trace, outcome, decideStart);

    const callerMs = callerDeadlineMs(req.headers, o.name);
    const budget = callerMs === undefined ? o.config.policy.timeoutMs : Math.min(callerMs, o.config.policy.timeoutMs);
    const declared = req.headers['content-length'];
    const maxBytes = o.config.policy.maxBodyBytes;
    const source = req.body;
    const body = ir.body ?? (Buffer.isBuffer(source)
      ? RequestBody.whole(source, maxBytes, o.name)
      : live.bufferBody
        ? await RequestBody.buffered(source, maxBytes, o.name)
        : RequestBody.streaming(source, maxBytes, o.name, declared === undefined ? undefined : Number(declared)));

    const call: Call = {
      objective: o, outcome, target: outcome.target, operation: ir.operation,
      method: req.method, query: ir.query,
      headers: forwardable(req.headers, NOT_FORWARDED),
      body, requestId: record.requestId,
      deadline: record.start + budget,
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      parsedBody: ir.parsedBody,
      client: admission?.client, priority: admission?.priority,
      trace: record.trace,
      record,
    };

    const sent = performance.now();
    const reply = await live.send(call);
    record.upstreamMs = performance.now() - sent;
    record.status = reply.status;
    record.fallback = reply.fallback;
    record.firstByte = performance.now();
    req.reply(reply, decisionHeaders(record.requestId, outcome, routingReq.unit !== undefined), () => revision.leave());
    // A streamed body's headers go out with its first chunk (SSE: the first event), so that is the first byte.
    if (dp.observers.length > 0 && reply.body !== null && !Buffer.isBuffer(reply.body)) {
      reply.body.once('data', () => { record.firstByte = performance.now(); });
    }
  } catch (err) {
    revision.leave();
    const jerr = toJunctionError(err);
    record.status = jerr.status;
    record.errorCode = jerr.code;
    if (jerr.code === 'internal') dp.log?.error({ err, requestId: record.requestId, objective: ir.objective }, 'internal error');
    req.error(jerr, outcome ? decisionHeaders(record.requestId, outcome, record.unit !== undefined) : undefined);
  }
}

function decisionHeaders(requestId: string, outcome: Outcome, hasUnit: boolean): Record<string, string> {
  return {
    'x-request-id': requestId,
    'x-model': outcome.target.id,
    'x-decision': hasUnit ? outcome.header : outcome.headerNoUnit,
  };
}
