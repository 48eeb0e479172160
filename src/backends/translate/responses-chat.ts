// The OpenAI Responses API (POST /v1/responses: what current OpenAI SDKs,
// the AI SDK's default provider and LangChain's `useResponsesApi` call)
// carried to a target that speaks only chat completions, and its answer
// carried back: the request (responses-chat-request.ts), the whole answer
// (responses-chat-answer.ts), the stream (responses-chat-stream.ts) and errors
// (here). The in-process generator answers Responses through the same steps.
import { isObject, responseOfChat, type Json } from './responses-chat-answer.js';
import { chatRequestOf } from './responses-chat-request.js';
import { ChatToResponsesEvents, errorText } from './responses-chat-stream.js';
import type { Translation } from './translation.js';

export const responsesToChat: Translation = {
  from: 'responses',
  to: 'chat/completions',
  request: chatRequestOf,
  streams: (body) => body.stream === true,
  response: responseOfChat,
  stream: (ctx) => new ChatToResponsesEvents(ctx),
  error: (status, body) => openAiError(status, body),
};

/**
 * A chat server's error body in OpenAI's shape, which the Responses API shares:
 * OpenAI's, Ollama's and llama.cpp's `{error: {message, type, …}}` as they are;
 * vLLM's flat `{object: "error", message, type, param, code}` and TGI's
 * `{error: "…", error_type}` put in it; anything else (HTML from a proxy, an
 * empty body) as an `upstream_error` quoting it.
 */
export function openAiError(status: number, body: Buffer): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (isObject(parsed) && isObject(parsed.error) && typeof parsed.error.message === 'string') return parsed;
  if (isObject(parsed) && (typeof parsed.message === 'string' || typeof parsed.error === 'string')) {
    const type = parsed.type ?? parsed.error_type ?? 'upstream_error';
    return { error: { message: errorText(parsed), type, param: parsed.param ?? null, code: parsed.code ?? null } };
  }
  const text = body.toString('utf8').trim();
  const message =
    text === ''
      ? `the upstream answered ${status} with no body`
      : `the upstream answered ${status}: ${text.slice(0, 500)}`;
  return { error: { message, type: 'upstream_error', param: null, code: null } };
}
