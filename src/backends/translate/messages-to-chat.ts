// A Messages call (Anthropic's API, from Junction's Anthropic face) carried to
// a target that speaks only chat completions: the request there, the whole
// answer and the error answer back (the stream: messages-to-chat-stream.ts).
//
// Choices made where the APIs differ (each also in the code below):
// - `system` (a string or text blocks) is one leading system message, blocks joined with '\n'.
// - Text-only content goes as one string (blocks joined with '\n', as vLLM joins text parts):
//   chat servers whose templates take only strings get what they can read.
// - A user turn's `tool_result` blocks become `role: tool` messages placed before the rest of
//   that turn: chat wants tool messages right after the assistant message that called.
// - `top_k` is dropped: chat completions has none, and OpenAI refuses arguments it does not know.
//   `temperature` (0–1 in Messages, 0–2 in chat) and `top_p` pass as they are.
// - `thinking` budgets become `reasoning_effort`: under 4096 tokens `low`, under 16384 `medium`,
//   else `high`; `output_config.effort` is taken as it is (`xhigh`/`max` as `high`).
// - `max_tokens` goes as chat's `max_tokens` (vLLM, TGI, llama.cpp and Ollama read it).
// - `cache_control` is dropped (chat servers cache prefixes on their own, if at all).
import {
  STOP_REASON,
  anthropicErrorType,
  broken,
  callerModel,
  count,
  errorText,
  isObject,
  messageId,
  refused,
  toolInput,
  toolUseId,
  type Json,
} from './anthropic-wire.js';
import type { TranslationContext } from './translation.js';

type Ctx = TranslationContext;

/** Anthropic's server tools (run by Anthropic, not by the caller): a chat target has nothing to run them. */
function isServerTool(tool: Json): boolean {
  return typeof tool.type === 'string' && tool.type !== 'custom';
}

function textOf(blocks: unknown, ctx: Ctx, where: string): string {
  if (typeof blocks === 'string') return blocks;
  if (!Array.isArray(blocks)) throw refused(ctx, `${where}: expected a string or a list of text blocks`);
  return blocks
    .map((b) => {
      if (!isObject(b) || b.type !== 'text' || typeof b.text !== 'string')
        throw refused(ctx, `${where}: only text blocks can be carried to a chat-completions target`);
      return b.text;
    })
    .join('\n');
}

function imagePart(block: Json, ctx: Ctx): Json {
  const source = block.source;
  if (isObject(source) && source.type === 'base64' && typeof source.data === 'string')
    return {
      type: 'image_url',
      image_url: {
        url: `data:${typeof source.media_type === 'string' ? source.media_type : 'image/png'};base64,${source.data}`,
      },
    };
  if (isObject(source) && source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  const kind = isObject(source) ? String(source.type) : 'missing';
  throw refused(
    ctx,
    `image source of type ${kind} cannot be carried to a chat-completions target (base64 and url can)`,
  );
}

function unsupported(type: unknown, ctx: Ctx): never {
  throw refused(ctx, `content block type ${String(type)} cannot be carried to a chat-completions target`);
}

/** Text parts alone become one string; with an image the parts stay a list. */
function partsContent(parts: Json[]): string | Json[] {
  return parts.every((p) => p.type === 'text') ? parts.map((p) => p.text as string).join('\n') : parts;
}

function userTurn(content: unknown, seen: ReadonlySet<string>, ctx: Ctx, at: string): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  if (!Array.isArray(content)) throw refused(ctx, `${at}.content: expected a string or a list of content blocks`);
  const tools: Json[] = [];
  const parts: Json[] = [];
  for (const block of content as unknown[]) {
    if (!isObject(block)) throw refused(ctx, `${at}.content: every block must be an object`);
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: typeof block.text === 'string' ? block.text : '' });
        break;
      case 'image':
        parts.push(imagePart(block, ctx));
        break;
      case 'tool_result': {
        const id = block.tool_use_id;
        if (typeof id !== 'string' || !seen.has(id))
          throw refused(ctx, `${at}: tool_result for tool_use_id ${String(id)}, which no earlier tool_use has`);
        const text = textOf(block.content ?? '', ctx, `${at}: tool_result ${id}`);
        // Chat has no error flag on a tool message: the model reads it in the content.
        tools.push({ role: 'tool', tool_call_id: id, content: block.is_error === true ? `Error: ${text}` : text });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        unsupported(block.type, ctx);
    }
  }
  return parts.length === 0 ? tools : [...tools, { role: 'user', content: partsContent(parts) }];
}

