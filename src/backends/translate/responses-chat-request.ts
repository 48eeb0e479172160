// A Responses request (POST /v1/responses) as the chat completion request a
// chat-only target (vLLM, TGI, llama.cpp, Ollama) reads. What cannot be
// carried is refused with a 400 that says what and why, never dropped where
// dropping it would change the answer: state kept by OpenAI (a previous
// response, a conversation, stored items or prompts) and built-in tools.
// Settings only OpenAI's own service reads (store, metadata, service tier,
// prompt cache keys, truncation, include) are left out.
import { JunctionError } from '../../errors.js';
import { isObject, type Json } from './responses-chat-answer.js';
import type { TranslationContext } from './translation.js';

type Invalid = (message: string) => JunctionError;

const roles: ReadonlySet<unknown> = new Set(['user', 'assistant', 'system', 'developer']);

/** The chat request; throws a JunctionError (`invalid_request`) for what cannot be carried across. */
export function chatRequestOf(body: Json, ctx: TranslationContext): Json {
  const invalid: Invalid = (message) => new JunctionError('invalid_request', message, { objective: ctx.objective });
  refuseState(body, invalid);

  const messages: Json[] = [];
  if (typeof body.instructions === 'string') {
    if (body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  } else if (body.instructions != null) throw invalid('"instructions" must be a string');
  if (body.input === undefined || body.input === null) {
    if (messages.length === 0) throw invalid('"input" is required');
  } else messages.push(...inputMessages(body.input, invalid));
  if (messages.length === 0) throw invalid('"input" has no item a chat completion can carry');

  const chat: Json = { model: body.model, messages };
  const tools = chatTools(body.tools, invalid);
  if (tools !== undefined) {
    chat.tools = tools;
    // Chat servers refuse parallel_tool_calls and tool_choice without tools (OpenAI and vLLM do).
    if (typeof body.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = body.parallel_tool_calls;
  }
  const choice = chatToolChoice(body.tool_choice, invalid);
  if (choice !== undefined && (tools !== undefined || (choice !== 'none' && choice !== 'auto')))
    chat.tool_choice = choice;

  const text = isObject(body.text) ? body.text : {};
  const format = chatResponseFormat(text.format, invalid);
  if (format !== undefined) chat.response_format = format;
  if (typeof text.verbosity === 'string') chat.verbosity = text.verbosity;
  const effort = isObject(body.reasoning) ? body.reasoning.effort : undefined;
  if (typeof effort === 'string') chat.reasoning_effort = effort;

  // max_tokens, not max_completion_tokens: the name every chat server reads (vLLM reads both; TGI,
  // llama.cpp and Ollama's OpenAI API only max_tokens). OpenAI deprecated it for o-series models
  // only, and an OpenAI target speaks Responses itself and never comes here.
  if (body.max_output_tokens != null) chat.max_tokens = body.max_output_tokens;
  for (const key of ['temperature', 'top_p', 'user'] as const) if (body[key] != null) chat[key] = body[key];
  const include = Array.isArray(body.include) ? body.include : [];
  if (typeof body.top_logprobs === 'number' || include.includes('message.output_text.logprobs')) {
    chat.logprobs = true;
    if (typeof body.top_logprobs === 'number') chat.top_logprobs = body.top_logprobs;
  }
  if (body.stream === true) {
    chat.stream = true;
    // Without it a chat stream carries no usage, and response.completed must.
    chat.stream_options = { include_usage: true };
  }
  return chat;
}

/** What only a stateful Responses server can honour. */
function refuseState(body: Json, invalid: Invalid): void {
  const cannot = (what: string) =>
    invalid(
      `${what} cannot be honoured: this objective's target speaks chat completions and Junction keeps no responses; send the whole conversation in "input"`,
    );
  if (body.previous_response_id != null) throw cannot('"previous_response_id"');
  if (body.conversation != null) throw cannot('"conversation"');
  if (body.prompt != null) throw cannot('"prompt" (a stored prompt template)');
  if (body.background === true) throw cannot('"background": true');
}

function inputMessages(input: unknown, invalid: Invalid): Json[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw invalid('"input" must be a string or a list of items');
  const out: Json[] = [];
  input.forEach((item: unknown, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) throw invalid(`${at} must be an object`);
    const type = item.type ?? 'message';
    switch (type) {
      case 'message':
        out.push(message(item, at, invalid));
        return;
      case 'function_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string')
          throw invalid(`${at}: a function_call needs "call_id" and "name"`);
        const call = {
          id: item.call_id,
          type: 'function',
          function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '' },
        };
        // Calls after an assistant message (or after each other) are that message's tool_calls:
        // chat templates expect one assistant turn, not several in a row.
        const last = out.at(-1);
        if (last?.role === 'assistant') last.tool_calls = [...((last.tool_calls as unknown[] | undefined) ?? []), call];
        else out.push({ role: 'assistant', content: null, tool_calls: [call] });
        return;
      }
      case 'function_call_output':
        if (typeof item.call_id !== 'string') throw invalid(`${at}: a function_call_output needs "call_id"`);
        out.push({ role: 'tool', tool_call_id: item.call_id, content: toolOutput(item.output, at, invalid) });
        return;
      case 'reasoning':
        return; // a chat target takes no reasoning back; it reasons afresh
      case 'item_reference':
        throw invalid(
          `${at} refers to a stored item (${JSON.stringify(item.id)}), and this objective's target keeps none: send the item itself (the AI SDK does with providerOptions { openai: { store: false } })`,
        );
      default:
        throw invalid(
          `${at} is a ${JSON.stringify(type)} item, which a chat completions target cannot take: only messages, function calls and their outputs`,
        );
    }
  });
  return out;
}

