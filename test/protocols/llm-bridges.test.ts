// The LLM API bridges through a real Junction (SPEC §17): a Responses call to
// an `openai-chat` target, a Messages call (Anthropic's face) to a chat target
// and to the in-process generator, a chat call to an `anthropic` target — each
// translated there and back, streams included — while a target that speaks
// the caller's API still gets the bytes as they came. Called with the official
// clients; the upstreams are the OpenAI and Anthropic stand-ins.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import type { RequestRecord } from '../../src/observe/record.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { REPO_ROOT } from '../support/onnx.js';
import { startAnthropicServer, type AnthropicServer } from '../support/servers/anthropic.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { lastTraffic } from '../support/servers/traffic.js';

const KEY = 'jk_bridge-test-key';
let chat: OpenAiServer;
let claude: AnthropicServer;
let junction: Junction;
const records: RequestRecord[] = [];

beforeAll(async () => {
  chat = await startOpenAiServer({ models: ['served-llm'] });
  claude = await startAnthropicServer({ models: ['claude-stand-in'], apiKey: 'upstream-secret' });
  process.env.BRIDGE_TEST_ANTHROPIC_KEY = 'upstream-secret';
  junction = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    config: {
      clients: { app: { keySha256: keyDigest(KEY) } },
      models: {
        tgi: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'http', protocol: 'openai-chat', endpoints: [chat.url], model: 'served-llm' } },
          },
        },
        vllm: {
          class: 'generator',
          versions: {
            '1': { backend: { type: 'http', protocol: 'openai', endpoints: [chat.url], model: 'served-llm' } },
          },
        },
        claude: {
          class: 'generator',
          versions: {
            '1': {
              backend: {
                type: 'http',
                protocol: 'anthropic',
                endpoints: [claude.url],
                model: 'claude-stand-in',
                headers: { 'x-api-key': '${env:BRIDGE_TEST_ANTHROPIC_KEY}' },
              },
            },
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
        'chat-only': { interface: 'openai', default: 'tgi@1' },
        'speaks-all': { interface: 'openai', default: 'vllm@1' },
        assistant: { interface: 'openai', default: 'claude@1' },
        local: { interface: 'openai', default: 'charlm@1' },
      },
    },
  });
  junction.dataPlane.observers.push((r) => records.push(r));
});
afterAll(async () => {
  await junction?.close();
  await chat?.close();
  await claude?.close();
  delete process.env.BRIDGE_TEST_ANTHROPIC_KEY;
});

const openai = () => new OpenAI({ baseURL: `${junction.url}/v1`, apiKey: KEY, maxRetries: 0 });
const anthropic = () => new Anthropic({ baseURL: junction.url, apiKey: KEY, maxRetries: 0 });
const recordOf = (objective: string) => records.filter((r) => r.objective === objective).at(-1)!;

describe('Responses → a chat-only target', () => {
  it('is translated to a chat completion and back, and recorded with its tokens', async () => {
    const res = await openai().responses.create({
      model: 'chat-only',
      input: 'translate me please',
      instructions: 'be brief',
    });
    expect(res.object).toBe('response');
    expect(res.output_text).toBe('translate me please');
    const sent = lastTraffic(chat);
    expect(sent.url).toBe('/v1/chat/completions');
    const body = JSON.parse(sent.body.toString()) as {
      model: string;
      messages: Array<{ role: string; content: unknown }>;
    };
    expect(body.model).toBe('served-llm');
    expect(body.messages[0]).toEqual({ role: 'system', content: 'be brief' });
    expect(sent.headers['authorization']).toBeUndefined(); // the caller's key stays with Junction
    await expect.poll(() => recordOf('chat-only')?.usage).toEqual({ prompt: 3, completion: 3 });
  });

  it('streams as Responses events', async () => {
    const stream = await openai().responses.create({ model: 'chat-only', input: 'one two three', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text.trim()).toBe('one two three');
  });

  it("a chat stream cut mid-answer ends with the caller's own error event, recorded once as upstream_error", async () => {
    let release = () => undefined as void;
    chat.streamGate = new Promise<void>((r) => (release = r));
    const before = records.filter((r) => r.objective === 'chat-only').length;
    const stream = await openai().responses.create({
      model: 'chat-only',
      input: 'cut this stream short',
      stream: true,
    });
    const types: string[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') chat.server.closeAllConnections(); // the upstream dies mid-answer
      }
    })();
    await expect(reading).rejects.toThrow(); // the official client surfaces the error event
    release();
    chat.streamGate = undefined;
    expect(types).toContain('response.output_text.delta');
    expect(types).not.toContain('response.completed');
    await expect.poll(() => records.filter((r) => r.objective === 'chat-only').length).toBe(before + 1);
    expect(recordOf('chat-only').errorCode).toBe('upstream_error');
  });

  it('passes through to a target that speaks Responses', async () => {
    await openai().responses.create({ model: 'speaks-all', input: 'hello' });
    expect(lastTraffic(chat).url).toBe('/v1/responses');
  });
});

