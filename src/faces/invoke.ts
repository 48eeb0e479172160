// The one invoke path every face shares: admit → route → send → reply.
// Faces differ only in what they declare (faces/types.ts: the interface they
// serve, their error shape, stream cut and usage reader), read here as data,
// never by name; a face that is not HTTP (gRPC) hands the path an Exchange of
// its own.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { forwardable } from '../call/headers.js';
import { RequestBody, type BodyLimits } from '../call/body.js';
import type { Call, Operation, Reply } from '../call/types.js';
import { JunctionError } from '../errors.js';
import { noteFailure, type RequestRecord } from '../observe/record.js';
import { readUsageOnTheSide } from '../observe/token-usage.js';
import { traceRouting } from '../observe/tracing.js';
import { decide } from '../routing/decide.js';
import type { Outcome } from '../routing/types.js';
import type { DataPlane, Face } from './types.js';
import { writeError } from '../http/error-reply.js';
import { writeReply, type ReplyDone, type ReplyGuard } from '../http/reply.js';
import { continueBody } from '../http/boundary.js';
import { AbortReason, abortError } from '../call/abort-reason.js';
import { Cancellation } from '../call/cancel.js';
import { budgets } from '../policy/deadline.js';
import { callerDeadlineMs, routingRequestFrom } from './request-headers.js';
import { sampleReply } from '../observe/reply-sample.js';
import { API_KEY_HEADER } from '../tenancy/keys.js';
import { refusedTokenLimit } from '../tenancy/token-limits.js';

/** Bodies up to this size that have not fully arrived are read before the upstream call (nginx's request buffering, bounded). */
const READ_FIRST_BYTES = 64 * 1024;

/** Headers never forwarded upstream: Junction's own routing metadata and the caller's key (either header). */
const NOT_FORWARDED: ReadonlySet<string> = new Set(['authorization', API_KEY_HEADER, 'x-model-override']);

export interface InvokeRequest {
  face: Face;
  operation: Operation;
  objective: string;
  /** Query string with its `?`, or ''. */
  query: string;
  /** Set by faces that had to read the body (OpenAI's `model`). */
  body?: RequestBody;
  /** A target named by the path (OIP `/versions/{v}`), treated as an override. */
  override?: string;
  /**
   * The face's own check of the request's headers (OIP's binary header),
   * run after the key, the objective and admission, before the body: a
   * caller without a key learns nothing from it.
   */
  checkHeaders?: (headers: IncomingHttpHeaders, objective: string) => void;
}

/** How the invoke path wants the body: bounded, and whole before the upstream call when a policy may resend it. */
export interface BodyWanted {
  maxBytes: number;
  objective: string;
  /** Read it whole first (retries, hedges, fallbacks and shadows send it again). */
  buffer: boolean;
  limits: BodyLimits | undefined;
}

/** One request as the invoke path sees it, whatever face it came through. */
export interface Exchange {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body, once admission and routing passed (an HTTP caller is told to send it only then). */
  body(wanted: BodyWanted): RequestBody | Promise<RequestBody>;
  /** Called once when the exchange ends: answered, or the caller gone. */
  onClose(listener: () => void): void;
  /** The exchange has ended. */
  readonly closed: boolean;
  /** The answer went out whole (a close before that is the caller leaving). */
  readonly answered: boolean;
  /** Sends the reply with Junction's decision headers; `onDone` once it is out (or cut by `guard.deadline`). */
  reply(reply: Reply, decisionHeaders: Record<string, string>, onDone: ReplyDone, guard: ReplyGuard): void;
  error(err: JunctionError, decisionHeaders?: Record<string, string>): void;
}