function message(item: Json, at: string, invalid: Invalid): Json {
  const role = item.role;
  if (!roles.has(role)) throw invalid(`${at}.role must be user, assistant, system or developer`);
  // Chat servers' templates know system, not OpenAI's newer developer role; the two mean the same.
  const chatRole = role === 'developer' ? 'system' : (role as string);
  if (typeof item.content === 'string') return { role: chatRole, content: item.content };
  if (!Array.isArray(item.content)) throw invalid(`${at}.content must be a string or a list of parts`);
  const parts: Json[] = [];
  let refusal: string | undefined;
  item.content.forEach((part: unknown, i) => {
    const where = `${at}.content[${i}]`;
    if (!isObject(part)) throw invalid(`${where} must be an object`);
    if (part.type === 'refusal' && role === 'assistant' && typeof part.refusal === 'string') refusal = part.refusal;
    else if (part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${where}.text must be a string`);
      parts.push({ type: 'text', text: part.text });
    } else if (role === 'user') parts.push(userPart(part, where, invalid));
    else throw invalid(`${where}: a ${String(role)} message carries text parts only, not ${JSON.stringify(part.type)}`);
  });
  // An assistant turn that only refused has no content: chat says null there, as for one that only called tools.
  const out: Json = { role: chatRole, content: parts.length === 0 && role === 'assistant' ? null : collapse(parts) };
  if (refusal !== undefined) out.refusal = refusal;
  return out;
}

/** One text part is its string (what every chat server reads); more stay parts. */
const collapse = (parts: Json[]): string | Json[] =>
  parts.length === 1 && parts[0]!.type === 'text' ? (parts[0]!.text as string) : parts;

function userPart(part: Json, where: string, invalid: Invalid): Json {
  switch (part.type) {
    case 'input_image': {
      if (typeof part.image_url !== 'string')
        throw invalid(
          `${where}: an image by file_id lives in OpenAI's file store, which a chat completions target cannot read; send "image_url" (a URL or a data: URL)`,
        );
      // Chat knows auto, low and high; 'original' has no equivalent and falls back to the server's default.
      const detail =
        part.detail === 'auto' || part.detail === 'low' || part.detail === 'high' ? part.detail : undefined;
      return {
        type: 'image_url',
        image_url: detail === undefined ? { url: part.image_url } : { url: part.image_url, detail },
      };
    }
    case 'input_file': {
      if (typeof part.file_url === 'string' && part.file_data === undefined && part.file_id == null)
        throw invalid(
          `${where}: a file by "file_url" cannot be carried to a chat completions target; send "file_data"`,
        );
      const file: Json = {};
      for (const key of ['file_data', 'file_id', 'filename'] as const) if (part[key] != null) file[key] = part[key];
      return { type: 'file', file };
    }
    case 'input_audio':
      return { type: 'input_audio', input_audio: part.input_audio };
    default:
      throw invalid(`${where}: a ${JSON.stringify(part.type)} part cannot be carried to a chat completions target`);
  }
}