describe('the Anthropic Messages face', () => {
  it('serves a Messages call from a chat target, with the key as x-api-key', async () => {
    const msg = await anthropic().messages.create({
      model: 'speaks-all',
      max_tokens: 64,
      system: 'you are terse',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(msg.type).toBe('message');
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'hello there' });
    expect(msg.stop_reason).toBe('end_turn');
    const sent = lastTraffic(chat);
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers['x-api-key']).toBeUndefined();
  });

  it('streams Anthropic events from a chat stream, and finalMessage() holds the whole answer', async () => {
    const stream = anthropic().messages.stream({
      model: 'speaks-all',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream these words' }],
    });
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'stream these words' });
    await expect.poll(() => recordOf('speaks-all')?.usage?.completion).toBeGreaterThan(0);
  });

  it('passes a Messages call through to an anthropic target, with the backend key and version', async () => {
    const msg = await anthropic().messages.create({
      model: 'assistant',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'straight through' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'straight through' });
    const sent = lastTraffic(claude);
    expect(sent.headers['x-api-key']).toBe('upstream-secret');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect((JSON.parse(sent.body.toString()) as { model: string }).model).toBe('claude-stand-in');
  });

  it("answers errors in Anthropic's shape: a missing key, an unknown objective", async () => {
    const keyless = new Anthropic({ baseURL: junction.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(
      keyless.messages.create({ model: 'assistant', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 401, error: { type: 'error', error: { type: 'authentication_error' } } });
    await expect(
      anthropic().messages.create({ model: 'nope', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error' } } });
  });

  it('reaches the in-process generator through the same translation', async () => {
    const msg = await anthropic().messages.create({
      model: 'local',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(msg.type).toBe('message');
    expect(msg.content[0]?.type).toBe('text');
  });
});

describe('chat → an anthropic target', () => {
  it('is translated to a Messages call and back, streams included', async () => {
    const done = await openai().chat.completions.create({
      model: 'assistant',
      messages: [
        { role: 'system', content: 'terse' },
        { role: 'user', content: 'via messages' },
      ],
    });
    expect(done.choices[0]?.message.content).toBe('via messages');
    const sent = JSON.parse(lastTraffic(claude).body.toString()) as { system: unknown; max_tokens: number };
    expect(sent.system).toBe('terse');
    expect(sent.max_tokens).toBeGreaterThan(0);
    const stream = await openai().chat.completions.create({
      model: 'assistant',
      stream: true,
      messages: [{ role: 'user', content: 'streamed via messages' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.trim()).toBe('streamed via messages');
  });

  it("turns the target's error into OpenAI's shape, keeping its status", async () => {
    claude.failNext = { status: 529, type: 'overloaded_error', message: 'the stand-in is busy' };
    await expect(
      openai().chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 529, error: { message: 'the stand-in is busy' } });
    await expect.poll(() => recordOf('assistant')?.status).toBe(529);
  });
});
