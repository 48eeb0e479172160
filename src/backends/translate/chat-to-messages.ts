// A chat completion (from the OpenAI face) carried to a target of protocol
// `anthropic`: the request as a Messages call, the `message` answer and the
// error answer back as chat's (the stream: chat-to-messages-stream.ts).
//
// Choices made where the APIs differ (each also in the code below):
// - system and developer messages, wherever they stand, become the one `system` (joined with '\n\n').
// - Consecutive tool messages become one user turn of tool_result blocks; any turns of the same
//   role that end up adjacent are merged, as Messages wants user and assistant to alternate.
// - `max_tokens` is required by Messages: without max_completion_tokens or max_tokens it is 4096.
// - `temperature` passes as it is: Messages takes 0–1 and refuses more, which is the caller's to see.
// - `reasoning_effort` becomes extended thinking: low 1024 budget tokens, medium 4096, high 16384,
//   kept below max_tokens (thinking needs at least 1024, so a smaller max_tokens is refused here).
// - `response_format` json_schema becomes `output_config.format` (Anthropic's structured outputs);
//   json_object has no Messages equivalent and is refused.
// - `n` > 1 and `logprobs` are refused (Messages has neither); penalties, `seed` and `logit_bias` are dropped.
// - Thinking blocks come back as `reasoning_content` (the field vLLM and DeepSeek use).
import {
  FINISH_REASON,
  broken,
  callerModel,
  completionId,
  count,
  errorText,
  isObject,
  openaiErrorType,
  readErrorBody,
  refused,
  toolInput,
  type Json,
} from './anthropic-wire.js';
import type { TranslationContext } from './translation.js';

type Ctx = TranslationContext;

/** Without max_tokens or max_completion_tokens (chat may omit it; Messages may not). */
export const DEFAULT_MAX_TOKENS = 4096;

const THINKING_BUDGET: Readonly<Record<string, number>> = { low: 1024, medium: 4096, high: 16384 };

function textParts(content: unknown, ctx: Ctx, at: string): string {
  if (typeof content === 'string') return content;
  if (content == null) return '';
  if (!Array.isArray(content)) throw refused(ctx, `${at}.content: expected a string or a list of parts`);
  return content
    .map((p) => {
      if (isObject(p) && (p.type === 'text' || p.type === 'refusal'))
        return String(p.type === 'text' ? p.text : p.refusal);
      throw refused(ctx, `${at}.content: only text parts can be carried here`);
    })
    .join('\n');
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(part: Json, ctx: Ctx, at: string): Json {
  const url = isObject(part.image_url) ? part.image_url.url : undefined;
  if (typeof url !== 'string') throw refused(ctx, `${at}: image_url part without a url`);
  const data = DATA_URL.exec(url);
  if (data !== null) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw refused(ctx, `${at}: an image must be a base64 data URL or an http(s) URL`);
}

function userBlocks(content: unknown, ctx: Ctx, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw refused(ctx, `${at}.content: expected a string or a list of parts`);
  return (content as unknown[]).flatMap((p): Json[] => {
    if (!isObject(p)) throw refused(ctx, `${at}.content: every part must be an object`);
    if (p.type === 'text') return p.text === '' ? [] : [{ type: 'text', text: String(p.text) }];
    if (p.type === 'image_url') return [imageBlock(p, ctx, at)];
    throw refused(ctx, `${at}: content part type ${String(p.type)} cannot be carried to a Messages target`);
  });
}

function assistantBlocks(m: Json, seen: Set<string>, ctx: Ctx, at: string): Json[] {
  if (m.function_call != null) throw refused(ctx, `${at}: function_call (deprecated) is not carried; use tool_calls`);
  const text = textParts(m.content, ctx, at);
  // Messages refuses empty text blocks.
  const blocks: Json[] = text === '' ? [] : [{ type: 'text', text }];
  const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as unknown[]) : [];
  calls.forEach((call, i) => {
    const fn = isObject(call) ? call.function : undefined;
    if (!isObject(call) || !isObject(fn) || typeof call.id !== 'string' || typeof fn.name !== 'string')
      throw refused(ctx, `${at}.tool_calls[${i}]: a tool call needs an id and a function name`);
    const input = toolInput(fn.arguments);
    if (input === undefined)
      throw refused(ctx, `${at}.tool_calls[${i}]: the arguments of ${fn.name} are not a JSON object`);
    seen.add(call.id);
    blocks.push({ type: 'tool_use', id: call.id, name: fn.name, input });
  });
  return blocks;
}

function turns(messages: unknown[], ctx: Ctx): { system: string[]; turns: Json[] } {
  const system: string[] = [];
  const out: Json[] = [];
  const seen = new Set<string>();
  const add = (role: string, blocks: Json[]): void => {
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last?.role === role) (last.content as Json[]).push(...blocks);
    else out.push({ role, content: blocks });
  };
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw refused(ctx, `${at}: expected an object`);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textParts(m.content, ctx, at));
        break;
      case 'user':
        add('user', userBlocks(m.content, ctx, at));
        break;
      case 'assistant':
        add('assistant', assistantBlocks(m, seen, ctx, at));
        break;
      case 'tool': {
        const id = m.tool_call_id;
        if (typeof id !== 'string' || !seen.has(id))
          throw refused(ctx, `${at}: tool message for tool_call_id ${String(id)}, which no earlier tool call has`);
        // tool_result blocks go first in their user turn, as Messages requires.
        const last = out.at(-1);
        const block = { type: 'tool_result', tool_use_id: id, content: textParts(m.content, ctx, at) };
        if (last?.role === 'user') {
          const content = last.content as Json[];
          const first = content.findIndex((b) => b.type !== 'tool_result');
          content.splice(first === -1 ? content.length : first, 0, block);
        } else out.push({ role: 'user', content: [block] });
        break;
      }
      default:
        throw refused(ctx, `${at}.role: ${String(m.role)} cannot be carried to a Messages target`);
    }
  });
  return { system, turns: out };
}

