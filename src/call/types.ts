// The one contract of execution: `send(call) → reply`. Backends implement it;
// every policy (deadline, retry, hedge, fallback, shadow, bulkhead) wraps it.
import type { Readable } from 'node:stream';
import type { Context } from '@opentelemetry/api';
import type { RequestRecord } from '../observe/record.js';
import type { CompiledObjective, Outcome, Target } from '../routing/types.js';
import type { RequestBody } from './body.js';
import type { CancelSignal } from './cancel.js';

/** What the caller asked for; declared with the wire protocols that map it (config/protocols/declaration.ts). */
export type { Operation } from '../config/protocols/declaration.js';
import type { Operation } from '../config/protocols/declaration.js';

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface Call {
  readonly objective: CompiledObjective;
  /** The routing decision; `target` below differs from it only when a fallback is tried. */
  readonly outcome: Outcome;
  readonly target: Target;
  readonly operation: Operation;
  readonly method: string;
  /** Query string of the incoming request, with its `?`, or ''. */
  readonly query: string;
  /** Incoming headers already cleaned for forwarding (no hop-by-hop, no host). */
  readonly headers: HeaderMap;
  readonly body: RequestBody;
  readonly requestId: string;
  /** Until the reply starts (status and first body byte): absolute, on the performance.now() clock (SPEC §3 `timeoutMs`). */
  readonly deadline: number;
  /** Until the whole reply has been sent, body included (SPEC §3 `replyTimeoutMs`); never before `deadline`. */
  readonly replyDeadline: number;
  /** Aborted when the caller goes away or the deadline passes. */
  readonly signal: CancelSignal;
  /** Aborts the call (and so `signal`) with a reason. */
  readonly abort: (reason: unknown) => void;
  /** Set by the face when it had to read the body (OpenAI `model`), else undefined. */
  readonly parsedBody?: Record<string, unknown> | undefined;
  /** The authenticated client's name (never its key), when auth is on. */
  readonly client?: string | undefined;
  /** Who is refused first under overload (policy/bulkhead.ts); default `default`. */
  readonly priority?: 'critical' | 'default' | 'sheddable' | undefined;
  /** The span this call runs under when tracing is on (request, fallback, shadow…); see observe/tracing.ts. */
  readonly trace?: Context | undefined;
  /** The request's record, for policies that note what they did (shadows). */
  readonly record?: RequestRecord | undefined;
}

export interface Reply {
  status: number;
  headers: HeaderMap;
  /** A stream for anything proxied or streamed; a Buffer for answers computed in-process. */
  body: Readable | Buffer | null;
  /** Set when a fallback (not the decided target) answered: its target id, or `static`. */
  fallback?: string;
  /**
   * A gRPC reply proxied as a stream (an `oip-grpc` backend answering a gRPC
   * caller): `body` is the server's framed messages, as they came, and this
   * its trailers (grpc-status, trailing metadata); rejects when the stream
   * ended without them (cut).
   */
  trailers?: Promise<HeaderMap>;
  /**
   * The body writes its own error event (in the caller's API) before it
   * errors (a translated stream, backends/translate/): the caller's response
   * is ended after it, not cut, so the event arrives. Still recorded as failed.
   */
  endsWithErrorEvent?: boolean;
}

export type Send = (call: Call) => Promise<Reply>;

/** A policy wraps the send contract; composition order is written in policy/compose.ts. */
export type Policy = (next: Send) => Send;

/** Shallow copy of a call with other fields, for policies that re-send (fallback, retry, hedge). */
export function withCall(call: Call, changes: Partial<Call>): Call {
  return { ...call, ...changes };
}
