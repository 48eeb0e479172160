// The Anthropic ↔ chat translations end to end with the official clients,
// through a real Junction: its Anthropic face (POST /v1/messages) in front of
// an `openai` chat target, and its OpenAI face in front of an `anthropic`
// target, each call translated there and back by Junction's bridge, streams
// and errors included.
// (a) The official `@anthropic-ai/sdk` against a chat-only upstream
//     (test/support/servers/openai.ts): messages.create, stream: true,
//     messages.stream with finalMessage(), a tool_use → tool_result round trip.
// (b) The official `openai` client against an Anthropic-protocol upstream
//     (test/support/servers/anthropic.ts): plain, streamed, with tools.
import Anthropic, { type APIError as AnthropicApiError } from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { REPO_ROOT } from '../support/onnx.js';
import { startAnthropicServer, type AnthropicServer } from '../support/servers/anthropic.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { lastTraffic } from '../support/servers/traffic.js';

type Json = Record<string, unknown>;

const KEY = 'jk_anthropic-caller-key';
const UPSTREAM_KEY = 'upstream-key';
let chatUpstream: OpenAiServer;
let anthropicUpstream: AnthropicServer;
let junction: Junction;
let anthropic: Anthropic;
let openai: OpenAI;

const chatTarget = (url: string, model: string) => ({
  class: 'generator',
  versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: [url], model } } },
});

beforeAll(async () => {
  chatUpstream = await startOpenAiServer({ models: ['served-llm'] });
  anthropicUpstream = await startAnthropicServer({
    models: ['claude-stand-in'],
    apiKey: UPSTREAM_KEY,
    cacheSystemPrompt: true,
  });
  process.env.ANTHROPIC_BRIDGE_CLIENTS_KEY = UPSTREAM_KEY;
  junction = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    config: {
      clients: { app: { keySha256: keyDigest(KEY) } },
      models: {
        llm: chatTarget(chatUpstream.url, 'served-llm'),
        // A model the chat upstream does not serve: its 404 comes back through the bridge.
        retired: chatTarget(chatUpstream.url, 'retired-llm'),
        claude: {
          class: 'generator',
          versions: {
            '1': {
              backend: {
                type: 'http',
                protocol: 'anthropic',
                endpoints: [anthropicUpstream.url],
                model: 'claude-stand-in',
                headers: { 'x-api-key': '${env:ANTHROPIC_BRIDGE_CLIENTS_KEY}' },
              },
            },
          },
        },
      },
      objectives: {
        assistant: { interface: 'openai', default: 'llm@1' },
        retired: { interface: 'openai', default: 'retired@1' },
        'claude-assistant': { interface: 'openai', default: 'claude@1' },
      },
    },
  });
  anthropic = new Anthropic({ baseURL: junction.url, apiKey: KEY, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await junction?.close();
  await chatUpstream?.close();
  await anthropicUpstream?.close();
  delete process.env.ANTHROPIC_BRIDGE_CLIENTS_KEY;
});

