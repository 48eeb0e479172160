// The Responses API (POST /v1/responses, what current OpenAI SDKs and the
// Vercel AI SDK call by default) from an in-process language model, through
// the very translation a chat-only upstream gets
// (backends/translate/responses-chat.ts): the request becomes a chat request
// (`input` → messages, `instructions` → a system message, `max_output_tokens`
// → max_tokens; tools and JSON schemas are refused by the chat reader), the
// chat answer becomes a `response` object or, streamed, OpenAI's typed events
// from response.created to response.completed (or response.incomplete).
import { pipeline } from 'node:stream';
import type { Call, Reply } from '../../../call/types.js';
import { readJsonBody } from '../../../call/json-body.js';
import { responsesToChat } from '../../translate/responses-chat.js';
import type { TranslationContext } from '../../translate/translation.js';
import { jsonReply } from '../../json-reply.js';
import { generateAnswer, sseReply } from './handler.js';
import type { GenerationStats, LanguageModel } from './loop.js';

export async function answerResponses(
  lm: LanguageModel,
  call: Call,
  ended: (s: GenerationStats) => void,
): Promise<Reply> {
  const body = await readJsonBody(call);
  const ctx: TranslationContext = { objective: call.objective.name, requestId: call.requestId, request: body };
  const answer = await generateAnswer(lm, call, responsesToChat.request(body, ctx), 'chat', ended);
  if ('json' in answer) return jsonReply(responsesToChat.response(answer.json, ctx));
  const events = responsesToChat.stream(ctx);
  // A reader that goes away destroys `events`, and pipeline then ends the generation (as call.signal does too);
  // how the stream ended is the reply's to record, not this callback's.
  pipeline(answer.events, events, () => {});
  return sseReply(events);
}
