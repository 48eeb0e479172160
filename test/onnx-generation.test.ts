// Generation by an in-process language model (the quickstart's character LM)
// in the OpenAI wire format, over real sockets: streamed and not, max_tokens,
// stop, and a caller that disconnects stopping the generation.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../src/app.js';
import { injectedFetch } from './support/inject.js';
import type { GenerationStats } from '../src/backends/onnx/generate/loop.js';
import { backendOf, REPO_ROOT } from './support/onnx.js';
import { allSseData, chatStreamText, sseData } from './support/sse.js';

const config = {
  models: {
    charlm: {
      class: 'generator',
      versions: {
        '1': {
          backend: {
            type: 'onnx',
            path: 'models/charlm-1.onnx',
            tokenizer: 'models/charlm-1.vocab.json',
            maxBatch: 8,
            maxDelayMs: 1,
          },
        },
      },
    },
  },
  objectives: { chat: { interface: 'openai', default: 'charlm@1' } },
};

let j: Junction;
// Not the network's test: requests go through junction.inject, except the caller that disconnects.
const fetch = injectedFetch(() => j);
beforeAll(async () => {
  j = await startJunction({ config, baseDir: REPO_ROOT, port: 0 });
});
afterAll(async () => {
  await j?.close();
});

const question = { role: 'user', content: 'How do I reset my password?' };
const ANSWER = 'Open Settings, choose Account, then Reset password. We email you a link that works for one hour.';

function post(body: unknown, signal?: AbortSignal): Promise<Response> {
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  // A caller that goes away is the network's business: that one keeps a real socket.
  return signal
    ? globalThis.fetch(`${j.url}/v1/objectives/chat`, { ...init, signal })
    : fetch(`${j.url}/v1/objectives/chat`, init);
}