const lastChatRequest = (): Json => JSON.parse(lastTraffic(chatUpstream).body.toString()) as Json;

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('the Anthropic SDK against a chat-only upstream', () => {
  it('messages.create: text, stop_reason, usage (cached tokens left out of input_tokens), the caller’s model', async () => {
    chatUpstream.cachedTokens = 2;
    try {
      const { data: msg, response } = await anthropic.messages
        .create({
          model: 'assistant',
          max_tokens: 100,
          system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: 'route this please' }],
        })
        .withResponse();
      expect(response.headers.get('x-model')).toBe('llm@1'); // the objective's chat target answered
      expect(msg).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'assistant',
        content: [{ type: 'text', text: 'route this please' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 1, output_tokens: 3, cache_read_input_tokens: 2, cache_creation_input_tokens: 0 },
      });
      expect(msg.id).toMatch(/^msg_/);
      expect(lastChatRequest()).toMatchObject({
        model: 'served-llm',
        max_tokens: 100,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'route this please' },
        ],
      });
      // The caller's key (sent as x-api-key) stays with Junction.
      expect(lastTraffic(chatUpstream).url).toBe('/v1/chat/completions');
      expect(lastTraffic(chatUpstream).headers['x-api-key']).toBeUndefined();
      expect(lastTraffic(chatUpstream).headers['authorization']).toBeUndefined();
    } finally {
      chatUpstream.cachedTokens = undefined;
    }
  });

  it('messages.create: max_tokens and stop sequences end the message as Anthropic ends it', async () => {
    const cut = await anthropic.messages.create({
      model: 'assistant',
      max_tokens: 2,
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(cut).toMatchObject({ content: [{ text: 'one two' }], stop_reason: 'max_tokens' });
    const stopped = await anthropic.messages.create({
      model: 'assistant',
      max_tokens: 100,
      stop_sequences: ['three'],
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(stopped).toMatchObject({
      content: [{ text: 'one two' }],
      stop_reason: 'stop_sequence',
      stop_sequence: 'three',
    });
  });

  it('stream: true yields Anthropic’s event sequence', async () => {
    const stream = await anthropic.messages.create({
      model: 'assistant',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(text).toBe('one two three');
    expect(types[0]).toBe('message_start');
    expect(types.slice(1, 2)).toEqual(['content_block_start']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(lastChatRequest()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('messages.stream: text events and finalMessage() with the whole usage', async () => {
    const stream = anthropic.messages.stream({
      model: 'assistant',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'streamed through the bridge' }],
    });
    const pieces: string[] = [];
    stream.on('text', (t) => pieces.push(t));
    const final = await stream.finalMessage();
    expect(pieces.join('')).toBe('streamed through the bridge');
    expect(final).toMatchObject({
      content: [{ type: 'text', text: 'streamed through the bridge' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 4, output_tokens: 4 },
    });
  });

  it('a tool round trip: tool_use with parsed input, then tool_result answered', async () => {
    const question: Anthropic.MessageParam = { role: 'user', content: 'call get_weather for Oslo' };
    const first = await anthropic.messages.create({
      model: 'assistant',
      max_tokens: 100,
      tools: [weather],
      messages: [question],
    });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } });
    expect(lastChatRequest().tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'The weather in a city', parameters: weather.input_schema },
      },
    ]);

    const second = await anthropic.messages.create({
      model: 'assistant',
      max_tokens: 100,
      tools: [weather],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'twelve degrees' }] },
      ],
    });
    expect(second).toMatchObject({ content: [{ type: 'text', text: 'twelve degrees' }], stop_reason: 'end_turn' });
    expect((lastChatRequest().messages as Json[]).slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      },
      { role: 'tool', tool_call_id: use.id, content: 'twelve degrees' },
    ]);
  });

  it('a streamed tool call: input_json_delta assembled by finalMessage()', async () => {
    const final = await anthropic.messages
      .stream({
        model: 'assistant',
        max_tokens: 100,
        tools: [weather],
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'what about Lima' }],
      })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'tool_use', id: expect.any(String) as string, name: 'get_weather', input: { city: 'Lima' } },
    ]);
  });

  it('errors come back in Anthropic’s shape: the upstream’s 404, an unknown objective, max_tokens missing', async () => {
    const retired = await anthropic.messages
      .create({ model: 'retired', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(retired).toBeInstanceOf(Anthropic.NotFoundError);
    expect((retired as AnthropicApiError).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect((retired as AnthropicApiError).message).toContain('retired-llm'); // the upstream's own words
    expect(lastTraffic(chatUpstream).url).toBe('/v1/chat/completions');
    const missing = await anthropic.messages
      .create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as AnthropicApiError).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const noMax = await anthropic.messages
      .create({
        model: 'assistant',
        messages: [{ role: 'user', content: 'x' }],
      } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError);
    expect((noMax as AnthropicApiError).message).toContain('max_tokens');
  });
});

