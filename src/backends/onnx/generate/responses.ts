// The Responses API (POST /v1/responses, what current OpenAI SDKs and the
// Vercel AI SDK call by default) from an in-process language model: the
// request is read as the chat it is (`input` → messages, `max_output_tokens`
// → max_tokens), the answer is a `response` object or, streamed, OpenAI's
// typed events from response.created to response.completed (no [DONE]).
import { Readable } from 'node:stream';
import type { Call, Reply } from '../../../call/types.js';
import { readJsonBody } from '../../../call/json-body.js';
import { JunctionError } from '../../../errors.js';
import { jsonReply } from '../../json-reply.js';
import { generate, type GenerationStats, type LanguageModel } from './loop.js';
import { readGenerationRequest } from './request.js';

/** The Responses request as a chat completion request (what the generator reads). */
function asChat(body: Record<string, unknown>, objective: string): Record<string, unknown> {
  const input = body.input;
  let messages: unknown[];
  if (typeof input === 'string') messages = [{ role: 'user', content: input }];
  else if (Array.isArray(input))
    messages = input.filter(
      (m) => (m as { type?: unknown })?.type === undefined || (m as { type?: unknown }).type === 'message',
    );
  else throw new JunctionError('invalid_request', '"input" must be a string or a list of messages', { objective });
  if (messages.length === 0) throw new JunctionError('invalid_request', '"input" has no message', { objective });
  return {
    messages,
    max_tokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    stream: body.stream,
  };
}

const finished = (s: GenerationStats) => (s.finishReason === 'stop' ? 'completed' : 'incomplete');

export async function answerResponses(
  lm: LanguageModel,
  call: Call,
  ended: (s: GenerationStats) => void,
): Promise<Reply> {
  const body = await readJsonBody(call);
  const req = readGenerationRequest(asChat(body, call.objective.name), 'chat', call.target.model);
  const id = `resp_${call.requestId}`;
  const itemId = `msg_${call.requestId}`;
  const created = Math.floor(Date.now() / 1000);
  const gen = generate(lm, req, call.signal, ended);

  const part = (text: string) => ({ type: 'output_text', text, annotations: [] });
  const item = (status: string, content: unknown[]) => ({
    id: itemId,
    type: 'message',
    status,
    role: 'assistant',
    content,
  });
  const response = (status: string, output: unknown[], s: GenerationStats | undefined) => ({
    id,
    object: 'response',
    created_at: created,
    status,
    error: null,
    incomplete_details: s !== undefined && status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: req.maxTokens,
    model: req.model,
    output,
    parallel_tool_calls: false,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: req.temperature,
    text: { format: { type: 'text' } },
    tool_choice: 'none',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage:
      s === undefined
        ? null
        : {
            input_tokens: s.promptTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: s.completionTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: s.promptTokens + s.completionTokens,
          },
    user: null,
    metadata: {},
  });

  if (!req.stream) {
    let text = '';
    for await (const piece of gen.pieces) text += piece;
    const status = finished(gen.stats);
    return jsonReply(response(status, [item(status, [part(text)])], gen.stats));
  }

  async function* events(): AsyncGenerator<string> {
    let seq = 0;
    const event = (type: string, fields: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
    yield (
      event('response.created', { response: response('in_progress', [], undefined) }) +
      event('response.in_progress', { response: response('in_progress', [], undefined) }) +
      event('response.output_item.added', { output_index: 0, item: item('in_progress', []) }) +
      event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: part('') })
    );
    let text = '';
    for await (const piece of gen.pieces) {
      text += piece;
      yield event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: piece });
    }
    const status = finished(gen.stats);
    yield (
      event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text }) +
      event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: part(text) }) +
      event('response.output_item.done', { output_index: 0, item: item(status, [part(text)]) }) +
      event(status === 'completed' ? 'response.completed' : 'response.incomplete', {
        response: response(status, [item(status, [part(text)])], gen.stats),
      })
    );
  }
  // highWaterMark 1: generate a token only when the previous one left.
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    body: Readable.from(events(), { objectMode: true, highWaterMark: 1 }),
  };
}