/** The HTTP side of an exchange. A class, not an object of closures: one allocation per request. */
class HttpExchange implements Exchange {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly face: Face,
    private readonly requestId: string,
  ) {}

  get method(): string {
    return this.req.method ?? 'POST';
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  body({ maxBytes, objective, buffer, limits }: BodyWanted): RequestBody | Promise<RequestBody> {
    const { req, res } = this;
    const declared = req.headers['content-length'];
    const declaredLength = declared === undefined ? undefined : Number(declared);
    const guard = limits === undefined ? undefined : { limits, owner: res };
    // Admitted, routed, within its declared length: now the caller may send its body.
    continueBody(req, res);
    // A small body still on its way is read before an upstream connection is taken: a slow
    // client then holds no connection another caller (of any objective) could use.
    const readFirst = buffer || (declaredLength !== undefined && declaredLength <= READ_FIRST_BYTES && !req.complete);
    return readFirst
      ? RequestBody.buffered(req, maxBytes, objective, declaredLength, guard)
      : RequestBody.streaming(req, maxBytes, objective, declaredLength, guard);
  }

  onClose(listener: () => void): void {
    this.res.on('close', listener); // 'close' comes once: `on` spares the wrapper `once` allocates
  }

  get closed(): boolean {
    return this.res.closed;
  }

  get answered(): boolean {
    return this.res.writableFinished;
  }

  reply(reply: Reply, headers: Record<string, string>, onDone: ReplyDone, guard: ReplyGuard): void {
    writeReply(this.res, reply, headers, onDone, guard);
  }

  error(err: JunctionError, headers?: Record<string, string>): void {
    writeError(this.res, err, this.face.errorBody, this.requestId, headers);
  }
}

export function invoke(
  dp: DataPlane,
  req: IncomingMessage,
  res: ServerResponse,
  record: RequestRecord,
  ir: InvokeRequest,
): Promise<void> {
  return invokeExchange(dp, new HttpExchange(req, res, ir.face, record.requestId), record, ir);
}

