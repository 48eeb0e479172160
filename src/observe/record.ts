// What one request did, filled in by the invoke path as it goes and handed to
// every observer (metrics, decision log, access log) once it ends. One record,
// many readers: nothing on the hot path is measured twice.
import type { Logger } from '../call/hooks.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from '@opentelemetry/api';
import type { TrafficClass } from '../config/schema.js';
import { ERRORS, toJunctionError, type ErrorCode, type JunctionError } from '../errors.js';
import type { Outcome } from '../routing/types.js';
import type { ShadowResult } from './telemetry.js';

/**
 * A shadow copy's fate as the decision log writes it: `sent` until it settles,
 * then `agree`/`disagree` (with `agreement`) when compared, `error`, `timeout`
 * (not settled within the shadow timeout), or `dropped` (queue full); a copy
 * with no comparator that answered stays `sent`.
 */
export interface ShadowNote {
  target: string;
  result: ShadowResult | 'timeout';
  agreement?: number;
}

/**
 * How a decision was used: `invoke` served a request; `decide` only answered
 * POST /v1/decide (the client calls the backend); `sdk` and `edge` were made
 * elsewhere (the client SDK, a header-routed proxy) and reported through
 * POST /v1/exposures.
 */
export type DecisionVia = 'invoke' | 'decide' | 'sdk' | 'edge';

export interface RequestRecord {
  requestId: string;
  via: DecisionVia;
  method: string;
  /** URL path without the query string. */
  path: string;
  /** performance.now() when the request arrived. */
  start: number;
  /**
   * performance.now() when the first byte of the response went out: for a
   * streamed reply (SSE) the first body chunk, else when headers were written.
   */
  firstByte: number | undefined;
  /** performance.now() when the response ended. */
  end: number;
  objective: string | undefined;
  /** The invoke path found the objective and ran the start observers: end observers pair with them. */
  started: boolean;
  outcome: Outcome | undefined;
  unit: string | undefined;
  context: Readonly<Record<string, string>> | undefined;
  trafficClass: TrafficClass;
  client: string | undefined;
  status: number;
  errorCode: ErrorCode | undefined;
  /**
   * Why a reply that had started was cut (its reply budget ran out, the
   * upstream broke mid-body): the request ends with this code, whatever
   * status went out first.
   */
  cut: ErrorCode | undefined;
  /** What failed, in full (the cause's message may name addresses): for the logs only, never a reply. */
  errorDetail: string | undefined;
  /** Body bytes sent to the caller (counted only when someone observes). */
  bytesOut: number;
  /** Bytes of the request body when known (read whole, or a declared content-length): the cost's estimate of the prompt. */
  bytesIn?: number | undefined;
  /** SSE events of a streamed LLM reply, counted as they pass (observe/token-usage.ts): the cost's estimate of the completion when no usage came. */
  events?: number | undefined;
  /** Target id (or `static`) when a fallback answered. */
  fallback: string | undefined;
  /** Time spent waiting on the backend until its reply started, ms. */
  upstreamMs: number | undefined;
  /** Shadow copies of this request and what became of them (as far as known when the request ended). */
  shadows: ShadowNote[] | undefined;
  /**
   * Resolves once every shadow copy has settled or the shadow timeout passed,
   * whichever is first (never rejects). The decision log waits on it; nothing
   * on the live path does.
   */
  shadowsSettled: Promise<void> | undefined;
  /** The request's span context, when tracing is on. */
  trace: Context | undefined;
  /** Tokens the backend reported (OpenAI-compatible replies; observe/token-usage.ts), once the reply ended. */
  usage?: TokenUsage | undefined;
  /** The replica the backend picked (its URL without credentials or query), for remote backends. */
  endpoint?: string | undefined;
  /** Why that replica (`p2c`, `least-load`, `prefix-hit`, `prefix-spill`, `adapter-hit`, `fallback-no-report`, …). */
  pick?: string | undefined;
  /** What the call cost (SPEC §16), from the answering target's price and the usage; set when the reply ended. */
  cost?: CallCost | undefined;
  /** The response cache's part in the answer (objectives with `cache`): served from it, stored into it, or passed by. */
  cache?: 'hit' | 'miss' | 'bypass' | undefined;
}

/** One call's cost: an amount in the price's currency, `estimated` when the reply reported no usage (counted from its text). */
export interface CallCost {
  amount: number;
  currency: string;
  estimated: boolean;
  /** The tokens the amount was counted from: the usage reported, the estimate, or none (a cache hit). */
  tokens?: TokenUsage | undefined;
}

/** Tokens a model reported for one request (OpenAI-compatible `usage`), read on the side of the reply. */
export interface TokenUsage {
  prompt: number;
  completion: number;
  /** Of the prompt, tokens read from the server's prompt cache (present when the reply said so and it is above 0). */
  cached?: number;
}

