// A server speaking Anthropic's Messages API, standing in for Anthropic (or any
// server offering that API) in tests. It follows Anthropic's published API
// reference — Messages (POST /v1/messages), streaming Messages, errors, models
// — and the official SDK's types (@anthropic-ai/sdk): a key is required, as
// `x-api-key` or as `Authorization: Bearer` (which the official SDK sends; 401
// authentication_error without one), so is the `anthropic-version` header (400);
// bodies are checked as the API checks them (required `model` and
// `max_tokens`, no unknown fields, turns starting with user and alternating,
// tool_result blocks first in their turn and answering the tool_use blocks of
// the turn before, known block types); errors are
// `{"type":"error","error":{"type","message"},"request_id"}`.
//
// The "model" answers deterministically. It echoes the text of the last user
// turn word by word (the contents of its tool_result blocks, when it has
// them), cut before a stop sequence (stop_reason stop_sequence) or at
// max_tokens words (max_tokens). Given tools, a turn whose text names a tool
// (or a tool_choice that forces one) is answered with a text block and a
// tool_use block per tool (./chat-tools.ts picks them and makes their input
// from the schema). With thinking enabled, a thinking block comes first.
// Usage counts words; blocks marked with cache_control make a prefix that
// the first request writes to the cache (cache_creation_input_tokens) and
// later ones read (cache_read_input_tokens), neither counted in input_tokens.
// Streams send the reference's event sequence with `event:` lines:
// message_start, per block content_block_start (a ping after the first),
// deltas (text_delta, input_json_delta from '' on, thinking_delta and
// signature_delta), content_block_stop, then message_delta and message_stop.
// GET /v1/models lists the models (the protocol's health path; it wants the
// key and version headers too). `failNext` scripts one error answer,
// `streamGate` holds a stream after its first delta, `cacheSystemPrompt`
// caches the system prompt unmarked (chat callers cannot mark it).
import type { ServerResponse } from 'node:http';
import { startUpstream, type Upstream } from '../upstream.js';
import { check, Invalid, invalid, type Block, type Json, type Turn } from './anthropic-check.js';
import { chosenTools, exampleInput } from './chat-tools.js';

export interface AnthropicServer extends Upstream {
  /** Every Messages request it accepted, parsed, in order. */
  readonly accepted: Json[];
  /** When set, the next POST /v1/messages is answered with this error (then it is cleared). */
  failNext: { status: number; type: string; message: string } | undefined;
  /** A streamed answer awaits this after its first delta, when set. */
  streamGate: Promise<void> | undefined;
}

function send(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'request-id': requestId,
  });
  res.end(body);
}

function fail(res: ServerResponse, err: Invalid, requestId: string): void {
  send(
    res,
    err.status,
    { type: 'error', error: { type: err.type, message: err.message }, request_id: requestId },
    requestId,
  );
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);
const blocksOf = (content: string | Block[]): Block[] =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : content;

function resultText(block: Block): string {
  const c = block.content;
  if (typeof c === 'string') return c;
  return Array.isArray(c) ? (c as Block[]).map((b) => (typeof b.text === 'string' ? b.text : '')).join(' ') : '';
}

interface Segment {
  words: number;
  cached: boolean;
  key: string;
}

/** Every piece of the prompt in the API's order (tools, system, messages), each with its word count. */
function segments(body: Json, turns: Turn[], cacheSystem: boolean): Segment[] {
  const out: Segment[] = [];
  const add = (text: string, block: Json, key: unknown) =>
    out.push({ words: words(text).length, cached: block.cache_control !== undefined, key: JSON.stringify(key) });
  for (const t of (body.tools ?? []) as Json[])
    add(`${String(t.name)} ${typeof t.description === 'string' ? t.description : ''}`, t, t);
  const system = body.system;
  const mark = cacheSystem ? { cache_control: { type: 'ephemeral' } } : {};
  if (typeof system === 'string') add(system, mark, system);
  else if (Array.isArray(system)) for (const b of system as Json[]) add(String(b.text), { ...b, ...mark }, b.text);
  for (const turn of turns)
    for (const b of blocksOf(turn.content)) {
      const text =
        b.type === 'text'
          ? String(b.text)
          : b.type === 'tool_result'
            ? resultText(b)
            : b.type === 'tool_use'
              ? JSON.stringify(b.input)
              : '';
      add(text, b, [turn.role, b.type, text]);
    }
  return out;
}

