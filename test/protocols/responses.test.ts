// POST /v1/responses (the Responses API, what current OpenAI SDKs and the
// Vercel AI SDK call by default) routed like chat: the body's model names the
// objective, the openai backend rewrites it to its served name, and a stream
// passes event by event. Driven by the official `openai` client and the AI
// SDK's default `openai(objective)` model against a server speaking the
// Responses API (test/support/servers/responses.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { startJunction, type Junction } from '../../src/app.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { lastTraffic } from '../support/servers/traffic.js';
import { REPO_ROOT } from '../support/onnx.js';

let upstream: OpenAiServer;
let junction: Junction;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAiServer({ models: ['served-llm'] });
  junction = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    config: {
      models: {
        chat: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'http', protocol: 'openai', endpoints: [upstream.url], model: 'served-llm' } },
          },
        },
        charlm: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'onnx', path: 'models/charlm-1.onnx', tokenizer: 'models/charlm-1.vocab.json' } },
          },
        },
      },
      objectives: {
        assistant: { interface: 'openai', default: 'chat@1' },
        local: { interface: 'openai', default: 'charlm@1' },
      },
    },
  });
  client = new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: 'caller-key', maxRetries: 0 });
});
afterAll(async () => {
  await junction.close();
  await upstream.close();
});

describe('the Responses API', () => {
  it('answers responses.create for the objective named by model, rewriting model upstream', async () => {
    const { data, response } = await client.responses
      .create({ model: 'assistant', input: 'route this please' })
      .withResponse();
    expect(response.headers.get('x-model')).toBe('chat@1');
    expect(data.output_text).toBe('route this please');
    expect(data.usage).toMatchObject({ input_tokens: 3, output_tokens: 3 });
    const sent = lastTraffic(upstream);
    expect(sent.url).toBe('/v1/responses');
    expect(JSON.parse(sent.body.toString())).toMatchObject({ model: 'served-llm', input: 'route this please' });
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('streams responses.create event by event: the first delta arrives while the upstream still holds the rest', async () => {
    let open!: () => void;
    upstream.streamGate = new Promise<void>((r) => {
      open = r;
    });
    try {
      const stream = await client.responses.create({
        model: 'assistant',
        input: [{ role: 'user', content: 'one two three' }],
        stream: true,
      });
      const types: string[] = [];
      let text = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') {
          text += event.delta;
          open(); // only now may the upstream send the rest: had Junction buffered, this would never come
        }
        if (event.type === 'response.completed') expect(event.response.usage?.output_tokens).toBe(3);
      }
      expect(text).toBe('one two three');
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(types).toContain('response.output_item.done');
    } finally {
      upstream.streamGate = undefined;
    }
  });

  it("answers an unknown objective in OpenAI's error shape", async () => {
    const err = await client.responses.create({ model: 'nope', input: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('objective_not_found');
  });

  it("serves the Vercel AI SDK's default openai(objective) model, plain and streamed", async () => {
    const openai = createOpenAI({ baseURL: `${junction.url}/v1`, apiKey: 'caller-key' });
    const plain = await generateText({ model: openai('assistant'), prompt: 'hello from the ai sdk', maxRetries: 0 });
    expect(plain.text).toBe('hello from the ai sdk');
    expect(plain.usage.inputTokens).toBe(5);
    expect(lastTraffic(upstream).url).toBe('/v1/responses');

    const streamed = streamText({ model: openai('assistant'), prompt: 'streamed words here', maxRetries: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe('streamed words here');
    expect((await streamed.usage).outputTokens).toBe(3);
  });

  it('is answered in-process by an ONNX language model, plain and streamed, naming its model like a proxied answer', async () => {
    const question = 'How do I reset my password?';
    const plain = await client.responses.create({
      model: 'local',
      input: question,
      temperature: 0,
      max_output_tokens: 200,
    });
    expect(plain.model).toBe('charlm'); // the model that answered, as a proxied backend names its own
    expect(plain.output_text).toBe(
      'Open Settings, choose Account, then Reset password. We email you a link that works for one hour.',
    );
    expect(plain.usage!.output_tokens).toBe(plain.output_text.length + 1); // one token per character, and the newline that ended it
    const stream = await client.responses.create({
      model: 'local',
      input: [{ role: 'user', content: question }],
      temperature: 0,
      max_output_tokens: 5,
      stream: true,
    });
    let text = '';
    let last = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      last = event.type;
    }
    expect(text).toBe('Open ');
    expect(last).toBe('response.incomplete'); // cut by max_output_tokens, as OpenAI reports it
    const openai = createOpenAI({ baseURL: `${junction.url}/v1`, apiKey: 'caller-key' });
    const viaSdk = await generateText({ model: openai('local'), prompt: question, temperature: 0, maxRetries: 0 });
    expect(viaSdk.text).toBe(plain.output_text);
  });

  it('refuses, in-process, what the generator cannot honour: function and built-in tools, a JSON schema, a previous response', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const err = await client.responses
        .create({ model: 'local', input: 'How do I reset my password?', ...body })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_request');
      return (err as Error).message;
    };
    const weather = { type: 'function', name: 'weather', parameters: { type: 'object' }, strict: false } as const;
    expect(await refused({ tools: [weather] })).toMatch(/cannot call tools/);
    expect(await refused({ tools: [weather], stream: true })).toMatch(/cannot call tools/);
    expect(await refused({ tools: [{ type: 'web_search' }] })).toMatch(/web_search/);
    expect(await refused({ text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } } })).toMatch(
      /response_format/,
    );
    expect(await refused({ previous_response_id: 'resp_1' })).toMatch(/previous_response_id/);
  });

  it('echoes the request in-process as OpenAI does, instructions read as a system message', async () => {
    const plain = await client.responses.create({
      model: 'local',
      instructions: 'Answer support questions.',
      input: [
        { role: 'developer', content: 'Be kind.' },
        { role: 'user', content: [{ type: 'input_text', text: 'How do I reset my password?' }] },
      ],
      temperature: 0,
      max_output_tokens: 200,
      metadata: { ticket: '42' },
    });
    expect(plain).toMatchObject({
      object: 'response',
      status: 'completed',
      instructions: 'Answer support questions.',
      temperature: 0,
      max_output_tokens: 200,
      metadata: { ticket: '42' },
      tools: [],
    });
    // The quickstart model never saw a system prompt: it is left out of its prompt, and the answer is the same.
    expect(plain.output_text).toBe(
      'Open Settings, choose Account, then Reset password. We email you a link that works for one hour.',
    );
  });
});
