// A translation between two LLM APIs, as data: the caller's operation (what
// its face asked for) and the one the target's protocol speaks, with the four
// pure steps that carry a call across — the request, a whole answer, a
// streamed answer, and an error answer. The backends apply them (bridge.ts)
// only when the target does not speak the caller's API: a target that does
// gets a passthrough, and pays for none of this.
import type { Transform } from 'node:stream';
import type { Operation } from '../../call/types.js';

type Json = Record<string, unknown>;

/** What a translation knows of the call it serves. */
export interface TranslationContext {
  /** The objective's name, for error messages and `model` fields the caller reads back. */
  readonly objective: string;
  /** The request id (response ids are derived from it). */
  readonly requestId: string;
  /** The caller's request as it came (before translation): answers echo parts of it (Responses' `instructions`, `tools`, …). */
  readonly request: Json;
}

export interface Translation {
  /** The caller's operation. */
  readonly from: Operation;
  /** The operation the target speaks. */
  readonly to: Operation;
  /**
   * The caller's JSON request as the target's. Throws a JunctionError
   * (`invalid_request`, 400) for what cannot be carried across, saying what.
   * The `model` field is left to the backend (it rewrites it to its own name).
   */
  request(body: Json, ctx: TranslationContext): Json;
  /** Whether the caller asked for a stream (then the answer goes through `stream`). */
  streams(body: Json): boolean;
  /** A whole (2xx JSON) answer of the target as the caller's answer. */
  response(body: Json, ctx: TranslationContext): Json;
  /**
   * A streamed (2xx SSE) answer: a Transform from the target's event-stream
   * bytes to the caller's. Bounded: no event larger than MAX_EVENT_BYTES
   * (sse.ts) is held. Malformed upstream input (bad JSON, events out of
   * order, a cut mid-event, an unknown block type, a tool result for an
   * unknown id) ends the caller's stream with its own API's error event and
   * then errors the Transform with a JunctionError (`upstream_error`) so the
   * request is recorded as failed, once, with that code.
   */
  stream(ctx: TranslationContext): Transform;
  /**
   * A non-2xx answer of the target (its JSON error body, possibly empty or
   * not JSON) as the caller's error body, keeping the status. Undefined: the
   * body goes back as it is.
   */
  error?(status: number, body: Buffer, ctx: TranslationContext): Json | undefined;
}
