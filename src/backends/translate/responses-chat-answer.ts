// The Responses `response` object a chat completion becomes: the whole
// answer's, and the one the stream's lifecycle events carry (stream.ts
// builds its items as they arrive and hands them here). The caller's request
// is echoed as OpenAI echoes it; chat usage and finish reasons are put in
// Responses terms; ids are derived from the request id, so the same answer
// streamed or whole gets the same ids.
import { JunctionError } from '../../errors.js';
import type { TranslationContext } from './translation.js';

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How a response ended, from the chat finish_reason that ended it. */
export interface Ending {
  readonly status: 'completed' | 'incomplete';
  /** `incomplete_details.reason`. */
  readonly reason: 'max_output_tokens' | 'content_filter' | null;
}

/** `length` and `content_filter` leave a response incomplete, as OpenAI reports them; anything else completes it. */
export function ending(finishReason: unknown): Ending {
  if (finishReason === 'length') return { status: 'incomplete', reason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { status: 'incomplete', reason: 'content_filter' };
  return { status: 'completed', reason: null };
}

export const responseId = (ctx: TranslationContext) => `resp_${ctx.requestId}`;
/** Item ids carry their output index: a message and calls of one response never share one. */
export const messageId = (ctx: TranslationContext, index: number) => `msg_${ctx.requestId}_${index}`;
export const callItemId = (ctx: TranslationContext, index: number) => `fc_${ctx.requestId}_${index}`;
/** For an upstream tool call that came without an id (the caller needs one to answer it). */
export const fallbackCallId = (ctx: TranslationContext, index: number) => `call_${ctx.requestId}_${index}`;

/**
 * The model that answered, as the upstream names it (what a Responses target
 * reached by passthrough reports, and what the in-process generator says);
 * the caller's own model name when the upstream gave none.
 */
export function answeringModel(upstreamModel: unknown, ctx: TranslationContext): string {
  if (typeof upstreamModel === 'string' && upstreamModel !== '') return upstreamModel;
  return typeof ctx.request.model === 'string' ? ctx.request.model : ctx.objective;
}

/** The chunk's or completion's `created` (seconds), or now. */
export const createdAt = (created: unknown) =>
  typeof created === 'number' && Number.isFinite(created) ? created : Math.floor(Date.now() / 1000);

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Chat usage in Responses terms; null when the upstream reported none. */
export function responsesUsage(usage: unknown): Json | null {
  if (!isObject(usage)) return null;
  const input = count(usage.prompt_tokens);
  const output = count(usage.completion_tokens);
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(promptDetails.cached_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: count(completionDetails.reasoning_tokens) },
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
  };
}

/** Chat logprobs (`choice.logprobs.content`) are Responses' entries already: same fields. */
export const logprobsOf = (logprobs: unknown): unknown[] =>
  isObject(logprobs) && Array.isArray(logprobs.content) ? logprobs.content : [];

export const outputText = (text: string, logprobs: unknown[] = []) => ({
  type: 'output_text',
  text,
  annotations: [],
  logprobs,
});
export const refusalPart = (refusal: string) => ({ type: 'refusal', refusal });

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export const messageItem = (id: string, status: ItemStatus, content: unknown[]) => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content,
});

export const functionCallItem = (id: string, status: ItemStatus, callId: string, name: string, args: string) => ({
  id,
  type: 'function_call',
  status,
  arguments: args,
  call_id: callId,
  name,
});

export interface ResponseState {
  readonly createdAt: number;
  readonly model: string;
  readonly status: 'in_progress' | ItemStatus | 'failed';
  readonly output: readonly unknown[];
  readonly usage: Json | null;
  readonly incompleteReason?: Ending['reason'];
}

/** The `response` object, with the caller's settings echoed as OpenAI echoes them (defaults where it sent none). */
export function responseObject(ctx: TranslationContext, s: ResponseState): Json {
  const req = ctx.request;
  const reasoning = isObject(req.reasoning) ? req.reasoning : {};
  const text = isObject(req.text) ? req.text : {};
  return {
    id: responseId(ctx),
    object: 'response',
    created_at: s.createdAt,
    status: s.status,
    background: false,
    error: null,
    incomplete_details: s.incompleteReason == null ? null : { reason: s.incompleteReason },
    instructions: typeof req.instructions === 'string' ? req.instructions : null,
    max_output_tokens: req.max_output_tokens ?? null,
    max_tool_calls: req.max_tool_calls ?? null,
    model: s.model,
    output: s.output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    // Nothing is stored: the target speaks chat completions, and Junction keeps no responses.
    store: false,
    temperature: req.temperature ?? 1,
    text: { ...text, format: text.format ?? { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: Array.isArray(req.tools) ? req.tools : [],
    top_logprobs: req.top_logprobs ?? 0,
    top_p: req.top_p ?? 1,
    truncation: req.truncation ?? 'disabled',
    usage: s.usage,
    user: req.user ?? null,
    metadata: req.metadata ?? {},
  };
}

export function brokenUpstream(message: string, ctx: TranslationContext): JunctionError {
  return new JunctionError('upstream_error', message, { objective: ctx.objective });
}

/** Tool-call arguments as the upstream wrote them; an object (some servers send one) as its JSON. */
export const argumentsText = (args: unknown) =>
  typeof args === 'string' ? args : args == null ? '' : JSON.stringify(args);

/** A whole chat.completion as a `response`. */
export function responseOfChat(chat: Json, ctx: TranslationContext): Json {
  const choice: unknown = Array.isArray(chat.choices) ? chat.choices[0] : undefined;
  if (!isObject(choice) || !isObject(choice.message))
    throw brokenUpstream('the upstream answered a chat completion without choices[0].message', ctx);
  const m = choice.message;
  const end = ending(choice.finish_reason);
  const output: unknown[] = [];
  const content: unknown[] = [];
  if (typeof m.content === 'string' && m.content !== '')
    content.push(outputText(m.content, logprobsOf(choice.logprobs)));
  if (typeof m.refusal === 'string' && m.refusal !== '') content.push(refusalPart(m.refusal));
  if (content.length > 0) output.push(messageItem(messageId(ctx, 0), end.status, content));
  const calls: unknown[] = Array.isArray(m.tool_calls) ? m.tool_calls : [];
  for (const call of calls) {
    const fn = isObject(call) && isObject(call.function) ? call.function : undefined;
    if (fn === undefined || typeof fn.name !== 'string' || fn.name === '')
      throw brokenUpstream('the upstream answered a tool call without a function name', ctx);
    const index = output.length;
    const callId = isObject(call) && typeof call.id === 'string' ? call.id : fallbackCallId(ctx, index);
    output.push(functionCallItem(callItemId(ctx, index), end.status, callId, fn.name, argumentsText(fn.arguments)));
  }
  return responseObject(ctx, {
    createdAt: createdAt(chat.created),
    model: answeringModel(chat.model, ctx),
    status: end.status,
    incompleteReason: end.reason,
    output,
    usage: responsesUsage(chat.usage),
  });
}
