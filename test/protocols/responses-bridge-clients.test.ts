// The Responses ↔ chat translation end to end with the clients that call
// /v1/responses — the official `openai` client, the AI SDK's default
// `openai(id)` provider and LangChain's `ChatOpenAI` with `useResponsesApi` —
// through a real Junction whose targets are `protocol: openai-chat` (no
// Responses API: Junction's bridge translates the call to a chat completion
// and back, streams and errors included). The upstream is the chat-only
// stand-in (test/support/servers/openai.ts, which calls a tool the user's
// words name, with arguments from its schema); a second upstream cuts its
// streams after their first words.
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { REPO_ROOT } from '../support/onnx.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { lastTraffic } from '../support/servers/traffic.js';

type Json = Record<string, unknown>;

const KEY = 'jk_responses-caller-key';
let upstream: OpenAiServer;
let broken: Upstream;
let junction: Junction;
let client: OpenAI;

const chatOnly = (url: string) => ({
  class: 'generator',
  versions: { '1': { backend: { type: 'http', protocol: 'openai-chat', endpoints: [url], model: 'served-llm' } } },
});

beforeAll(async () => {
  upstream = await startOpenAiServer({ models: ['served-llm'] });
  // A chat upstream whose streams are cut after their first words (no finish_reason, no [DONE]).
  broken = await startUpstream('broken');
  broken.handle((_req, res) => {
    const chunk = (delta: Json) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'served-llm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'half an' }));
  });
  junction = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    config: {
      clients: { app: { keySha256: keyDigest(KEY) } },
      models: { llm: chatOnly(upstream.url), 'cut-llm': chatOnly(broken.url) },
      objectives: {
        assistant: { interface: 'openai', default: 'llm@1' },
        'cut-assistant': { interface: 'openai', default: 'cut-llm@1' },
      },
    },
  });
  client = new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await junction?.close();
  await Promise.all([upstream?.close(), broken?.close()]);
});

const sentToUpstream = () => JSON.parse(lastTraffic(upstream).body.toString()) as Json;

const weather = {
  type: 'function' as const,
  name: 'weather',
  description: 'The weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};
const time = { ...weather, name: 'time', description: 'The time in a city' };

describe('the official openai client', () => {
  it('gets responses.create answered by a chat-only upstream, whose key is never the caller’s', async () => {
    const { data: res, response } = await client.responses
      .create({
        model: 'assistant',
        instructions: 'Echo.',
        input: 'route this please',
        max_output_tokens: 50,
      })
      .withResponse();
    expect(response.headers.get('x-model')).toBe('llm@1'); // the objective's target answered
    expect(res).toMatchObject({ object: 'response', status: 'completed', model: 'served-llm', instructions: 'Echo.' });
    expect(res.output_text).toBe('route this please');
    expect(res.usage).toMatchObject({ input_tokens: 3, output_tokens: 3, total_tokens: 6 });
    expect(lastTraffic(upstream).url).toBe('/v1/chat/completions');
    expect(sentToUpstream()).toEqual({
      model: 'served-llm',
      messages: [
        { role: 'system', content: 'Echo.' },
        { role: 'user', content: 'route this please' },
      ],
      max_tokens: 50,
    });
    // The caller's key stays with Junction.
    expect(lastTraffic(upstream).headers['authorization']).toBeUndefined();
    expect(lastTraffic(upstream).headers['x-api-key']).toBeUndefined();
  });

  it('iterates a streamed answer from response.created to response.completed, usage included', async () => {
    const stream = await client.responses.create({ model: 'assistant', input: 'one two three', stream: true });
    const types: string[] = [];
    let text = '';
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') usage = event.response.usage;
    }
    expect(text).toBe('one two three');
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    expect(types.at(-1)).toBe('response.completed');
    expect(usage).toMatchObject({ input_tokens: 3, output_tokens: 3 });
    expect(sentToUpstream()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('reports an answer cut at max_output_tokens as incomplete', async () => {
    const res = await client.responses.create({ model: 'assistant', input: 'a b c d e', max_output_tokens: 2 });
    expect(res).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(res.output_text).toBe('a b');
  });

  it("gets a function tool's call back as a function_call item, and the answer after its output", async () => {
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'what is the weather in Paris' }];
    const first = await client.responses.create({ model: 'assistant', input, tools: [weather] });
    const calls = first.output.filter(
      (o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call',
    );
    expect(calls).toEqual([
      expect.objectContaining({ type: 'function_call', name: 'weather', arguments: '{"city":"Paris"}' }),
    ]);
    expect(sentToUpstream().tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: weather.description, parameters: weather.parameters, strict: true },
      },
    ]);
    const second = await client.responses.create({
      model: 'assistant',
      tools: [weather],
      input: [
        ...input,
        ...calls,
        { type: 'function_call_output', call_id: calls[0]!.call_id, output: 'sunny and 24 degrees' },
      ],
    });
    expect(second.output_text).toBe('sunny and 24 degrees');
    expect((sentToUpstream().messages as Json[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: calls[0]!.call_id, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: calls[0]!.call_id, content: 'sunny and 24 degrees' },
    ]);
  });

  it("streams two parallel tool calls, which the client's own accumulator (responses.stream) puts together", async () => {
    const stream = client.responses.stream({
      model: 'assistant',
      input: 'the weather and the time in Oslo',
      tools: [weather, time],
    });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (e) => argumentDeltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(final.output.map((o) => (o.type === 'function_call' ? [o.name, o.arguments] : o.type))).toEqual([
      ['weather', '{"city":"Oslo"}'],
      ['time', '{"city":"Oslo"}'],
    ]);
    expect(argumentDeltas.join('')).toBe('{"city":"Oslo"}{"city":"Oslo"}');
    expect(argumentDeltas.length).toBeGreaterThan(2);
  });

  it('throws an APIError from the stream when the upstream cuts it', async () => {
    const stream = await client.responses.create({ model: 'cut-assistant', input: 'x', stream: true });
    let text = '';
    const err = await (async () => {
      for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    })().catch((e: unknown) => e);
    expect(text).toBe('half an');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/cut/);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });

  it("gets the upstream's error in OpenAI's shape, and a 400 for what cannot be carried", async () => {
    upstream.ready = false; // a replica starting up: 503 in vLLM's flat error shape
    const starting = await client.responses.create({ model: 'assistant', input: 'x' }).catch((e: unknown) => e);
    upstream.ready = true;
    expect(starting).toBeInstanceOf(OpenAI.InternalServerError);
    expect(starting).toMatchObject({ status: 503, type: 'ServiceUnavailableError' });
    expect((starting as Error).message).toMatch(/not ready/);
    const builtIn = await client.responses
      .create({ model: 'assistant', input: 'x', tools: [{ type: 'web_search' }] })
      .catch((e: unknown) => e);
    expect(builtIn).toBeInstanceOf(OpenAI.BadRequestError);
    expect((builtIn as Error).message).toMatch(/web_search/);
  });
});

