// The Anthropic Messages API face (SPEC §17): POST /v1/messages, the API
// Anthropic's SDKs and the tools built on them speak. The body's `model`
// names the objective (an objective of interface openai: the LLM interface);
// the key comes as `x-api-key` or a bearer token (tenancy/keys.ts reads both).
// A target of protocol `anthropic` gets the call as it came; a chat target
// (openai, openai-chat, in-process generators) gets it translated to a chat
// completion and back, streams included (backends/translate/).
// Errors take Anthropic's shape, `{"type":"error","error":{"type","message"}}`.
import type { ErrorCode } from '../errors.js';
import { readMessagesUsageOnTheSide } from '../observe/token-usage.js';
import { modelFieldRoute } from './model-field.js';
import type { Face } from './types.js';

/** Anthropic's error types, by Junction's stable codes (the code itself is in x-error-code). */
const ANTHROPIC_TYPES: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'invalid_request_error',
  method_not_allowed: 'invalid_request_error',
  payload_too_large: 'request_too_large',
  objective_not_found: 'not_found_error',
  not_found: 'not_found_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  override_forbidden: 'permission_error',
  rate_limited: 'rate_limit_error',
  token_limit_exceeded: 'rate_limit_error',
  budget_exceeded: 'rate_limit_error',
  overloaded: 'overloaded_error',
};

function anthropicError(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

export const anthropicFace: Face = {
  name: 'anthropic',
  interface: 'openai',
  objectiveFrom: 'model-field',
  errorBody: (err) => anthropicError(ANTHROPIC_TYPES[err.code] ?? 'api_error', err.message),
  // A stream cut by its budget ends with Anthropic's own error event.
  cutEvent: `event: error\ndata: ${anthropicError('api_error', 'the reply ran past its budget (replyTimeoutMs)')}\n\n`,
  readUsage: readMessagesUsageOnTheSide,
  // Anthropic's own token limit headers: the reset is a time (RFC 3339), when the limit is whole again.
  tokenLimitHeaders: (t) => ({
    'anthropic-ratelimit-tokens-limit': String(t.limit),
    'anthropic-ratelimit-tokens-remaining': String(t.remaining),
    'anthropic-ratelimit-tokens-reset': new Date(Date.now() + Math.ceil(t.resetSeconds) * 1000).toISOString(),
  }),
  routes: () => [modelFieldRoute(anthropicFace, '/v1/messages', 'messages')],
};