function assistantTurn(content: unknown, seen: Set<string>, ctx: Ctx, at: string): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  if (!Array.isArray(content)) throw refused(ctx, `${at}.content: expected a string or a list of content blocks`);
  const texts: string[] = [];
  const calls: Json[] = [];
  for (const block of content as unknown[]) {
    if (!isObject(block)) throw refused(ctx, `${at}.content: every block must be an object`);
    switch (block.type) {
      case 'text':
        texts.push(typeof block.text === 'string' ? block.text : '');
        break;
      case 'tool_use': {
        if (typeof block.id !== 'string' || typeof block.name !== 'string')
          throw refused(ctx, `${at}: a tool_use block needs an id and a name`);
        seen.add(block.id);
        const args = JSON.stringify(block.input ?? {});
        calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: args } });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break; // chat takes no reasoning back
      default:
        unsupported(block.type, ctx);
    }
  }
  // Chat allows a null content only beside tool calls.
  const turn: Json = { role: 'assistant', content: texts.length > 0 ? texts.join('\n') : calls.length > 0 ? null : '' };
  if (calls.length > 0) turn.tool_calls = calls;
  return turn;
}

function chatTools(tools: unknown, ctx: Ctx): Json[] {
  if (!Array.isArray(tools)) throw refused(ctx, 'tools: expected a list');
  return (tools as unknown[]).map((tool, i) => {
    if (!isObject(tool)) throw refused(ctx, `tools[${i}]: expected an object`);
    if (isServerTool(tool))
      throw refused(
        ctx,
        `tools[${i}]: ${String(tool.type)} is one of Anthropic's server tools; a chat-completions target cannot run it`,
      );
    if (typeof tool.name !== 'string' || !isObject(tool.input_schema))
      throw refused(ctx, `tools[${i}]: a tool needs a name and an input_schema`);
    const fn: Json = { name: tool.name, parameters: tool.input_schema };
    if (typeof tool.description === 'string') fn.description = tool.description;
    return { type: 'function', function: fn };
  });
}

function toolChoice(choice: Json, out: Json, ctx: Ctx): void {
  switch (choice.type) {
    case 'auto':
      out.tool_choice = 'auto';
      break;
    case 'any':
      out.tool_choice = 'required';
      break;
    case 'none':
      out.tool_choice = 'none';
      break;
    case 'tool':
      if (typeof choice.name !== 'string') throw refused(ctx, 'tool_choice: type tool needs a name');
      out.tool_choice = { type: 'function', function: { name: choice.name } };
      break;
    default:
      throw refused(ctx, `tool_choice: unknown type ${String(choice.type)}`);
  }
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
}

function reasoningEffort(body: Json): string | undefined {
  const effort = isObject(body.output_config) ? body.output_config.effort : undefined;
  if (effort === 'low' || effort === 'medium' || effort === 'high') return effort;
  if (effort === 'xhigh' || effort === 'max') return 'high';
  const thinking = body.thinking;
  if (!isObject(thinking) || thinking.type !== 'enabled') return undefined;
  const budget = count(thinking.budget_tokens);
  return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high';
}

