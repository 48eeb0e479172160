// OpenTelemetry spans: one per request (SERVER), with children for routing,
// each upstream attempt (CLIENT) and whatever policies wrap in `inChildSpan`
// (fallbacks, shadows). The span context travels explicitly on `Call.trace`
// rather than through AsyncLocalStorage: when tracing is off nothing is set, and
// every hook below is one `undefined` check.
// The Junction's tracer travels in that context too (a context value), so two
// Junctions in one process trace apart and nothing here is process-global.
//
// W3C trace context: the caller's `traceparent` is continued; each upstream
// attempt sends its own span as the backend's parent.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { withCall, type Call, type Policy, type Reply } from '../call/types.js';
import type { Outcome } from '../routing/types.js';
import type { Observer, StartObserver } from './record.js';

const w3c = new W3CTraceContextPropagator();
const TRACER = createContextKey('junction.tracer');

/** The tracer that made the request's span: child spans are made by the same one. */
function tracerOf(ctx: Context): Tracer | undefined {
  return ctx.getValue(TRACER) as Tracer | undefined;
}

/** `ctx` with the tracer its child spans are to be made by (tests start a trace with it). */
export function withTracer(ctx: Context, tracer: Tracer): Context {
  return ctx.setValue(TRACER, tracer);
}

/** A Junction's request spans, made through `provider` (tests pass one with an in-memory exporter). */
export function requestSpans(provider: TracerProvider): { start: StartObserver; end: Observer } {
  return { start: startRequestSpan(provider.getTracer('junction')), end: endRequestSpan };
}

/** Start observer: opens the request's span, continuing the caller's trace. */
const startRequestSpan =
  (tracer: Tracer): StartObserver =>
  (record, headers) => {
    const parent = withTracer(w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter), tracer);
    const span = tracer.startSpan(
      `invoke ${record.objective}`,
      {
        kind: SpanKind.SERVER,
        startTime: record.start,
        attributes: {
          'junction.objective': record.objective,
          'junction.request_id': record.requestId,
          'http.request.method': record.method,
        },
      },
      parent,
    );
    record.trace = trace.setSpan(parent, span);
  };

/** End observer: closes the request's span with what the request did. */
const endRequestSpan: Observer = (record) => {
  if (record.trace === undefined) return;
  const span = trace.getSpan(record.trace);
  if (span === undefined) return;
  const o = record.outcome;
  if (o !== undefined) span.setAttributes(outcomeAttributes(o));
  span.setAttribute('http.response.status_code', record.status);
  span.setAttribute('junction.traffic_class', record.trafficClass);
  if (record.client !== undefined) span.setAttribute('junction.client', record.client);
  if (record.fallback !== undefined) span.setAttribute('junction.fallback', record.fallback);
  if (record.errorCode !== undefined) {
    span.setAttribute('error.type', record.errorCode);
    if (record.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorCode });
  }
  span.end(record.end);
};

/** The routing decision as a child span (decide() is pure and synchronous, so it is recorded after the fact). */
export function traceRouting(parent: Context, outcome: Outcome, start: number): void {
  const tracer = tracerOf(parent);
  if (tracer === undefined) return;
  tracer
    .startSpan('route', { kind: SpanKind.INTERNAL, startTime: start, attributes: outcomeAttributes(outcome) }, parent)
    .end();
}

/**
 * Runs `fn` under a child span of the call's current span; the call handed to
 * `fn` carries the child as its parent for anything below (attempts under a
 * fallback, …). Free when tracing is off. For policies: fallback, shadow, hedge.
 */
export function inChildSpan(
  call: Call,
  name: string,
  attributes: Attributes,
  fn: (call: Call) => Promise<Reply>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<Reply> {
  const parent = call.trace;
  const tracer = parent === undefined ? undefined : tracerOf(parent);
  if (parent === undefined || tracer === undefined) return fn(call);
  const span = tracer.startSpan(name, { kind, attributes }, parent);
  const ctx = trace.setSpan(parent, span);
  let child: Call;
  if (kind === SpanKind.CLIENT) {
    // The backend continues this trace with this span as its parent.
    const headers = { ...call.headers };
    w3c.inject(ctx, headers, defaultTextMapSetter);
    child = withCall(call, { headers, trace: ctx });
  } else {
    child = withCall(call, { trace: ctx });
  }
  let sent: Promise<Reply>;
  try {
    sent = fn(child);
  } catch (err) {
    sent = Promise.reject(err);
  }
  return sent.then(
    (reply) => {
      endOk(span, reply);
      return reply;
    },
    (err: unknown) => {
      endFailed(span, err);
      throw err;
    },
  );
}

/**
 * Wraps the send to a backend: each attempt (first try, retry, hedge,
 * fallback target, shadow copy) becomes a CLIENT span and sends `traceparent`.
 */
export const traceAttempts: Policy = (next) => (call) => {
  if (call.trace === undefined) return next(call);
  return inChildSpan(
    call,
    `upstream ${call.target.id}`,
    {
      'junction.objective': call.objective.name,
      'junction.target': call.target.id,
    },
    next,
    SpanKind.CLIENT,
  );
};

function endOk(span: Span, reply: Reply): void {
  span.setAttribute('http.response.status_code', reply.status);
  if (reply.fallback !== undefined) span.setAttribute('junction.fallback', reply.fallback);
  if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

function endFailed(span: Span, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('error.type', code);
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}

function outcomeAttributes(o: Outcome): Attributes {
  const a: Attributes = { 'junction.target': o.target.id, 'junction.rule': o.rule, 'junction.revision': o.revision };
  if (o.experiment !== undefined) a['junction.experiment'] = o.experiment;
  if (o.cell !== undefined) a['junction.cell'] = o.cell;
  return a;
}
