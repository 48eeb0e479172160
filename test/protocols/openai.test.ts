// The OpenAI face and the openai protocol end to end over real sockets:
// Junction in front of a vLLM-like server (test/support/servers/openai.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { lastTraffic } from '../support/servers/traffic.js';

describe('openai protocol behind the OpenAI face', () => {
  let vllm: OpenAiServer;
  let junction: Junction;

  beforeAll(async () => {
    vllm = await startOpenAiServer({ models: ['served-llm', 'chat-v2'] });
    junction = await startJunction({
      port: 0,
      config: {
        models: {
          chat: {
            class: 'generator',
            versions: {
              '1': { backend: { type: 'http', protocol: 'openai', endpoints: [vllm.url], model: 'served-llm' } },
            },
          },
          // No backend.model: the served name is the model name, "chat-v2".
          'chat-v2': {
            class: 'generator',
            versions: { '2': { backend: { type: 'http', protocol: 'openai', endpoints: [vllm.url] } } },
          },
          ranker: { versions: { '1': { backend: { type: 'http', endpoints: [`${vllm.url}/rank`] } } } },
        },
        objectives: {
          'support-chat': { interface: 'openai', default: 'chat@1' },
          'support-chat-v2': { interface: 'openai', default: 'chat-v2@2', policy: { maxBodyBytes: 200 } },
          ranking: { interface: 'json', default: 'ranker@1' },
        },
      },
    });
  });
  afterAll(async () => {
    await junction.close();
    await vllm.close();
  });

  const post = (path: string, body: unknown) =>
    request(`${junction.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('routes by the body model and rewrites only that field to the served name', async () => {
    // Spacing, key order and a big integer that JSON.parse would round must all survive.
    const sent =
      '{ "messages": [{"role": "user", "content": "hi there", "model": "inner"}],\n  "model" : "support-chat", "seed": 12345678901234567890 }';
    const res = await post('/v1/chat/completions', sent);
    const body = (await res.body.json()) as {
      object: string;
      model: string;
      choices: Array<{ message: { content: string } }>;
    };
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-model']).toBe('chat@1');
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]!.message.content).toBe('hi there');
    const upstream = lastTraffic(vllm);
    expect(upstream.url).toBe('/v1/chat/completions');
    expect(upstream.body.toString()).toBe(sent.replace('"support-chat"', '"served-llm"'));
    expect(upstream.headers['content-length']).toBe(String(upstream.body.length));
  });

  it('defaults the served name to the model name', async () => {
    const res = await post('/v1/completions', { model: 'support-chat-v2', prompt: 'a b c' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({
      object: 'text_completion',
      model: 'chat-v2',
      choices: [{ text: 'a b c' }],
    });
    expect(lastTraffic(vllm).url).toBe('/v1/completions');
  });

  it('serves embeddings', async () => {
    const res = await post('/v1/embeddings', { model: 'support-chat', input: ['x', 'y'] });
    const body = (await res.body.json()) as { data: Array<{ embedding: number[] }> };
    expect(res.statusCode).toBe(200);
    expect(body.data).toHaveLength(2);
    expect(lastTraffic(vllm).url).toBe('/v1/embeddings');
  });

  it('streams SSE chunk by chunk: the first chunk arrives before the upstream finishes', async () => {
    let open!: () => void;
    vllm.streamGate = new Promise<void>((r) => {
      open = r;
    });
    const res = await post('/v1/chat/completions', {
      model: 'support-chat',
      stream: true,
      messages: [{ role: 'user', content: 'one two three' }],
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    let seen = '';
    const reader = res.body[Symbol.asyncIterator]();
    // The server holds everything after "one" until the gate opens: read until it arrives.
    while (!seen.includes('"content":"one"')) seen += ((await reader.next()).value as Buffer).toString();
    expect(seen).not.toContain('[DONE]');
    open();
    for (let r = await reader.next(); !r.done; r = await reader.next()) seen += (r.value as Buffer).toString();
    expect(seen).toContain('"content":" three"');
    expect(seen.trimEnd().endsWith('data: [DONE]')).toBe(true);
    vllm.streamGate = undefined;
  });

  it('a caller that goes away mid-stream closes the upstream stream too', async () => {
    let open!: () => void;
    vllm.streamGate = new Promise<void>((r) => {
      open = r;
    });
    const aborted = new Promise<void>((r) => {
      vllm.onStreamAborted = r;
    });
    const res = await post('/v1/chat/completions', {
      model: 'support-chat',
      stream: true,
      messages: [{ role: 'user', content: 'a b' }],
    });
    const reader = res.body[Symbol.asyncIterator]();
    await reader.next();
    res.body.destroy();
    await aborted; // Junction aborted its upstream request: the backend can stop generating
    open();
    vllm.streamGate = undefined;
    vllm.onStreamAborted = undefined;
  });

  it('rewrites the model on the generic objective endpoint too', async () => {
    const res = await post('/v1/objectives/support-chat', {
      model: 'whatever',
      messages: [{ role: 'user', content: 'q' }],
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(JSON.parse(lastTraffic(vllm).body.toString()).model).toBe('served-llm');
  });

  it('lists the openai objectives as models', async () => {
    const res = await request(`${junction.url}/v1/models`);
    const body = (await res.body.json()) as { object: string; data: Array<{ id: string }> };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id).sort()).toEqual(['support-chat', 'support-chat-v2']);
    expect((await request(`${junction.url}/v1/models/support-chat`)).statusCode).toBe(200);
    const missing = await request(`${junction.url}/v1/models/ranking`);
    expect(missing.statusCode).toBe(404);
    expect(await missing.body.json()).toMatchObject({ error: { code: 'objective_not_found' } });
  });

  it('answers Junction errors in the OpenAI shape', async () => {
    const unknown = await post('/v1/chat/completions', { model: 'nope', messages: [] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['x-error-code']).toBe('objective_not_found');
    expect(await unknown.body.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'objective_not_found' },
    });

    const missing = await post('/v1/chat/completions', { messages: [] });
    expect(missing.statusCode).toBe(400);
    expect(await missing.body.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('"model"') },
    });

    const malformed = await post('/v1/embeddings', '{"model": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['x-error-code']).toBe('invalid_request');

    const wrongInterface = await post('/v1/chat/completions', { model: 'ranking', messages: [] });
    expect(wrongInterface.statusCode).toBe(400);
    expect(await wrongInterface.body.json()).toMatchObject({
      error: { message: expect.stringContaining('interface json') },
    });

    const tooLarge = await post('/v1/completions', { model: 'support-chat-v2', prompt: 'x'.repeat(300) });
    expect(tooLarge.statusCode).toBe(413);
    expect(await tooLarge.body.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('passes backend errors through with the decision headers', async () => {
    const res = await post('/v1/chat/completions', { model: 'support-chat', messages: [] });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-model']).toBe('chat@1');
    expect(await res.body.json()).toMatchObject({ object: 'error', message: 'messages is required' });
  });
});