interface Answer {
  content: Block[];
  stopReason: string;
  stopSequence: string | null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

function answer(body: Json, turns: Turn[], cache: Set<string>, n: number, cacheSystem: boolean): Answer {
  const lastUser = [...turns].reverse().find((t) => t.role === 'user')!;
  const blocks = blocksOf(lastUser.content);
  const results = blocks.filter((b) => b.type === 'tool_result');
  const text =
    results.length > 0
      ? results.map(resultText).join(' ')
      : blocks
          .filter((b) => b.type === 'text')
          .map((b) => String(b.text))
          .join(' ');

  const content: Block[] = [];
  const thinking = body.thinking as Json | undefined;
  if (thinking?.type === 'enabled')
    content.push({ type: 'thinking', thinking: `Thinking about: ${text}`, signature: `sig_${n}` });

  const tools = ((body.tools ?? []) as Json[]).map((t) => ({ name: String(t.name), schema: t.input_schema }));
  const c = body.tool_choice as Json | undefined;
  const mode = c?.type === 'tool' ? 'named' : c?.type === 'any' ? 'required' : c?.type === 'none' ? 'none' : 'auto';
  const picked =
    results.length > 0
      ? []
      : chosenTools(tools, text, { mode, name: c?.name as string }, c?.disable_parallel_tool_use !== true);

  let stopReason = 'end_turn';
  let stopSequence: string | null = null;
  if (picked.length > 0) {
    content.push({ type: 'text', text: `Calling ${picked.map((t) => t.name).join(' and ')}.` });
    picked.forEach((t, i) =>
      content.push({ type: 'tool_use', id: `toolu_${n}_${i}`, name: t.name, input: exampleInput(t.schema, text) }),
    );
    stopReason = 'tool_use';
  } else {
    let reply = words(text).join(' ');
    for (const s of (body.stop_sequences ?? []) as string[]) {
      const at = reply.indexOf(s);
      if (at !== -1) {
        reply = reply.slice(0, at).trimEnd();
        stopReason = 'stop_sequence';
        stopSequence = s;
        break;
      }
    }
    const max = body.max_tokens as number;
    if (stopSequence === null && words(reply).length > max) {
      reply = words(reply).slice(0, max).join(' ');
      stopReason = 'max_tokens';
    }
    if (reply !== '') content.push({ type: 'text', text: reply });
  }

  const segs = segments(body, turns, cacheSystem);
  const total = segs.reduce((sum, s) => sum + s.words, 0);
  const marked = segs.map((s) => s.cached).lastIndexOf(true);
  let read = 0;
  let created = 0;
  if (marked !== -1) {
    const prefix = segs.slice(0, marked + 1);
    const key = prefix.map((s) => s.key).join('\u0000');
    const size = prefix.reduce((sum, s) => sum + s.words, 0);
    if (cache.has(key)) read = size;
    else {
      cache.add(key);
      created = size;
    }
  }
  const output = content.reduce(
    (sum, b) => sum + (b.type === 'tool_use' ? 1 : words(String(b.type === 'thinking' ? b.thinking : b.text)).length),
    0,
  );
  return {
    content,
    stopReason,
    stopSequence,
    usage: {
      input_tokens: total - read - created,
      output_tokens: output,
      cache_creation_input_tokens: created,
      cache_read_input_tokens: read,
    },
  };
}

function event(res: ServerResponse, type: string, data: Json): void {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
}

async function stream(
  res: ServerResponse,
  message: Json,
  a: Answer,
  server: AnthropicServer,
  requestId: string,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': requestId,
  });
  const usage = { ...a.usage, output_tokens: 1 };
  event(res, 'message_start', { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage } });
  let gated = false;
  const gate = async () => {
    if (!gated && server.streamGate) {
      gated = true;
      await server.streamGate;
    }
  };
  for (const [index, block] of a.content.entries()) {
    const start =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : block.type === 'thinking'
          ? { type: 'thinking', thinking: '', signature: '' }
          : { type: 'tool_use', id: block.id, name: block.name, input: {} };
    event(res, 'content_block_start', { index, content_block: start });
    if (index === 0) event(res, 'ping', {});
    if (block.type === 'text') {
      for (const [i, w] of words(String(block.text)).entries()) {
        event(res, 'content_block_delta', { index, delta: { type: 'text_delta', text: (i === 0 ? '' : ' ') + w } });
        await gate();
      }
    } else if (block.type === 'thinking') {
      event(res, 'content_block_delta', { index, delta: { type: 'thinking_delta', thinking: String(block.thinking) } });
      event(res, 'content_block_delta', {
        index,
        delta: { type: 'signature_delta', signature: String(block.signature) },
      });
    } else {
      const json = JSON.stringify(block.input);
      const third = Math.ceil(json.length / 3);
      for (const piece of ['', json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)])
        event(res, 'content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    event(res, 'content_block_stop', { index });
  }
  event(res, 'message_delta', {
    delta: { stop_reason: a.stopReason, stop_sequence: a.stopSequence },
    usage: { output_tokens: a.usage.output_tokens },
  });
  event(res, 'message_stop', {});
  res.end();
}

