// The Anthropic stand-in (test/support/servers/anthropic.ts) held to the
// official SDK and to the API's rules, so that tests using it test against
// the real protocol: the SDK reads its answers and streams (tool_use,
// thinking, cache usage), and it refuses what the Messages API refuses, in
// Anthropic's error shape.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicServer, type AnthropicServer } from '../support/servers/anthropic.js';

let server: AnthropicServer;
let client: Anthropic;

beforeAll(async () => {
  server = await startAnthropicServer({ models: ['claude-stand-in'], apiKey: 'k' });
  client = new Anthropic({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => server.close());

const base = { model: 'claude-stand-in', max_tokens: 100 };

async function post(
  body: unknown,
  headers: Record<string, string> = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
) {
  const res = await fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { type: string; error: { type: string; message: string } } };
}

describe('the Anthropic stand-in', () => {
  it('answers the SDK: text, usage with cache writes then reads, request ids', async () => {
    const ask = () =>
      client.messages
        .create({
          ...base,
          system: [{ type: 'text', text: 'A long and stable system prompt.', cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: 'hello there' }],
        })
        .withResponse();
    const first = await ask();
    expect(first.data).toMatchObject({
      type: 'message',
      content: [{ type: 'text', text: 'hello there' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2, cache_creation_input_tokens: 6, cache_read_input_tokens: 0, output_tokens: 2 },
    });
    expect(first.response.headers.get('request-id')).toMatch(/^req_/);
    expect((await ask()).data.usage).toMatchObject({
      input_tokens: 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 6,
    });
  });

  it('streams what the SDK assembles: thinking, text and tool_use blocks', async () => {
    const stream = client.messages.stream({
      ...base,
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [
        {
          name: 'lookup',
          input_schema: { type: 'object', properties: { q: { type: 'string' }, n: { type: 'integer' } } },
        },
      ],
      messages: [{ role: 'user', content: 'please lookup penguins' }],
    });
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      {
        type: 'thinking',
        thinking: 'Thinking about: please lookup penguins',
        signature: expect.any(String) as unknown,
      },
      { type: 'text', text: 'Calling lookup.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_/) as unknown,
        name: 'lookup',
        input: { q: 'penguins', n: 42 },
      },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('refuses what the API refuses, in its error shape', async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [{ ...base, messages: [] }, 400, 'invalid_request_error', 'messages'],
      [{ model: base.model, messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error', 'max_tokens'],
      [{ ...base, messages: [{ role: 'assistant', content: 'x' }] }, 400, 'invalid_request_error', 'first message'],
      [
        {
          ...base,
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ],
        },
        400,
        'invalid_request_error',
        'alternate',
      ],
      [
        {
          ...base,
          messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }],
        },
        400,
        'invalid_request_error',
        'toolu_x',
      ],
      [
        {
          ...base,
          messages: [
            { role: 'user', content: 'a' },
            { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 't', input: {} }] },
            { role: 'user', content: 'no result' },
          ],
        },
        400,
        'invalid_request_error',
        'toolu_1',
      ],
      [
        { ...base, messages: [{ role: 'user', content: 'x' }], stream_options: {} },
        400,
        'invalid_request_error',
        'stream_options',
      ],
      [
        { ...base, messages: [{ role: 'user', content: 'x' }], temperature: 1.5 },
        400,
        'invalid_request_error',
        'temperature',
      ],
      [
        { ...base, model: 'claude-nope', messages: [{ role: 'user', content: 'x' }] },
        404,
        'not_found_error',
        'claude-nope',
      ],
    ];
    for (const [body, status, type, says] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body).toMatchObject({ type: 'error', error: { type } });
      expect(res.body.error.message).toContain(says);
    }
  });

  it('wants a key, as x-api-key or bearer (401), and anthropic-version (400), on the health path too', async () => {
    const body = { ...base, messages: [{ role: 'user', content: 'x' }] };
    expect(await post(body, { 'anthropic-version': '2023-06-01' })).toMatchObject({
      status: 401,
      body: { error: { type: 'authentication_error' } },
    });
    expect(await post(body, { 'x-api-key': 'wrong', 'anthropic-version': '2023-06-01' })).toMatchObject({
      status: 401,
    });
    const noVersion = await post(body, { 'x-api-key': 'k' });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error.message).toContain('anthropic-version');
    expect((await fetch(`${server.url}/v1/models`)).status).toBe(401);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['claude-stand-in']);
  });
});