export async function invokeExchange(
  dp: DataPlane,
  req: Exchange,
  record: RequestRecord,
  ir: InvokeRequest,
): Promise<void> {
  const revision = dp.runtime.current;
  if (revision === undefined) throw new JunctionError('not_ready', 'no config loaded yet');
  revision.enter();
  let outcome: Outcome | undefined;
  let replied = false;
  try {
    record.objective = ir.objective;
    const live = revision.objectives.get(ir.objective);
    if (live === undefined) {
      // The key first: a caller without one learns nothing, not even which objectives exist.
      dp.authenticate?.(req);
      throw new JunctionError('objective_not_found', `no objective "${ir.objective}"`, { objective: ir.objective });
    }
    const o = live.compiled;
    record.started = true;
    if (dp.onStart !== undefined) for (const start of dp.onStart) start(record, req.headers);
    // A face that serves every interface (Junction's own) serves each objective's own methods.
    if (ir.face.interface === undefined && !o.config.methods.includes(req.method as 'POST')) {
      throw new JunctionError('method_not_allowed', `objective "${o.name}" accepts ${o.config.methods.join(', ')}`, {
        objective: o.name,
      });
    }

    // Listen for the caller leaving before the first await (admission, body buffering):
    // a caller gone by then must still abort the upstream call and free its slot.
    const controller = new Cancellation();
    let release: (() => void) | undefined;
    req.onClose(() => {
      release?.();
      if (!req.answered) controller.abort(new AbortReason('client_closed', 'the caller went away'));
    });

    const admitted = dp.admit?.(req, o, record, ir);
    const admission = admitted instanceof Promise ? await admitted : admitted; // no tick spent when admission is synchronous
    if (admission?.release !== undefined) {
      if (req.closed)
        admission.release(); // the caller left while admission was awaited
      else release = admission.release;
    }
    // The caller left while admission was awaited: nothing to route, read or send.
    if (controller.aborted) throw abortError(controller.reason, o.name, 'the caller went away');
    // A protocol face serves the objectives of its own interface.
    if (ir.face.interface !== undefined && o.interface !== ir.face.interface) {
      throw new JunctionError(
        'invalid_request',
        `objective "${o.name}" has interface ${o.interface}, not ${ir.face.interface}; call it at /v1/objectives/${o.name}`,
        { objective: o.name },
      );
    }
    ir.checkHeaders?.(req.headers, o.name);
    const routingReq = routingRequestFrom(req.headers, o.name);
    if (ir.override !== undefined) {
      routingReq.override = ir.override;
      routingReq.overrideSource = 'path';
    }
    routingReq.mayOverride = record.client !== undefined && admission?.mayOverride === true;
    routingReq.overrideTargets = admission?.overrideTargets;
    record.unit = routingReq.unit;
    record.context = routingReq.context;
    record.trafficClass = routingReq.trafficClass;
    const decideStart = record.trace === undefined ? 0 : performance.now();
    outcome = decide(revision.routing, o, routingReq, undefined, dp.buckets);
    record.outcome = outcome;
    if (record.trace !== undefined) traceRouting(record.trace, outcome, decideStart);

    const deadlines = budgets(o.config.policy, record.start, callerDeadlineMs(req.headers, o.name));
    const maxBytes = o.config.policy.maxBodyBytes;
    const wanted = ir.body ?? req.body({ maxBytes, objective: o.name, buffer: live.bufferBody, limits: dp.bodies });
    const body = wanted instanceof Promise ? await wanted : wanted; // no tick spent on a streamed body
    record.bytesIn = body.length;

    const call: Call = {
      objective: o,
      outcome,
      target: outcome.target,
      operation: ir.operation,
      method: req.method,
      query: ir.query,
      headers: forwardable(req.headers, NOT_FORWARDED),
      body,
      requestId: record.requestId,
      deadline: deadlines.start,
      replyDeadline: deadlines.reply,
      signal: controller.signal,
      abort: (reason) => controller.abort(reason),
      client: admission?.client,
      priority: admission?.priority,
      trace: record.trace,
      record,
    };

    const sent = performance.now();
    const reply = await live.send(call);
    record.upstreamMs = performance.now() - sent;
    record.status = reply.status;
    record.fallback = reply.fallback;
    record.firstByte = performance.now();
    const headers = decisionHeaders(record.requestId, outcome, routingReq.unit !== undefined);
    if (admission?.tokens !== undefined && ir.face.tokenLimitHeaders !== undefined)
      Object.assign(headers, ir.face.tokenLimitHeaders(admission.tokens));
    if (admission?.budgetWarning !== undefined) headers['x-junction-budget-warning'] = admission.budgetWarning;
    req.reply(
      reply,
      headers,
      (cut) => {
        if (cut !== undefined) record.cut = cut;
        revision.leave();
      },
      {
        deadline: deadlines.reply,
        // A stream cut by its budget says so in the face's own wire format (SPEC §3).
        finalEvent: ir.face.cutEvent,
        onCut: () => controller.abort(new AbortReason('reply_deadline', 'the reply ran past replyTimeoutMs')),
        count: dp.observers.length > 0 ? record : undefined,
      },
    );
    replied = true;
    if (dp.replySampler !== undefined && reply.body !== null && dp.replySampler.wantsReply(record))
      sampleReply(reply.body, record, dp.replySampler);
    // Tokens, for LLM objectives only (no side reader on anyone else's reply), in the face's answer shape;
    // a token limit settles with them.
    // A cached answer reports none (it cost no tokens).
    if (
      o.interface === 'openai' &&
      record.cache !== 'hit' &&
      (dp.observers.length > 0 || admission?.tokens !== undefined)
    )
      (ir.face.readUsage ?? readUsageOnTheSide)(reply.body, record);
    // A streamed body's headers go out with its first chunk (SSE: the first event), so that is the first byte.
    if (dp.observers.length > 0 && reply.body !== null && !Buffer.isBuffer(reply.body)) {
      reply.body.once('data', () => {
        record.firstByte = performance.now();
      });
    }
  } catch (err) {
    if (replied) {
      // The reply is on its way and will leave the revision when it ends: a failure of the
      // side work after it (sampling, usage, timing) is a bug to log, not a second answer.
      dp.log?.error({ err, requestId: record.requestId, objective: ir.objective }, 'internal error after the reply');
      return;
    }
    revision.leave();
    const jerr = noteFailure(record, err, dp.log);
    const headers = outcome ? decisionHeaders(record.requestId, outcome, record.unit !== undefined) : undefined;
    const refused = ir.face.tokenLimitHeaders === undefined ? undefined : refusedTokenLimit(err);
    req.error(jerr, refused === undefined ? headers : { ...headers, ...ir.face.tokenLimitHeaders!(refused) });
  }
}

function decisionHeaders(requestId: string, outcome: Outcome, hasUnit: boolean): Record<string, string> {
  return {
    'x-request-id': requestId,
    'x-model': outcome.target.id,
    'x-decision': hasUnit ? outcome.header : outcome.headerNoUnit,
  };
}
