// The OpenAI-compatible face (SPEC §2.2): POST /v1/chat/completions,
// /v1/completions, /v1/embeddings and /v1/responses (the Responses API). The
// body's `model` names the objective (faces/model-field.ts); it goes on as the
// same bytes and the backend rewrites only `model` — or, for a target that
// speaks another API (a chat-only server for /v1/responses, an `anthropic`
// target for a chat call), is translated there and back (backends/translate/).
// Errors take OpenAI's shape; responses, SSE included, stream back through invoke.
import type { TokenLimitState } from '../call/hooks.js';
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import { readUsageOnTheSide } from '../observe/token-usage.js';
import type { Revision } from '../runtime/revision.js';
import { modelFieldRoute } from './model-field.js';
import type { Face } from './types.js';

const OPENAI_TYPES: Partial<Record<string, string>> = {
  invalid_request: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  objective_not_found: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  override_forbidden: 'permission_error',
  rate_limited: 'rate_limit_error',
  token_limit_exceeded: 'rate_limit_error',
  budget_exceeded: 'insufficient_quota',
};

/**
 * OpenAI's token limit headers (its rate-limit guide): the limit, what is left,
 * and when it is whole again as a duration written the way OpenAI (and Go's
 * time.Duration) writes it: `6m0s`, `1.5s`, `20ms`.
 */
export function openaiTokenLimitHeaders(t: TokenLimitState): Record<string, string> {
  return {
    'x-ratelimit-limit-tokens': String(t.limit),
    'x-ratelimit-remaining-tokens': String(t.remaining),
    'x-ratelimit-reset-tokens': openaiDuration(t.resetSeconds),
  };
}

/** Seconds as OpenAI writes a reset time, to the millisecond: `0s`, `20ms`, `1.5s`, `6m0s`, `1h2m3s`. */
export function openaiDuration(seconds: number): string {
  const ms = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = `${(ms % 60_000) / 1000}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

/** OpenAI clients list models first: here the models are the objectives of interface openai. */
function modelEntry(name: string) {
  return { id: name, object: 'model', created: 0, owned_by: 'junction' };
}

function openaiObjective(rev: Revision | undefined, name: string): boolean {
  return rev?.objectives.get(name)?.compiled.interface === 'openai';
}

export const openaiFace: Face = {
  name: 'openai',
  interface: 'openai',
  objectiveFrom: 'model-field',
  errorBody: (err) =>
    JSON.stringify({ error: { message: err.message, type: OPENAI_TYPES[err.code] ?? 'server_error', code: err.code } }),
  // A stream cut by its budget ends with a final error event in OpenAI's shape (no `[DONE]`).
  cutEvent: `data: ${JSON.stringify({ error: { message: 'the reply ran past its budget (replyTimeoutMs)', type: 'server_error', code: 'deadline_exceeded' } })}\n\n`,
  readUsage: readUsageOnTheSide,
  tokenLimitHeaders: openaiTokenLimitHeaders,
  routes: () => [
    modelFieldRoute(openaiFace, '/v1/chat/completions', 'chat/completions'),
    modelFieldRoute(openaiFace, '/v1/completions', 'completions'),
    modelFieldRoute(openaiFace, '/v1/embeddings', 'embeddings'),
    // What current OpenAI SDKs and the Vercel AI SDK call by default; streamed as typed SSE events.
    modelFieldRoute(openaiFace, '/v1/responses', 'responses'),
    {
      methods: ['GET'],
      pattern: '/v1/models',
      face: openaiFace,
      admission: 'open', // OpenAI clients list models before anything else, as they always could
      handle({ dp, res }) {
        const rev = dp.runtime.current;
        const names = rev ? [...rev.objectives.keys()].filter((n) => openaiObjective(rev, n)) : [];
        writeJson(res, 200, { object: 'list', data: names.map(modelEntry) });
      },
    },
    {
      methods: ['GET'],
      pattern: '/v1/models/:model',
      face: openaiFace,
      admission: 'open',
      handle({ dp, res, params }) {
        const name = params.model!;
        if (!openaiObjective(dp.runtime.current, name)) {
          throw new JunctionError('objective_not_found', `no objective "${name}" with interface openai`, {
            objective: name,
          });
        }
        writeJson(res, 200, modelEntry(name));
      },
    },
  ],
};