/** The Messages request as a chat-completions request. */
export function messagesRequest(body: Json, ctx: Ctx): Json {
  const maxTokens = body.max_tokens;
  // Anthropic requires max_tokens; refusing here answers what Anthropic would.
  if (maxTokens === undefined) throw refused(ctx, 'max_tokens: Field required');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)
    throw refused(ctx, 'max_tokens: expected an integer ≥ 1');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw refused(ctx, 'messages: expected a non-empty list');

  const messages: Json[] = [];
  if (body.system !== undefined) messages.push({ role: 'system', content: textOf(body.system, ctx, 'system') });
  const seen = new Set<string>();
  (body.messages as unknown[]).forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw refused(ctx, `${at}: expected an object`);
    if (m.role === 'user') messages.push(...userTurn(m.content, seen, ctx, at));
    else if (m.role === 'assistant') messages.push(assistantTurn(m.content, seen, ctx, at));
    else throw refused(ctx, `${at}.role: expected user or assistant, got ${String(m.role)}`);
  });

  const out: Json = { model: body.model, messages, max_tokens: maxTokens };
  if (body.temperature !== undefined) out.temperature = body.temperature;
  if (body.top_p !== undefined) out.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  if (body.tools !== undefined) {
    const tools = chatTools(body.tools, ctx);
    if (tools.length > 0) out.tools = tools;
  }
  if (isObject(body.tool_choice)) toolChoice(body.tool_choice, out, ctx);
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string') out.user = body.metadata.user_id;
  const effort = reasoningEffort(body);
  if (effort !== undefined) out.reasoning_effort = effort;
  const format = isObject(body.output_config) ? body.output_config.format : undefined;
  if (isObject(format) && format.type === 'json_schema')
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } };
  if (body.stream === true) {
    out.stream = true;
    // Without it chat streams carry no usage, and message_delta must.
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** The stop sequence a chat server reports it stopped on (vLLM: `stop_reason`), if it is one the caller gave. */
export function stopSequenceHit(choice: Json, ctx: Ctx): string | undefined {
  const hit = choice.stop_reason;
  const asked = ctx.request.stop_sequences;
  return typeof hit === 'string' && Array.isArray(asked) && asked.includes(hit) ? hit : undefined;
}

/** Messages' stop_reason and stop_sequence for a chat choice's end. */
export function stopOf(finish: unknown, hit: string | undefined, sawTools: boolean): [string, string | null] {
  if (hit !== undefined && finish === 'stop') return ['stop_sequence', hit];
  // Some chat servers end a tool call with `stop`: Messages callers loop on tool_use.
  if (sawTools && (finish === 'stop' || finish === 'tool_calls')) return ['tool_use', null];
  return [(typeof finish === 'string' ? STOP_REASON[finish] : undefined) ?? 'end_turn', null];
}

/** Chat usage → Messages usage. Chat's prompt_tokens include the cached ones; Anthropic's input_tokens do not. */
export function messagesUsage(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const cached = isObject(u.prompt_tokens_details) ? count(u.prompt_tokens_details.cached_tokens) : 0;
  return {
    input_tokens: Math.max(0, count(u.prompt_tokens) - cached),
    output_tokens: count(u.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** A chat.completion as a Messages `message`. */
export function messagesResponse(body: Json, ctx: Ctx): Json {
  const choice: unknown = Array.isArray(body.choices) ? (body.choices as unknown[])[0] : undefined;
  if (!isObject(choice) || !isObject(choice.message))
    throw broken(ctx, 'the chat-completions answer has no choices[0].message');
  const message = choice.message;
  const content: Json[] = [];
  const text = typeof message.content === 'string' ? message.content : message.refusal;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as unknown[]) : [];
  calls.forEach((call, i) => {
    const fn = isObject(call) ? call.function : undefined;
    if (!isObject(call) || !isObject(fn) || typeof fn.name !== 'string')
      throw broken(ctx, `the chat-completions answer has a tool call without a function name (tool_calls[${i}])`);
    const input = toolInput(fn.arguments);
    if (input === undefined)
      throw broken(ctx, `the arguments of tool call ${fn.name} are not a JSON object: ${String(fn.arguments)}`);
    content.push({
      type: 'tool_use',
      id: typeof call.id === 'string' && call.id !== '' ? call.id : toolUseId(ctx, i),
      name: fn.name,
      input,
    });
  });
  const refusal = typeof message.refusal === 'string' && message.content == null;
  const [stopReason, stopSequence] = refusal
    ? ['refusal', null]
    : stopOf(choice.finish_reason, stopSequenceHit(choice, ctx), calls.length > 0);
  return {
    id: messageId(ctx),
    type: 'message',
    role: 'assistant',
    model: callerModel(ctx),
    content,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    usage: messagesUsage(body.usage),
  };
}

/** Anthropic's error body, for a chat target's error answer (the status is kept). */
export function anthropicError(type: string, message: string): Json {
  return { type: 'error', error: { type, message } };
}

export function messagesError(status: number, body: Buffer): Json {
  return anthropicError(anthropicErrorType(status), errorText(status, body));
}