describe('the OpenAI client against an Anthropic-protocol upstream', () => {
  const lastMessagesRequest = () => anthropicUpstream.accepted.at(-1)!;

  it('chat.completions.create: text, finish_reason, usage with cached tokens, and a faithful Messages request', async () => {
    const ask = () =>
      openai.chat.completions.create({
        model: 'claude-assistant',
        messages: [
          { role: 'system', content: 'You answer in one short line.' },
          { role: 'user', content: 'route this please' },
        ],
      });
    const first = await ask();
    expect(first).toMatchObject({
      object: 'chat.completion',
      model: 'claude-assistant',
      choices: [{ index: 0, message: { role: 'assistant', content: 'route this please' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } },
    });
    const second = await ask();
    // The system prompt (6 words) is read from the stand-in's cache the second time; prompt_tokens still count it.
    expect(second.usage).toMatchObject({ prompt_tokens: 9, prompt_tokens_details: { cached_tokens: 6 } });
    expect(lastMessagesRequest()).toEqual({
      model: 'claude-stand-in',
      max_tokens: 4096,
      system: 'You answer in one short line.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'route this please' }] }],
    });
    // The backend's own key arrives, never the caller's.
    const headers = lastTraffic(anthropicUpstream).headers;
    expect(headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(headers['authorization']).toBeUndefined();
    expect(headers['anthropic-version']).toBe('2023-06-01');
  });

  it('streamed: chunks, finish_reason, the usage chunk when asked, [DONE]', async () => {
    const stream = await openai.chat.completions.create({
      model: 'claude-assistant',
      messages: [{ role: 'user', content: 'one two three' }],
      max_tokens: 50,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: unknown[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('one two three');
    expect(finishes).toEqual(['stop']);
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    expect(lastMessagesRequest()).toMatchObject({ stream: true, max_tokens: 50 });
  });

  it('with tools: tool_calls, then the tool result answered; parallel calls become one turn of results', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: weather.input_schema } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
    ];
    const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'get_weather and get_time for Oslo' };
    const first = await openai.chat.completions.create({ model: 'claude-assistant', tools, messages: [question] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Calling get_weather and get_time.');
    const calls = choice.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['get_weather', { city: 'Oslo' }],
      ['get_time', {}],
    ]);

    const second = await openai.chat.completions.create({
      model: 'claude-assistant',
      tools,
      messages: [
        question,
        choice.message,
        { role: 'tool', tool_call_id: calls[0]!.id, content: 'twelve degrees' },
        { role: 'tool', tool_call_id: calls[1]!.id, content: 'noon' },
      ],
    });
    expect(second.choices[0]).toMatchObject({ message: { content: 'twelve degrees noon' }, finish_reason: 'stop' });
    expect((lastMessagesRequest().messages as Json[]).at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: calls[0]!.id, content: 'twelve degrees' },
        { type: 'tool_result', tool_use_id: calls[1]!.id, content: 'noon' },
      ],
    });
  });

  it('streamed with tools: the client assembles the tool call from its chunks', async () => {
    const final = await openai.chat.completions
      .stream({
        model: 'claude-assistant',
        messages: [{ role: 'user', content: 'what about Lima' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather.input_schema } }],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      })
      .finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Lima"}' });
    expect(lastMessagesRequest().tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
  });

  it('errors come back in OpenAI’s shape, Anthropic’s type as the code', async () => {
    anthropicUpstream.failNext = { status: 529, type: 'overloaded_error', message: 'Overloaded' };
    const err = await openai.chat.completions
      .create({ model: 'claude-assistant', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({
      status: 529,
      code: 'overloaded_error',
      message: expect.stringContaining('Overloaded') as string,
    });
    const bad = await openai.chat.completions
      .create({ model: 'claude-assistant', messages: [{ role: 'user', content: 'x' }], temperature: 1.5 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ code: 'invalid_request_error' });
  });
});