function messagesTools(tools: unknown, ctx: Ctx): Json[] {
  if (!Array.isArray(tools)) throw refused(ctx, 'tools: expected a list');
  return (tools as unknown[]).map((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string')
      throw refused(ctx, `tools[${i}]: only function tools can be carried to a Messages target`);
    const out: Json = { name: fn.name, input_schema: isObject(fn.parameters) ? fn.parameters : { type: 'object' } };
    if (typeof fn.description === 'string') out.description = fn.description;
    return out;
  });
}

function toolChoice(choice: unknown, parallel: unknown, ctx: Ctx): Json | undefined {
  let out: Json | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') return { type: 'none' };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string')
    out = { type: 'tool', name: choice.function.name };
  else if (choice !== undefined) throw refused(ctx, 'tool_choice: expected auto, none, required or a named function');
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

/** The chat-completions request as a Messages request. */
export function chatRequest(body: Json, ctx: Ctx): Json {
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw refused(ctx, 'messages: expected a non-empty list');
  if (typeof body.n === 'number' && body.n > 1) throw refused(ctx, 'n: a Messages target answers one choice only');
  if (body.logprobs === true || body.top_logprobs != null)
    throw refused(ctx, 'logprobs: a Messages target does not return log probabilities');
  const { system, turns: messages } = turns(body.messages as unknown[], ctx);
  if (messages.length === 0) throw refused(ctx, 'messages: a Messages target needs at least one user message');

  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)
    throw refused(ctx, 'max_tokens: expected an integer ≥ 1');
  const out: Json = { model: body.model, max_tokens: maxTokens, messages };
  if (system.length > 0) out.system = system.join('\n\n');
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.top_p = body.top_p;
  if (body.top_k != null) out.top_k = body.top_k; // not OpenAI's, but vLLM's callers send it and Messages has it
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = messagesTools(body.tools, ctx);
    const choice = toolChoice(body.tool_choice, body.parallel_tool_calls, ctx);
    if (choice !== undefined) out.tool_choice = choice;
  }
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  const effort = body.reasoning_effort;
  if (typeof effort === 'string' && THINKING_BUDGET[effort] !== undefined) {
    const budget = Math.min(THINKING_BUDGET[effort], maxTokens - 1);
    if (budget < 1024)
      throw refused(
        ctx,
        `reasoning_effort: thinking needs max_tokens above 1024 on a Messages target (got ${maxTokens})`,
      );
    out.thinking = { type: 'enabled', budget_tokens: budget };
  }
  const format = isObject(body.response_format) ? body.response_format : undefined;
  if (format?.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    if (!isObject(schema)) throw refused(ctx, 'response_format: json_schema needs a schema');
    out.output_config = { format: { type: 'json_schema', schema } };
  } else if (format !== undefined && format.type !== 'text')
    throw refused(ctx, `response_format: ${String(format.type)} has no Messages equivalent (json_schema has)`);
  if (body.stream === true) out.stream = true;
  return out;
}

/** Messages usage → chat usage: chat's prompt_tokens count the cached input too. */
export function chatUsage(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const read = count(u.cache_read_input_tokens);
  const prompt = count(u.input_tokens) + read + count(u.cache_creation_input_tokens);
  const completion = count(u.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: read },
  };
}

export function finishReason(stopReason: unknown): string {
  return (typeof stopReason === 'string' ? FINISH_REASON[stopReason] : undefined) ?? 'stop';
}

/** A Messages `message` as a chat.completion. */
export function chatResponse(body: Json, ctx: Ctx): Json {
  if (!Array.isArray(body.content)) throw broken(ctx, 'the Messages answer has no content list');
  const texts: string[] = [];
  const reasoning: string[] = [];
  const calls: Json[] = [];
  for (const block of body.content as unknown[]) {
    if (!isObject(block)) throw broken(ctx, 'the Messages answer has a content block that is not an object');
    switch (block.type) {
      case 'text':
        texts.push(typeof block.text === 'string' ? block.text : '');
        break;
      case 'thinking':
        reasoning.push(typeof block.thinking === 'string' ? block.thinking : '');
        break;
      case 'redacted_thinking':
        break;
      case 'tool_use':
        if (typeof block.id !== 'string' || typeof block.name !== 'string')
          throw broken(ctx, 'the Messages answer has a tool_use block without an id or a name');
        calls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        break;
      default:
        throw broken(ctx, `the Messages answer has a content block of unknown type ${String(block.type)}`);
    }
  }
  const message: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (calls.length > 0) message.tool_calls = calls;
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
  return {
    id: completionId(ctx),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: callerModel(ctx),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(body.stop_reason) }],
    usage: chatUsage(body.usage),
  };
}

/** OpenAI's error body, for a Messages target's error answer (the status is kept; code: Anthropic's type). */
export function chatError(status: number, body: Buffer): Json {
  const { json } = readErrorBody(body);
  const inner = isObject(json) && isObject(json.error) ? json.error : {};
  const code = typeof inner.type === 'string' ? inner.type : null;
  return { error: { message: errorText(status, body), type: openaiErrorType(status), param: null, code } };
}
