// What the two Anthropic ↔ chat translations share: reading untrusted JSON
// shapes, the two errors a translation raises (the caller's request cannot be
// carried across: 400; the upstream broke its protocol: 502), the stop reasons
// and error types of each API, and the ids derived from the request id.
import { isObject } from '../../call/json-body.js';
import { JunctionError } from '../../errors.js';
import type { TranslationContext } from './translation.js';

export type Json = Record<string, unknown>;

export { isObject };

/** The caller's request cannot be carried to the target's API (400, saying what). */
export function refused(ctx: TranslationContext, message: string): JunctionError {
  return new JunctionError('invalid_request', message, { objective: ctx.objective });
}

/** The upstream answered something its own API does not allow (502, recorded as upstream_error). */
export function broken(ctx: TranslationContext, message: string): JunctionError {
  return new JunctionError('upstream_error', message, { objective: ctx.objective });
}

/** A JSON text parsed, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Tool arguments as chat carries them (a JSON text; '' for none) → the object Messages carries. */
export function toolInput(args: unknown): Json | undefined {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') return undefined;
  const parsed = parseJson(args);
  return isObject(parsed) ? parsed : undefined;
}

/** Counts from usage objects: a number ≥ 0, else 0. */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** The model the caller named (answers echo it, as each API does), else the objective. */
export function callerModel(ctx: TranslationContext): string {
  const model = ctx.request.model;
  return typeof model === 'string' ? model : ctx.objective;
}

/** An id safe in either API's id alphabet, from the request id. */
function idPart(ctx: TranslationContext): string {
  return ctx.requestId.replace(/[^A-Za-z0-9_-]/g, '') || 'junction';
}

export const messageId = (ctx: TranslationContext): string => `msg_${idPart(ctx)}`;
export const completionId = (ctx: TranslationContext): string => `chatcmpl-${idPart(ctx)}`;
/** For a chat tool call that came without an id (chat servers may omit it; Messages requires one). */
export const toolUseId = (ctx: TranslationContext, n: number): string => `toolu_${idPart(ctx)}_${n}`;

/** Chat's finish_reason → Messages' stop_reason (a stop sequence is told apart by the caller). */
export const STOP_REASON: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

/** Messages' stop_reason → chat's finish_reason. */
export const FINISH_REASON: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Anthropic's error type for an HTTP status (Anthropic's errors page lists them by status). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** OpenAI's error type for an HTTP status (what the OpenAI face writes for its own errors). */
export function openaiErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 429:
      return 'rate_limit_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'server_error';
  }
}

/** The message of an error body of either API (or of a server that is neither), else undefined. */
export function errorMessage(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const inner = body.error;
  if (isObject(inner) && typeof inner.message === 'string') return inner.message;
  if (typeof inner === 'string') return inner;
  if (typeof body.message === 'string') return body.message; // vLLM: {object: 'error', message, type, code}
  if (typeof body.detail === 'string') return body.detail;
  return undefined;
}

/** A non-2xx body as JSON when it is JSON, else its text (possibly ''). */
export function readErrorBody(body: Buffer): { json: unknown; text: string } {
  const text = body.toString('utf8');
  return { json: parseJson(text), text: text.trim() };
}

/** The error's text for the caller: the upstream's message, or what it said, or its status. */
export function errorText(status: number, body: Buffer): string {
  const { json, text } = readErrorBody(body);
  return (
    errorMessage(json) ?? (text !== '' && json === undefined ? text.slice(0, 1000) : `the upstream answered ${status}`)
  );
}