export async function startAnthropicServer(
  opts: {
    models?: string[];
    /** The one key it accepts; without it any non-empty x-api-key passes. */
    apiKey?: string;
    /** Cache the system prompt as if the caller had marked it with cache_control (chat callers cannot mark it). */
    cacheSystemPrompt?: boolean;
  } = {},
): Promise<AnthropicServer> {
  const models = opts.models ?? ['claude-stand-in'];
  const up = await startUpstream('anthropic');
  const accepted: Json[] = [];
  const cache = new Set<string>();
  const server = Object.assign(up, { accepted, failNext: undefined, streamGate: undefined }) as AnthropicServer;
  let n = 0;

  up.handle(async (req, res, raw) => {
    const requestId = `req_stand_in_${++n}`;
    const path = (req.url ?? '/').split('?')[0]!;
    // The key comes as x-api-key or as a bearer token (the official SDK, from 1.x on, sends the latter).
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = req.headers['x-api-key'] ?? bearer;
    if (typeof key !== 'string' || key === '')
      return fail(res, new Invalid(401, 'authentication_error', 'x-api-key header is required'), requestId);
    if (opts.apiKey !== undefined && key !== opts.apiKey)
      return fail(res, new Invalid(401, 'authentication_error', 'invalid x-api-key'), requestId);
    if (typeof req.headers['anthropic-version'] !== 'string')
      return fail(res, invalid('anthropic-version: header is required'), requestId);

    if (req.method === 'GET' && path === '/v1/models') {
      const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
      return send(res, 200, { data, has_more: false, first_id: models[0], last_id: models.at(-1) }, requestId);
    }
    if (req.method !== 'POST' || path !== '/v1/messages')
      return fail(res, new Invalid(404, 'not_found_error', 'Not found'), requestId);

    let body: Json;
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return fail(res, invalid('There was an error parsing the body'), requestId);
    }
    if (server.failNext !== undefined) {
      const { status, type, message } = server.failNext;
      server.failNext = undefined;
      return fail(res, new Invalid(status, type, message), requestId);
    }
    let turns: Turn[];
    try {
      ({ turns } = check(body, models));
    } catch (err) {
      if (err instanceof Invalid) return fail(res, err, requestId);
      throw err;
    }
    accepted.push(body);
    const a = answer(body, turns, cache, n, opts.cacheSystemPrompt === true);
    const message = {
      id: `msg_stand_in_${n}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: a.content,
      stop_reason: a.stopReason,
      stop_sequence: a.stopSequence,
      usage: a.usage,
    };
    if (body.stream === true) return stream(res, message, a, server, requestId);
    send(res, 200, message, requestId);
  });
  return server;
}