/** A function_call_output's `output`: a string, or text parts (a chat tool message holds text only). */
function toolOutput(output: unknown, at: string, invalid: Invalid): string | Json[] {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) throw invalid(`${at}.output must be a string or a list of parts`);
  return collapse(
    output.map((part: unknown, i) => {
      if (!isObject(part) || part.type !== 'input_text' || typeof part.text !== 'string')
        throw invalid(`${at}.output[${i}]: a chat tool message carries text only (input_text parts)`);
      return { type: 'text', text: part.text };
    }),
  );
}

/** Responses' flat function tools as chat's nested ones; any other tool is refused, all of them named. */
function chatTools(tools: unknown, invalid: Invalid): Json[] | undefined {
  if (tools == null) return undefined;
  if (!Array.isArray(tools)) throw invalid('"tools" must be a list');
  const others = tools
    .filter((t) => !isObject(t) || t.type !== 'function')
    .map((t) => String(isObject(t) ? t.type : t));
  if (others.length > 0)
    throw invalid(
      `tools of type ${[...new Set(others)].join(', ')} cannot be carried to a chat completions target, which runs no built-in tools: only function tools can`,
    );
  if (tools.length === 0) return undefined;
  return (tools as Json[]).map((t, i) => {
    if (typeof t.name !== 'string' || t.name === '') throw invalid(`tools[${i}] needs a "name"`);
    const fn: Json = { name: t.name };
    for (const key of ['description', 'parameters', 'strict'] as const) if (t[key] != null) fn[key] = t[key];
    return { type: 'function', function: fn };
  });
}

function chatToolChoice(choice: unknown, invalid: Invalid): unknown {
  if (choice == null) return undefined;
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string')
    return { type: 'function', function: { name: choice.name } };
  if (isObject(choice) && choice.type === 'allowed_tools' && Array.isArray(choice.tools)) {
    const tools = choice.tools.map((t: unknown) => {
      if (!isObject(t) || t.type !== 'function' || typeof t.name !== 'string')
        throw invalid('"tool_choice": allowed_tools can name function tools only');
      return { type: 'function', function: { name: t.name } };
    });
    return { type: 'allowed_tools', allowed_tools: { mode: choice.mode ?? 'auto', tools } };
  }
  throw invalid(
    `"tool_choice" ${JSON.stringify(choice)} cannot be carried to a chat completions target: none, auto, required, a function or allowed function tools`,
  );
}

function chatResponseFormat(format: unknown, invalid: Invalid): Json | undefined {
  if (format == null) return undefined;
  if (!isObject(format)) throw invalid('"text.format" must be an object');
  switch (format.type) {
    case 'text':
      return undefined; // the default: left out, so no server meets a field it may not know
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const schema: Json = { name: format.name, schema: format.schema };
      if (format.description != null) schema.description = format.description;
      if (format.strict != null) schema.strict = format.strict;
      return { type: 'json_schema', json_schema: schema };
    }
    default:
      throw invalid(
        `"text.format" of type ${JSON.stringify(format.type)} cannot be carried to a chat completions target`,
      );
  }
}