describe("the AI SDK's default openai(id) provider", () => {
  const openai = () => createOpenAI({ baseURL: `${junction.url}/v1`, apiKey: KEY });
  const weatherTool = tool({
    description: 'The weather in a city',
    inputSchema: jsonSchema<{ city: string }>({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    }),
    execute: async ({ city }) => `sunny in ${city}`,
  });

  it('generates and streams text', async () => {
    const plain = await generateText({ model: openai()('assistant'), prompt: 'hello from the ai sdk', maxRetries: 0 });
    expect(plain.text).toBe('hello from the ai sdk');
    expect(plain.usage).toMatchObject({ inputTokens: 5, outputTokens: 5 });
    expect(lastTraffic(upstream).url).toBe('/v1/chat/completions');
    const streamed = streamText({ model: openai()('assistant'), prompt: 'streamed words here', maxRetries: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe('streamed words here');
    expect((await streamed.usage).outputTokens).toBe(3);
    expect(await streamed.finishReason).toBe('stop');
  });

  it('calls a tool and answers with its result, whole and streamed', async () => {
    const whole = await generateText({
      model: openai()('assistant'),
      prompt: 'what is the weather in Lisbon',
      tools: { weather: weatherTool },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    expect(whole.steps[0]!.toolCalls).toEqual([
      expect.objectContaining({ toolName: 'weather', input: { city: 'Lisbon' } }),
    ]);
    expect(whole.text).toBe('sunny in Lisbon');

    const streamed = streamText({
      model: openai()('assistant'),
      prompt: 'what is the weather in Rome',
      tools: { weather: weatherTool },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe('sunny in Rome');
    expect((await streamed.steps)[0]!.toolCalls).toEqual([
      expect.objectContaining({ toolName: 'weather', input: { city: 'Rome' } }),
    ]);
  });

  it('reports a cut upstream stream as an error', async () => {
    const errors: unknown[] = [];
    const streamed = streamText({
      model: openai()('cut-assistant'),
      prompt: 'x',
      maxRetries: 0,
      onError: ({ error }) => void errors.push(error),
    });
    let text = '';
    const thrown = await (async () => {
      for await (const delta of streamed.textStream) text += delta;
    })().catch((e: unknown) => e);
    expect(text).toBe('half an');
    expect(errors[0]).toMatchObject({ message: expect.stringMatching(/cut/), code: 'upstream_error' });
    // Then the read ends (Junction ends the reply after the error event), or throws if the connection is cut.
    expect(thrown === undefined || thrown instanceof Error).toBe(true);
  });
});

describe("LangChain's ChatOpenAI with useResponsesApi", () => {
  const model = () =>
    new ChatOpenAI({
      model: 'assistant',
      apiKey: KEY,
      configuration: { baseURL: `${junction.url}/v1` },
      useResponsesApi: true,
      maxRetries: 0,
    });

  it('invokes and streams', async () => {
    const answer = await model().invoke('hello from langchain');
    expect(answer.text).toBe('hello from langchain');
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 3, output_tokens: 3 });
    let text = '';
    for await (const chunk of await model().stream('streamed by langchain')) text += chunk.text;
    expect(text).toBe('streamed by langchain');
  });

  it('binds a tool, gets its call, and answers after a ToolMessage', async () => {
    const withTools = model().bindTools([
      {
        type: 'function',
        function: { name: 'weather', description: weather.description, parameters: weather.parameters },
      },
    ]);
    const question = new HumanMessage('what is the weather in Berlin');
    const call = await withTools.invoke([question]);
    expect(call.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args: { city: 'Berlin' } })]);
    const answer = await withTools.invoke([
      question,
      call,
      new ToolMessage({ tool_call_id: call.tool_calls![0]!.id!, content: 'cloudy in Berlin' }),
    ]);
    expect(answer.text).toBe('cloudy in Berlin');

    let streamed: Awaited<ReturnType<typeof withTools.invoke>> | undefined;
    for await (const chunk of await withTools.stream([question]))
      streamed = streamed === undefined ? chunk : streamed.concat(chunk);
    expect(streamed!.tool_calls).toEqual([expect.objectContaining({ name: 'weather', args: { city: 'Berlin' } })]);
  });
});