/** What observers get: the request's one "request ended" record, read-only to them. */
export type EndedRecord = Readonly<RequestRecord>;

export type Observer = (record: EndedRecord) => void;

/** Runs once the objective is known, before routing: for what is measured from the start (in-flight gauges, spans). */
export type StartObserver = (record: RequestRecord, headers: IncomingHttpHeaders) => void;

export function newRecord(requestId: string, method: string, path: string, start: number): RequestRecord {
  return {
    requestId,
    via: 'invoke',
    method,
    path,
    start,
    firstByte: undefined,
    end: 0,
    objective: undefined,
    started: false,
    outcome: undefined,
    unit: undefined,
    context: undefined,
    trafficClass: 'live',
    client: undefined,
    status: 0,
    errorCode: undefined,
    cut: undefined,
    errorDetail: undefined,
    bytesOut: 0,
    fallback: undefined,
    upstreamMs: undefined,
    shadows: undefined,
    shadowsSettled: undefined,
    trace: undefined,
  };
}

/** For the shadow policy: note a copy on the request's record (the decision log writes it); the note is updated as the copy settles. */
export function noteShadow(record: RequestRecord | undefined, target: string, result: ShadowResult): ShadowNote {
  const note: ShadowNote = { target, result };
  if (record !== undefined) (record.shadows ??= []).push(note);
  return note;
}

/** What the lifecycle knows of the response when it closed. */
export interface ClosedResponse {
  /** The whole response was handed to the socket. */
  readonly writableFinished: boolean;
  readonly headersSent: boolean;
  /** The status written with the headers (read only when they were sent). */
  readonly statusCode: number;
}

/**
 * Ends the request's record, once, when the response closes. Its status is
 * what the caller actually got: a reply cut mid-body ends with the cut's code;
 * a caller gone before the end is `client_closed` (499); a status is taken
 * from the response only once it was really written, never its default.
 *
 * The record itself is ended and handed to observers, not a frozen copy: a
 * spread-and-freeze of its 25 fields measured ~1.7 µs, 1.5 % of a proxied
 * request. Observers read it synchronously; one that keeps it past the call
 * (the decision log waiting on shadows) takes its own copy.
 */
export function endRecord(record: RequestRecord, res: ClosedResponse, end: number): EndedRecord {
  if (record.cut !== undefined) {
    record.errorCode = record.cut;
    record.status = ERRORS[record.cut].status;
  } else if (!res.writableFinished) {
    record.errorCode = 'client_closed';
    record.status = ERRORS.client_closed.status;
  } else if (res.headersSent) {
    record.status = res.statusCode;
  }
  record.end = end;
  return record;
}

/**
 * The one end of every request, on every listener (HTTP, gRPC): the record
 * closed by how its answer closed, then handed to the observers (decision
 * log, metrics, gates). Called once per request.
 */
export function finishRequest(
  observers: readonly Observer[],
  record: RequestRecord,
  closed: ClosedResponse,
  end: number,
  log: Logger | undefined,
): void {
  notifyObservers(observers, endRecord(record, closed, end), log);
}

/** Where a failure is noted: a request's record, or just its id (the admin API keeps no record). */
export type FailureNote = Pick<RequestRecord, 'requestId' | 'objective'> &
  Partial<Pick<RequestRecord, 'status' | 'errorCode' | 'errorDetail'>>;

/**
 * The one way a failure is noted, whatever face answers it: its status, code
 * and detail on the record, and a log line when it is Junction's own bug
 * (`internal`). Returns the JunctionError the face then writes in its shape.
 */
export function noteFailure(note: FailureNote, err: unknown, log: Logger | undefined): JunctionError {
  const jerr = toJunctionError(err);
  note.status = jerr.status;
  note.errorCode = jerr.code;
  note.errorDetail = errorDetail(jerr);
  if (jerr.code === 'internal')
    log?.error({ err, requestId: note.requestId, objective: note.objective }, 'internal error');
  return jerr;
}

/** An error's message with its cause's, for `errorDetail`. */
export function errorDetail(err: Error): string {
  const cause = err.cause;
  return cause instanceof Error
    ? `${err.message}: ${(cause as NodeJS.ErrnoException).code ?? ''} ${cause.message}`.trim()
    : err.message;
}

/**
 * Tells every observer of the ended record. An observer that throws is logged
 * and skipped: it runs after the reply, on a listener or a timer, where a throw
 * would end the process.
 */
export function notifyObservers(observers: readonly Observer[], record: EndedRecord, log: Logger | undefined): void {
  for (const observe of observers) {
    try {
      observe(record);
    } catch (err) {
      log?.error({ err: String(err), requestId: record.requestId }, 'a request observer failed');
    }
  }
}
