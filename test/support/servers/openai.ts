// An OpenAI-compatible server standing in for vLLM (which cannot run here),
// written from the OpenAI API reference: GET /v1/models, GET /health,
// POST /v1/chat/completions and /v1/completions (JSON, or SSE with
// `"stream": true`: `data: {chunk}` events and a final `data: [DONE]`), and
// POST /v1/embeddings, and POST /v1/responses (./responses.ts). Errors in vLLM's shape. The "model" answers
// deterministically: it echoes the last message (or the prompt) word by word, cut at `max_tokens` words
// (finish_reason `length`) or before a `stop` string (reported as vLLM does, in the choice's
// `stop_reason`). Given `tools`, a chat call whose last user message names one (or that forces one with
// `tool_choice`) is answered with tool calls instead (./chat-tools.ts), streamed as OpenAI streams them.
import type { ServerResponse } from 'node:http';
import { startUpstream, type Upstream } from '../upstream.js';
import { answerResponses } from './responses.js';
import { contentText, streamToolCalls, toolCallsFor } from './chat-tools.js';

export interface OpenAiServer extends Upstream {
  /** While false, every route answers 503 (a replica starting up or draining). */
  ready: boolean;
  /** A streamed answer awaits this after its first content chunk, when set. */
  streamGate: Promise<void> | undefined;
  /** Called when a caller (here: Junction) goes away before a streamed answer ends. */
  onStreamAborted: (() => void) | undefined;
  /** When set, chat usage reports this many of the prompt tokens as cached (`prompt_tokens_details.cached_tokens`). */
  cachedTokens: number | undefined;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { object: 'error', message, type, param: null, code: status });
}

let counter = 0;

export async function startOpenAiServer(opts: { models?: string[] } = {}): Promise<OpenAiServer> {
  const models = opts.models ?? ['served-llm'];
  const up = await startUpstream('openai');
  const server = up as OpenAiServer;
  server.ready = true;
  server.streamGate = undefined;
  server.onStreamAborted = undefined;
  server.cachedTokens = undefined;

  up.handle(async (req, res, raw) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!server.ready) return error(res, 503, 'ServiceUnavailableError', 'the server is not ready');
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'vllm' })),
      });
    }
    if (req.method !== 'POST') return error(res, 404, 'NotFoundError', `no route ${req.method} ${path}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return error(res, 400, 'BadRequestError', 'body is not valid JSON');
    }
    const model = body.model as string;
    if (!models.includes(model)) return error(res, 404, 'NotFoundError', `The model \`${model}\` does not exist.`);
    const created = 1_700_000_000;
    const id = `cmpl-${++counter}`;

    if (path === '/v1/embeddings') {
      const inputs = Array.isArray(body.input) ? (body.input as string[]) : [body.input as string];
      const data = inputs.map((text, index) => ({ object: 'embedding', index, embedding: embed(String(text)) }));
      return json(res, 200, {
        object: 'list',
        data,
        model,
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
    }

    if (path === '/v1/responses') {
      return answerResponses(res, body, model, {
        gate: server.streamGate,
        onAborted: () => server.onStreamAborted?.(),
      });
    }

    const chat = path === '/v1/chat/completions';
    if (!chat && path !== '/v1/completions') return error(res, 404, 'NotFoundError', `no route POST ${path}`);
    const messages = body.messages as Array<{ role?: string; content?: unknown }> | undefined;
    if (chat && (!Array.isArray(messages) || messages.length === 0))
      return error(res, 400, 'BadRequestError', 'messages is required');
    const prompt = chat ? contentText(messages!.at(-1)!.content) : typeof body.prompt === 'string' ? body.prompt : '';
    const promptWords = prompt.split(' ').filter(Boolean);
    const cut = cutAnswer(promptWords, body);
    const words = cut.words;
    const usage: Record<string, unknown> = {
      prompt_tokens: promptWords.length,
      completion_tokens: words.length,
      total_tokens: promptWords.length + words.length,
    };
    if (server.cachedTokens !== undefined)
      usage.prompt_tokens_details = { cached_tokens: Math.min(server.cachedTokens, promptWords.length) };
    const calls = chat ? toolCallsFor(body, messages!) : undefined;
    if (calls !== undefined) {
      usage.completion_tokens = calls.length;
      usage.total_tokens = promptWords.length + calls.length;
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        return streamToolCalls(res, { id, created, model }, calls, body, usage);
      }
      const message = { role: 'assistant', content: null, tool_calls: calls };
      const choices = [{ index: 0, message, finish_reason: 'tool_calls' }];
      return json(res, 200, { id, object: 'chat.completion', created, model, choices, usage });
    }
    const ending = cut.stopReason === undefined ? {} : { stop_reason: cut.stopReason };

    if (body.stream !== true) {
      const text = words.join(' ');
      const choice = chat
        ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: cut.finish, ...ending }
        : { index: 0, text, logprobs: null, finish_reason: cut.finish, ...ending };
      return json(res, 200, {
        id,
        object: chat ? 'chat.completion' : 'text_completion',
        created,
        model,
        choices: [choice],
        usage,
      });
    }

    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const event = (choice: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id, object, created, model, choices: [choice] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.once('close', () => {
      if (!res.writableFinished) server.onStreamAborted?.();
    });
    if (chat) res.write(event({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
    for (let i = 0; i < words.length; i++) {
      const piece = (i === 0 ? '' : ' ') + words[i];
      res.write(
        event(
          chat
            ? { index: 0, delta: { content: piece }, finish_reason: null }
            : { index: 0, text: piece, finish_reason: null },
        ),
      );
      if (i === 0 && server.streamGate) await server.streamGate;
    }
    res.write(
      event(
        chat
          ? { index: 0, delta: {}, finish_reason: cut.finish, ...ending }
          : { index: 0, text: '', finish_reason: cut.finish, ...ending },
      ),
    );
    // stream_options.include_usage: one more chunk with no choices and the usage, as OpenAI sends it.
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) {
      res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [], usage })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  });
  return server;
}

/** The echo cut as a server cuts it: before the first `stop` string it contains, or at `max_tokens` words. */
function cutAnswer(
  words: string[],
  body: Record<string, unknown>,
): { words: string[]; finish: string; stopReason?: string } {
  const stops = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? (body.stop as string[]) : [];
  const text = words.join(' ');
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at !== -1) return { words: text.slice(0, at).split(' ').filter(Boolean), finish: 'stop', stopReason: stop };
  }
  const max = body.max_tokens ?? body.max_completion_tokens;
  if (typeof max === 'number' && words.length > max) return { words: words.slice(0, max), finish: 'length' };
  return { words, finish: 'stop' };
}

/** A deterministic 8-dimensional "embedding" of a text. */
function embed(text: string): number[] {
  const v = new Array<number>(8).fill(0);
  for (let i = 0; i < text.length; i++) v[i % 8] = v[i % 8]! + text.charCodeAt(i) / 1000;
  return v;
}
