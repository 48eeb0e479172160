// Answers OpenAI chat/completions and completions from an in-process
// language model: one JSON response, or an SSE stream with one chunk per
// token. The stream is pulled by the socket, so a slow reader slows
// generation, and a caller that goes away ends it.
import { Readable } from 'node:stream';
import type { Call, Reply } from '../../../call/types.js';
import { JunctionError } from '../../../errors.js';
import { readJsonBody } from '../../../call/json-body.js';
import { jsonReply } from '../../json-reply.js';
import { generate, type GenerationStats, type LanguageModel } from './loop.js';
import { completeResponse, envelope, firstChunk, lastChunks, pieceChunk } from './openai-wire.js';
import { readGenerationRequest, type GenerationKind } from './request.js';

/**
 * Usage is known exactly here, streamed with include_usage or not: it is noted
 * on the request's record like a backend's reported usage (observe/token-usage.ts).
 */
export function usageNoter(call: Call, onEnd?: (s: GenerationStats) => void): (s: GenerationStats) => void {
  return (s) => {
    if (call.record !== undefined) call.record.usage = { prompt: s.promptTokens, completion: s.completionTokens };
    onEnd?.(s);
  };
}

export async function answerGeneration(
  lm: LanguageModel,
  call: Call,
  kind: GenerationKind | undefined,
  onEnd?: (s: GenerationStats) => void,
): Promise<Reply> {
  const body = await readJsonBody(call);
  // Through the generic objective entry point the body says which it is.
  const which = kind ?? (body.messages !== undefined ? 'chat' : body.prompt !== undefined ? 'completion' : undefined);
  if (which === undefined) {
    throw new JunctionError('invalid_request', 'body needs "messages" (a chat completion) or "prompt" (a completion)', {
      objective: call.objective.name,
    });
  }
  const answer = await generateAnswer(lm, call, body, which, usageNoter(call, onEnd));
  return 'json' in answer ? jsonReply(answer.json) : sseReply(answer.events);
}

/** A generation's answer in the OpenAI wire format: the whole JSON, or its SSE stream (pulled by its reader). */
export type GeneratedAnswer = { readonly json: Record<string, unknown> } | { readonly events: Readable };

/** `body` is a chat/completions or completions request, already read; `ended` gets the stats once generation ends. */
export async function generateAnswer(
  lm: LanguageModel,
  call: Call,
  body: Record<string, unknown>,
  kind: GenerationKind,
  ended: (s: GenerationStats) => void,
): Promise<GeneratedAnswer> {
  const req = readGenerationRequest(body, kind, call.target.model);
  const e = envelope(req, call.requestId);
  const gen = generate(lm, req, call.signal, ended);

  if (!req.stream) {
    let text = '';
    for await (const piece of gen.pieces) text += piece;
    return { json: completeResponse(e, text, gen.stats) };
  }

  async function* events(): AsyncGenerator<string> {
    const first = firstChunk(e);
    if (first !== undefined) yield first;
    for await (const piece of gen.pieces) yield pieceChunk(e, piece);
    yield lastChunks(e, gen.stats, req.includeUsage);
  }
  // highWaterMark 1: generate a token only when the previous one left.
  return { events: Readable.from(events(), { objectMode: true, highWaterMark: 1 }) };
}

export function sseReply(body: Readable): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    body,
  };
}
