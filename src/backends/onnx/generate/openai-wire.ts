// The OpenAI wire format for generated text: chat.completion and
// text_completion objects, and their streamed chunks as server-sent events
// (`data: {chunk}\n\n` … `data: [DONE]\n\n`).
import type { GenerationKind, GenerationRequest } from './request.js';
import type { GenerationStats } from './loop.js';

export interface Envelope {
  id: string;
  created: number;
  model: string;
  kind: GenerationKind;
}

export function envelope(req: GenerationRequest, requestId: string): Envelope {
  return {
    id: `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${requestId}`,
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    kind: req.kind,
  };
}

/** OpenAI has no "aborted": a cut generation reports its length. */
const finish = (s: GenerationStats) => (s.finishReason === 'stop' ? 'stop' : 'length');

function usage(s: GenerationStats) {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    total_tokens: s.promptTokens + s.completionTokens,
  };
}

export function completeResponse(e: Envelope, text: string, s: GenerationStats): Record<string, unknown> {
  if (e.kind === 'chat') {
    return {
      id: e.id,
      object: 'chat.completion',
      created: e.created,
      model: e.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: finish(s),
        },
      ],
      usage: usage(s),
    };
  }
  return {
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish(s) }],
    usage: usage(s),
  };
}

const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

function chunk(e: Envelope, delta: Record<string, unknown> | string, finishReason: string | null): string {
  if (e.kind === 'chat') {
    return sse({
      id: e.id,
      object: 'chat.completion.chunk',
      created: e.created,
      model: e.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
  }
  return sse({
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices: [{ text: delta, index: 0, logprobs: null, finish_reason: finishReason }],
  });
}

/** The first chat chunk carries the role, as OpenAI's does. */
export function firstChunk(e: Envelope): string | undefined {
  return e.kind === 'chat' ? chunk(e, { role: 'assistant', content: '' }, null) : undefined;
}

export function pieceChunk(e: Envelope, text: string): string {
  return chunk(e, e.kind === 'chat' ? { content: text } : text, null);
}

export function lastChunks(e: Envelope, s: GenerationStats, includeUsage: boolean): string {
  let out = chunk(e, e.kind === 'chat' ? {} : '', finish(s));
  if (includeUsage) {
    out += sse({
      id: e.id,
      object: e.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: e.created,
      model: e.model,
      choices: [],
      usage: usage(s),
    });
  }
  return `${out}data: [DONE]\n\n`;
}