describe('chat completions', () => {
  it('streams one chat.completion.chunk per token, then the finish chunk, usage and [DONE]', async () => {
    const res = await post({
      model: 'chat',
      stream: true,
      temperature: 0,
      messages: [question],
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-model')).toBe('charlm@1');
    const data = await allSseData(res.body!);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const id = chunks[0].id;
    for (const c of chunks) {
      expect(c).toMatchObject({ id, object: 'chat.completion.chunk', model: 'charlm' });
      expect(typeof c.created).toBe('number');
    }
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    });
    const content = chunks.slice(1, -2);
    for (const c of content) {
      expect(c.choices[0].finish_reason).toBeNull();
      expect([...c.choices[0].delta.content]).toHaveLength(1);
    }
    expect(content.map((c) => c.choices[0].delta.content).join('')).toBe(ANSWER);
    expect(chunks.at(-2).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    // The newline that ended the answer is a token generated but never sent.
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: content.length + 1 } });
  });

  it('answers with one chat.completion object when not streaming', async () => {
    const res = await post({ model: 'chat', temperature: 0, messages: [question] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'charlm',
      choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }],
      usage: { completion_tokens: ANSWER.length + 1 },
    });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('honours max_tokens and stop', async () => {
    const short = await (await post({ temperature: 0, max_tokens: 7, messages: [question] })).json();
    expect(short.choices[0]).toMatchObject({ message: { content: 'Open Se' }, finish_reason: 'length' });
    const stopped = await (await post({ temperature: 0, stop: [', choose', 'never'], messages: [question] })).json();
    expect(stopped.choices[0]).toMatchObject({ message: { content: 'Open Settings' }, finish_reason: 'stop' });
  });

  it('samples reproducibly with a seed at temperature > 0', async () => {
    const body = {
      temperature: 1,
      seed: 42,
      max_tokens: 30,
      messages: [{ role: 'user', content: 'Why is the picture blurry?' }],
    };
    const a = await (await post(body)).json();
    const b = await (await post(body)).json();
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
  });

  it('refuses bad JSON and bad parameters with invalid_request', async () => {
    const bad = await fetch(`${j.url}/v1/objectives/chat`, { method: 'POST', body: '{"messages": [' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
    for (const body of [
      { foo: 1 },
      { messages: [] },
      { messages: [question], max_tokens: 0 },
      { messages: [question], temperature: 3 },
      { messages: [question], n: 2 },
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
    }
  });
});

describe('what the generator cannot honour', () => {
  it('refuses tools, a tool_choice and JSON output with invalid_request instead of text that ends in stop', async () => {
    const weather = { type: 'function', function: { name: 'weather', parameters: { type: 'object' } } };
    const schema = { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } };
    for (const [extra, says] of [
      [{ tools: [weather] }, /"tools".*cannot call tools/],
      [{ tools: [weather], tool_choice: 'none' }, /"tools"/],
      [{ functions: [weather.function] }, /"tools"/],
      [{ tool_choice: 'required' }, /"tool_choice" "required"/],
      [{ tool_choice: { type: 'function', function: { name: 'weather' } } }, /"tool_choice"/],
      [{ response_format: schema }, /"response_format" "json_schema"/],
      [{ response_format: { type: 'json_object' } }, /"response_format" "json_object"/],
    ] as const) {
      const res = await post({ messages: [question], ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(says);
    }
    // What changes nothing is still answered: no tools, tool_choice none, plain text.
    const fine = await post({
      messages: [question],
      tools: [],
      tool_choice: 'none',
      response_format: { type: 'text' },
      temperature: 0,
    });
    expect(fine.status).toBe(200);
    expect(((await fine.json()) as { choices: [{ message: { content: string } }] }).choices[0].message.content).toBe(
      ANSWER,
    );
  });
});

describe('the OpenAI face', () => {
  const openai = (path: string, body: unknown) =>
    fetch(`${j.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('streams /v1/chat/completions for the objective named by model', async () => {
    const res = await openai('/v1/chat/completions', {
      model: 'chat',
      stream: true,
      temperature: 0,
      messages: [question],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model')).toBe('charlm@1');
    expect(await chatStreamText(res.body!)).toBe(ANSWER);
  });

  it('answers /v1/completions, and refuses embeddings in the OpenAI error shape', async () => {
    const done = await (
      await openai('/v1/completions', { model: 'chat', prompt: 'Q: Thank you!\nA: ', temperature: 0, max_tokens: 12 })
    ).json();
    expect(done).toMatchObject({
      object: 'text_completion',
      model: 'charlm',
      choices: [{ text: 'You are welc', finish_reason: 'length' }],
    });
    const res = await openai('/v1/embeddings', { model: 'chat', input: 'hello' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
  });
});

describe('completions', () => {
  it('continues a prompt as text_completion, streamed and not', async () => {
    const prompt = 'Q: How do I cancel my plan?\nA: ';
    const plain = await (await post({ prompt, temperature: 0, max_tokens: 20 })).json();
    expect(plain).toMatchObject({
      object: 'text_completion',
      choices: [{ index: 0, logprobs: null, finish_reason: 'length' }],
    });
    expect(plain.choices[0].text).toBe('Go to Account, then ');
    const res = await post({ prompt, temperature: 0, max_tokens: 20, stream: true });
    const data = await allSseData(res.body!);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(plain.choices[0].text);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
  });
});

describe('deadline', () => {
  it("cuts a stream at the caller's deadline, visibly, and stops generating (the same budget as any backend)", async () => {
    const ended = once(backendOf(j, 'charlm@1').events, 'generation') as Promise<[GenerationStats]>;
    // A cut stream is the network's business (a body closed without its terminating chunk): a real socket.
    const res = await globalThis.fetch(`${j.url}/v1/objectives/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-deadline-ms': '300' },
      body: JSON.stringify({
        prompt: 'Q: ',
        temperature: 1,
        seed: 3,
        max_tokens: 4096,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(res.status).toBe(200);
    const data: string[] = [];
    // Closed without its terminating chunk: reading it fails, and no [DONE] came.
    await expect(
      (async () => {
        for await (const d of sseData(res.body!)) data.push(d);
      })(),
    ).rejects.toThrow();
    expect(data).not.toContain('[DONE]');
    const [stats] = await ended;
    expect(stats.finishReason).toBe('aborted');
    expect(stats.completionTokens).toBeLessThan(4096);
  });
});

describe('disconnect', () => {
  it('stops generating when the caller goes away', async () => {
    const ended = once(backendOf(j, 'charlm@1').events, 'generation') as Promise<[GenerationStats]>;
    const controller = new AbortController();
    // No natural end: a completion runs until max_tokens unless stopped.
    const res = await post(
      { prompt: 'Q: ', temperature: 1, seed: 7, max_tokens: 4096, stream: true },
      controller.signal,
    );
    let seen = 0;
    for await (const _ of sseData(res.body!)) {
      if (++seen === 3) break;
    }
    controller.abort();
    const [stats] = await ended;
    expect(stats.finishReason).toBe('aborted');
    expect(stats.completionTokens).toBeLessThan(4096);
    expect(stats.tokensAfterAbort).toBeLessThanOrEqual(1);
  });
});
