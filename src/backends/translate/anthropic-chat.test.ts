// The Anthropic Messages ↔ chat-completions translations, one mapping at a
// time, both ways: requests, whole answers, error answers, and streams fed
// in awkward chunkings (every split of a recorded stream gives the same
// output) and broken in every way the issue lists (each ends with the
// caller's own error event, then the Transform errors with upstream_error).
import { Readable, Writable, pipeline, type Transform } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JunctionError } from '../../errors.js';
import { chatToMessages, messagesToChat } from './anthropic-chat.js';
import { MAX_EVENT_BYTES, SseParser, type SseEvent } from './sse.js';
import type { TranslationContext } from './translation.js';

type Json = Record<string, unknown>;

const ctx = (request: Json = {}): TranslationContext => ({ objective: 'assistant', requestId: 'req-1', request });
const M = ctx({ model: 'claude-caller', max_tokens: 100, messages: [] });
const C = ctx({ model: 'gpt-caller', messages: [] });

const mreq = (body: Json): Json => messagesToChat.request({ model: 'claude-caller', max_tokens: 100, ...body }, M);
const creq = (body: Json): Json => chatToMessages.request({ model: 'gpt-caller', ...body }, C);
const user = (content: unknown): Json => ({ role: 'user', content });

function refusal(fn: () => unknown): JunctionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JunctionError);
    return err as JunctionError;
  }
  throw new Error('expected a refusal');
}

/** Feeds chunks through a translation's Transform; what the caller read and how it ended. */
async function run(t: Transform, chunks: Array<string | Buffer>): Promise<{ text: string; error?: JunctionError }> {
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).pipe(t);
  let text = '';
  try {
    for await (const piece of t) text += String(piece);
  } catch (err) {
    return { text, error: err as JunctionError };
  }
  return { text };
}

function events(text: string): SseEvent[] {
  return new SseParser().push(text.endsWith('\n\n') ? text : `${text}\n\n`);
}
const datas = (text: string): unknown[] => events(text).map((e) => (e.data === '[DONE]' ? e.data : JSON.parse(e.data)));

const chatChunk = (delta: Json, finish: string | null = null, extra: Json = {}): string =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'served', choices: [{ index: 0, delta, finish_reason: finish, ...extra }] })}\n\n`;
const usageChunk = (usage: Json): string => `data: ${JSON.stringify({ id: 'c1', choices: [], usage })}\n\n`;
const DONE = 'data: [DONE]\n\n';

/** A chat stream: role, text, two tool calls (arguments in pieces), tool_calls finish, usage with cached tokens. */
const CHAT_STREAM = [
  chatChunk({ role: 'assistant', content: '' }),
  chatChunk({ content: 'Checking ' }),
  chatChunk({ content: 'the weather…' }),
  chatChunk({
    tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } }],
  }),
  chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chatChunk({ tool_calls: [{ index: 0, function: { arguments: '"Zürich"}' } }] }),
  chatChunk({
    tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } }],
  }),
  chatChunk({}, 'tool_calls'),
  usageChunk({
    prompt_tokens: 30,
    completion_tokens: 12,
    total_tokens: 42,
    prompt_tokens_details: { cached_tokens: 20 },
  }),
  DONE,
].join('');

const ev = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const MESSAGE_START = ev('message_start', {
  message: {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    content: [],
    model: 'claude-x',
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 1 },
  },
});
const textStart = (index: number) => ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
const textDelta = (index: number, text: string) =>
  ev('content_block_delta', { index, delta: { type: 'text_delta', text } });
const jsonDelta = (index: number, partial_json: string) =>
  ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
const stop = (index: number) => ev('content_block_stop', { index });
const toolStart = (index: number, id = 'toolu_01', name = 'weather') =>
  ev('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } });
const MESSAGE_END =
  ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }) +
  ev('message_stop', {});

/** A Messages stream as Anthropic's streaming reference shows one: text, then a tool_use filled by input_json_delta. */
const MESSAGES_STREAM = [
  MESSAGE_START,
  textStart(0),
  ev('ping', {}),
  textDelta(0, 'Okay, '),
  textDelta(0, 'let me check — ünïcödé.'),
  stop(0),
  toolStart(1),
  jsonDelta(1, ''),
  jsonDelta(1, '{"city":'),
  jsonDelta(1, ' "San Francisco"}'),
  stop(1),
  MESSAGE_END,
].join('');

describe('messagesToChat: the request', () => {
  it('makes system (string or text blocks, cache_control dropped) one leading system message', () => {
    expect(mreq({ system: 'Be brief.', messages: [user('hi')] }).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    const blocks = mreq({
      system: [
        { type: 'text', text: 'One.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Two.' },
      ],
      messages: [
        user([
          { type: 'text', text: 'a', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'b' },
        ]),
      ],
    });
    expect(blocks.messages).toEqual([
      { role: 'system', content: 'One.\nTwo.' },
      { role: 'user', content: 'a\nb' },
    ]);
  });

  it('carries images as image_url parts: base64 as a data URL, url as it is; other sources are refused', () => {
    const out = mreq({
      messages: [
        user([
          { type: 'text', text: 'what is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
        ]),
      ],
    });
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        ],
      },
    ]);
    const err = refusal(() => mreq({ messages: [user([{ type: 'image', source: { type: 'file', file_id: 'f' } }])] }));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('file');
  });

  it('carries tool_use as tool_calls and tool_result as tool messages before the rest of the turn', () => {
    const out = mreq({
      messages: [
        user('weather and time?'),
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'text', text: 'Looking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } },
            { type: 'tool_use', id: 'toolu_2', name: 'time', input: {} },
          ],
        },
        user([
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '12°C' },
          {
            type: 'tool_result',
            tool_use_id: 'toolu_2',
            content: [{ type: 'text', text: 'no clock' }],
            is_error: true,
          },
          { type: 'text', text: 'thanks' },
        ]),
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'xyz' }] },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: 'weather and time?' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: '12°C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no clock' },
      { role: 'user', content: 'thanks' },
      { role: 'assistant', content: '' },
    ]);
  });

  it('refuses document and unknown blocks, naming the type, and a tool_result for an unknown id', () => {
    const doc = refusal(() =>
      mreq({ messages: [user([{ type: 'document', source: { type: 'text', data: 'x', media_type: 'text/plain' } }])] }),
    );
    expect(doc.message).toContain('document');
    expect(doc.status).toBe(400);
    expect(refusal(() => mreq({ messages: [user([{ type: 'hologram' }])] })).message).toContain('hologram');
    const orphan = refusal(() =>
      mreq({ messages: [user([{ type: 'tool_result', tool_use_id: 'toolu_nobody', content: 'x' }])] }),
    );
    expect(orphan.message).toContain('toolu_nobody');
    expect(refusal(() => mreq({ messages: [{ role: 'system', content: 'x' }] })).message).toContain('role');
  });

  it('maps tools and every tool_choice; server tools are refused', () => {
    const tools = [{ name: 'weather', description: 'Weather by city', input_schema: { type: 'object' } }];
    const out = mreq({ messages: [user('x')], tools, tool_choice: { type: 'any', disable_parallel_tool_use: true } });
    expect(out.tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: 'Weather by city', parameters: { type: 'object' } },
      },
    ]);
    expect(out).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false });
    expect(mreq({ messages: [user('x')], tools, tool_choice: { type: 'auto' } }).tool_choice).toBe('auto');
    expect(mreq({ messages: [user('x')], tools, tool_choice: { type: 'none' } }).tool_choice).toBe('none');
    expect(mreq({ messages: [user('x')], tools, tool_choice: { type: 'tool', name: 'weather' } }).tool_choice).toEqual({
      type: 'function',
      function: { name: 'weather' },
    });
    for (const type of ['web_search_20250305', 'bash_20250124', 'text_editor_20250124']) {
      const err = refusal(() => mreq({ messages: [user('x')], tools: [{ type, name: 'server' }] }));
      expect(err.message).toContain(type);
    }
  });

  it('requires max_tokens as Anthropic does, and maps the sampling, stop, user, stream and thinking fields', () => {
    const missing = refusal(() => messagesToChat.request({ model: 'm', messages: [user('x')] }, M));
    expect(missing.message).toContain('max_tokens');
    const out = mreq({
      messages: [user('x')],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END'],
      metadata: { user_id: 'u-7' },
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(out).toEqual({
      model: 'claude-caller',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 100,
      temperature: 0.5,
      top_p: 0.9,
      stop: ['END'],
      user: 'u-7',
      reasoning_effort: 'low',
      stream: true,
      stream_options: { include_usage: true },
    });
    const effort = (thinking: Json) => mreq({ messages: [user('x')], thinking }).reasoning_effort;
    expect(effort({ type: 'enabled', budget_tokens: 8000 })).toBe('medium');
    expect(effort({ type: 'enabled', budget_tokens: 32000 })).toBe('high');
    expect(effort({ type: 'disabled' })).toBeUndefined();
    expect(mreq({ messages: [user('x')], output_config: { effort: 'max' } }).reasoning_effort).toBe('high');
    expect(
      mreq({ messages: [user('x')], output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } })
        .response_format,
    ).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object' } } });
  });
});

describe('messagesToChat: the answer', () => {
  const answer = (message: Json, finish: string | null = 'stop', extra: Json = {}, usage?: Json): Json =>
    messagesToChat.response(
      { id: 'c', object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish, ...extra }], usage },
      M,
    );

  it('is a message with text and tool_use blocks (input parsed), the caller model, and cache-aware usage', () => {
    const out = answer(
      {
        role: 'assistant',
        content: 'On it.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
      },
      'tool_calls',
      {},
      { prompt_tokens: 50, completion_tokens: 7, total_tokens: 57, prompt_tokens_details: { cached_tokens: 32 } },
    );
    expect(out).toEqual({
      id: 'msg_req-1',
      type: 'message',
      role: 'assistant',
      model: 'claude-caller',
      content: [
        { type: 'text', text: 'On it.' },
        { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Oslo' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      // Anthropic's input_tokens leave the cached ones out; chat's prompt_tokens count them.
      usage: { input_tokens: 18, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 32 },
    });
  });

  it('maps every finish_reason, and a stop sequence the server names', () => {
    const reason = (finish: string | null, extra: Json = {}) => answer({ content: 'x' }, finish, extra).stop_reason;
    expect(reason('stop')).toBe('end_turn');
    expect(reason('length')).toBe('max_tokens');
    expect(reason('content_filter')).toBe('refusal');
    expect(reason(null)).toBe('end_turn');
    const ctxStop = ctx({ model: 'c', stop_sequences: ['END'] });
    const hit = messagesToChat.response(
      { choices: [{ message: { content: 'x' }, finish_reason: 'stop', stop_reason: 'END' }] },
      ctxStop,
    );
    expect(hit).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect(answer({ content: null, refusal: 'I cannot.' }).content).toEqual([{ type: 'text', text: 'I cannot.' }]);
    expect(answer({ content: null, refusal: 'I cannot.' }).stop_reason).toBe('refusal');
  });

  it('fails as upstream_error on tool arguments that are not a JSON object, or no choice', () => {
    const bad = refusal(() =>
      answer({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"x": ' } }] }),
    );
    expect(bad.code).toBe('upstream_error');
    expect(bad.message).toContain('f');
    expect(refusal(() => messagesToChat.response({ choices: [] }, M)).code).toBe('upstream_error');
  });

  it('turns chat errors into Anthropic errors by status, keeping the message', () => {
    const err = (status: number, body: string) => messagesToChat.error!(status, Buffer.from(body), M);
    expect(err(400, '{"error":{"message":"bad things","type":"invalid_request_error"}}')).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'bad things' },
    });
    expect(err(404, '{"object":"error","message":"no model","type":"NotFoundError","code":404}')).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'no model' },
    });
    const types = [401, 403, 413, 429, 500, 503, 529, 422].map((s) => (err(s, '') as { error: Json }).error.type);
    expect(types).toEqual([
      'authentication_error',
      'permission_error',
      'request_too_large',
      'rate_limit_error',
      'api_error',
      'overloaded_error',
      'overloaded_error',
      'invalid_request_error',
    ]);
    expect((err(502, 'Bad Gateway') as { error: Json }).error.message).toBe('Bad Gateway');
    expect((err(500, '') as { error: Json }).error.message).toBe('the upstream answered 500');
  });
});

describe('messagesToChat: the stream', () => {
  it('sends the events Anthropic sends: blocks in order, ping, deltas, message_delta with usage, message_stop', async () => {
    const { text, error } = await run(messagesToChat.stream(M), [CHAT_STREAM]);
    expect(error).toBeUndefined();
    const got = events(text);
    expect(got.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of got) expect((JSON.parse(e.data) as Json).type).toBe(e.event);
    const d = datas(text) as Json[];
    expect(d[0]).toMatchObject({
      message: { id: 'msg_req-1', model: 'claude-caller', content: [], stop_reason: null },
    });
    expect(d[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(d[4]).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'the weather…' },
    });
    expect(d[6]).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'call_a', name: 'weather', input: {} },
    });
    expect(d[8]).toEqual({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '"Zürich"}' },
    });
    expect(d[10]).toMatchObject({ index: 2, content_block: { id: 'call_b', name: 'time' } });
    expect(d[13]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 10, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 },
    });
  });

  it('ends on max_tokens and on a stop sequence as Messages does', async () => {
    const length = await run(messagesToChat.stream(M), [chatChunk({ content: 'a' }), chatChunk({}, 'length'), DONE]);
    expect(datas(length.text).at(-2)).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
    const c = ctx({ model: 'c', stop_sequences: ['##'] });
    const hit = await run(messagesToChat.stream(c), [chatChunk({ content: 'a' }, 'stop', { stop_reason: '##' }), DONE]);
    expect(datas(hit.text).at(-2)).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: '##' } });
  });

  it('gives the same events however the upstream bytes are split (CRLF too)', async () => {
    const whole = (await run(messagesToChat.stream(M), [CHAT_STREAM])).text;
    const bytes = Buffer.from(CHAT_STREAM.replaceAll('\n', '\r\n'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const pieces = at.slice(1).map((end, i) => bytes.subarray(at[i], end));
          const { text, error } = await run(messagesToChat.stream(M), pieces);
          expect(error).toBeUndefined();
          expect(text).toBe(whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  const broken: Array<[string, string[]]> = [
    ['malformed JSON', [chatChunk({ content: 'a' }), 'data: {"choices": [\n\n']],
    ['an error chunk', [chatChunk({ content: 'a' }), 'data: {"error":{"message":"engine died"}}\n\n']],
    ['a named error event', [chatChunk({ content: 'a' }), 'event: error\ndata: {"message":"engine died"}\n\n']],
    ['data after [DONE]', [chatChunk({ content: 'a' }, 'stop'), DONE, chatChunk({ content: 'b' })]],
    ['a cut mid-event', [chatChunk({ content: 'a' }), 'data: {"choices":[{"delta":{"cont']],
    ['an end without [DONE]', [chatChunk({ content: 'a' }, 'stop')]],
    [
      'interleaved tool calls',
      [
        chatChunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{' } }] }),
        chatChunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: '{}' } }] }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }),
        DONE,
      ],
    ],
    [
      'tool arguments that are not JSON',
      [
        chatChunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"x":' } }] }, 'tool_calls'),
        DONE,
      ],
    ],
    ['a tool call without a name', [chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }), DONE]],
    ['content after finish_reason', [chatChunk({}, 'stop'), chatChunk({ content: 'late' }), DONE]],
    ['an event over the SSE bound', [chatChunk({ content: 'a' }), `data: "${'x'.repeat(MAX_EVENT_BYTES)}`]],
  ];
  it.each(broken)('on %s: Anthropic error event, then upstream_error', async (_name, chunks) => {
    const { text, error } = await run(messagesToChat.stream(M), chunks);
    expect(error).toBeInstanceOf(JunctionError);
    expect(error!.code).toBe('upstream_error');
    const last = events(text).at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toEqual({ type: 'error', error: { type: 'api_error', message: error!.message } });
    expect(text).not.toContain('message_stop');
  });

  it('hands the error event to a pipeline before the error', async () => {
    const got: string[] = [];
    const err = await new Promise<Error | null | undefined>((resolve) =>
      pipeline(
        Readable.from([Buffer.from(chatChunk({ content: 'a' })), Buffer.from('data: nope\n\n')]),
        messagesToChat.stream(M),
        new Writable({
          write(chunk: Buffer, _e, done) {
            got.push(chunk.toString());
            done();
          },
        }),
        resolve,
      ),
    );
    expect((err as JunctionError).code).toBe('upstream_error');
    expect(got.join('')).toContain('event: error');
  });
});

describe('chatToMessages: the request', () => {
  it('hoists system and developer messages into system and maps user parts, images included', () => {
    const out = creq({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use metric.' }] },
        user([
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
        ]),
      ],
    });
    expect(out).toEqual({
      model: 'gpt-caller',
      max_tokens: 4096, // Messages requires it; chat may leave it out
      system: 'Be brief.\n\nUse metric.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
          ],
        },
      ],
    });
    expect(refusal(() => creq({ messages: [user([{ type: 'input_audio', input_audio: {} }])] })).message).toContain(
      'input_audio',
    );
    expect(
      refusal(() => creq({ messages: [user([{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }])] })).code,
    ).toBe('invalid_request');
  });

  it('makes tool_calls tool_use blocks and merges consecutive tool messages (and what follows) into one user turn', () => {
    const out = creq({
      messages: [
        user('weather and time?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
            { id: 'call_2', type: 'function', function: { name: 'time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '12°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:00' }] },
        user('thanks'),
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather and time?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'call_2', name: 'time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '12°C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: '14:00' },
          { type: 'text', text: 'thanks' },
        ],
      },
    ]);
    const badArgs = refusal(() =>
      creq({
        messages: [
          user('x'),
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }],
          },
        ],
      }),
    );
    expect(badArgs.message).toContain('f');
    expect(
      refusal(() => creq({ messages: [user('x'), { role: 'tool', tool_call_id: 'zz', content: 'r' }] })).message,
    ).toContain('zz');
  });

  it('maps limits, stop, tools, tool_choice, parallel_tool_calls, user, stream, reasoning and json_schema', () => {
    const tools = [{ type: 'function', function: { name: 'f', description: 'F', parameters: { type: 'object' } } }];
    const out = creq({
      messages: [user('x')],
      max_tokens: 50,
      max_completion_tokens: 2000,
      stop: '###',
      temperature: 0.2,
      top_p: 0.8,
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
      user: 'u-1',
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: 'medium',
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      seed: 3,
      presence_penalty: 1,
    });
    expect(out).toEqual({
      model: 'gpt-caller',
      max_tokens: 2000,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      temperature: 0.2,
      top_p: 0.8,
      stop_sequences: ['###'],
      tools: [{ name: 'f', description: 'F', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'u-1' },
      thinking: { type: 'enabled', budget_tokens: 1999 },
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
      stream: true,
    });
    const choice = (tool_choice: unknown) => creq({ messages: [user('x')], tools, tool_choice }).tool_choice;
    expect(choice('auto')).toEqual({ type: 'auto' });
    expect(choice('none')).toEqual({ type: 'none' });
    expect(choice({ type: 'function', function: { name: 'f' } })).toEqual({ type: 'tool', name: 'f' });
    expect(refusal(() => creq({ messages: [user('x')], n: 2 })).message).toContain('n');
    expect(refusal(() => creq({ messages: [user('x')], response_format: { type: 'json_object' } })).message).toContain(
      'json_object',
    );
    expect(refusal(() => creq({ messages: [user('x')], max_tokens: 500, reasoning_effort: 'high' })).message).toContain(
      'max_tokens',
    );
    expect(refusal(() => creq({ messages: [user('x')], logprobs: true })).message).toContain('logprobs');
    expect(refusal(() => creq({ messages: [{ role: 'system', content: 'only' }] })).code).toBe('invalid_request');
  });
});

describe('chatToMessages: the answer', () => {
  const message = (content: Json[], stop_reason: string | null = 'end_turn', usage: Json = {}): Json => ({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content,
    stop_reason,
    stop_sequence: null,
    usage,
  });

  it('is a chat.completion: text, tool_calls, reasoning_content, and usage counting cached input', () => {
    const out = chatToMessages.response(
      message(
        [
          { type: 'thinking', thinking: 'Let me see.', signature: 'sig' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } },
        ],
        'tool_use',
        { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 100, cache_creation_input_tokens: 5 },
      ),
      C,
    );
    expect(out).toMatchObject({
      id: 'chatcmpl-req-1',
      object: 'chat.completion',
      model: 'gpt-caller',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Checking.',
            reasoning_content: 'Let me see.',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 115,
        completion_tokens: 20,
        total_tokens: 135,
        prompt_tokens_details: { cached_tokens: 100 },
      },
    });
  });

  it('maps every stop_reason and refuses unknown blocks as upstream_error', () => {
    const finish = (r: string | null) =>
      (chatToMessages.response(message([{ type: 'text', text: 'x' }], r), C) as { choices: Json[] }).choices[0]!
        .finish_reason;
    expect(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'refusal', 'pause_turn', null].map(finish)).toEqual([
      'stop',
      'stop',
      'length',
      'tool_calls',
      'content_filter',
      'stop',
      'stop',
    ]);
    const err = refusal(() => chatToMessages.response(message([{ type: 'web_search_tool_result', content: [] }]), C));
    expect(err.code).toBe('upstream_error');
    expect(err.message).toContain('web_search_tool_result');
  });

  it('turns Anthropic errors into OpenAI errors, keeping Anthropic’s type as the code', () => {
    const body = Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(chatToMessages.error!(529, body, C)).toEqual({
      error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded_error' },
    });
    const auth = Buffer.from('{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}');
    expect(chatToMessages.error!(401, auth, C)).toMatchObject({ error: { type: 'authentication_error' } });
    expect(chatToMessages.error!(502, Buffer.from('<html>bad gateway</html>'), C)).toMatchObject({
      error: { message: '<html>bad gateway</html>', code: null },
    });
  });
});

describe('chatToMessages: the stream', () => {
  const CU = ctx({ model: 'gpt-caller', stream: true, stream_options: { include_usage: true } });

  it('sends chat chunks: role, text, tool calls by index, finish_reason, usage when asked, [DONE]', async () => {
    const { text, error } = await run(chatToMessages.stream(CU), [MESSAGES_STREAM]);
    expect(error).toBeUndefined();
    const d = datas(text);
    expect(d.at(-1)).toBe('[DONE]');
    const chunks = d.slice(0, -1) as Array<{
      choices: Array<{ delta: Json; finish_reason: string | null }>;
      usage?: Json;
    }>;
    for (const c of chunks)
      expect(c).toMatchObject({ id: 'chatcmpl-req-1', object: 'chat.completion.chunk', model: 'gpt-caller' });
    const deltas = chunks.filter((c) => c.choices.length > 0).map((c) => c.choices[0]!.delta);
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Okay, ' },
      { content: 'let me check — ünïcödé.' },
      { tool_calls: [{ index: 0, id: 'toolu_01', type: 'function', function: { name: 'weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: ' "San Francisco"}' } }] },
      {},
    ]);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 115,
        completion_tokens: 89,
        total_tokens: 204,
        prompt_tokens_details: { cached_tokens: 100 },
      },
    });
    // Without include_usage, no usage chunk (as OpenAI).
    const plain = await run(chatToMessages.stream(C), [MESSAGES_STREAM]);
    expect(datas(plain.text).some((c) => typeof c === 'object' && c !== null && 'usage' in c)).toBe(false);
  });

  it('carries thinking as reasoning_content, skips unknown event types and pings', async () => {
    const { text, error } = await run(chatToMessages.stream(C), [
      ev('ping', {}),
      MESSAGE_START,
      ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'sig' } }),
      stop(0),
      ev('some_future_event', { detail: 1 }),
      textStart(1),
      textDelta(1, 'Yes.'),
      stop(1),
      ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }),
      ev('message_stop', {}),
    ]);
    expect(error).toBeUndefined();
    const deltas = (datas(text).slice(0, -1) as Array<{ choices: Array<{ delta: Json; finish_reason: unknown }> }>).map(
      (c) => c.choices[0],
    );
    expect(deltas.map((c) => c!.delta)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'hmm' },
      { content: 'Yes.' },
      {},
    ]);
    expect(deltas.at(-1)!.finish_reason).toBe('stop');
  });

  it('gives the same chunks however the upstream bytes are split', async () => {
    const whole = (await run(chatToMessages.stream(CU), [MESSAGES_STREAM])).text;
    const bytes = Buffer.from(MESSAGES_STREAM.replaceAll('\n', '\r\n'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const { text, error } = await run(
            chatToMessages.stream(CU),
            at.slice(1).map((end, i) => bytes.subarray(at[i], end)),
          );
          expect(error).toBeUndefined();
          // `created` is the second the chunk was made: compare without it.
          expect(text.replace(/"created":\d+/g, '')).toBe(whole.replace(/"created":\d+/g, ''));
        },
      ),
      { numRuns: 60 },
    );
  });

  const head = MESSAGE_START + textStart(0);
  const broken: Array<[string, string[]]> = [
    ['malformed JSON', [head, 'event: content_block_delta\ndata: {"type":\n\n']],
    ['a delta before its content_block_start', [MESSAGE_START, textDelta(0, 'x')]],
    ['a delta after message_stop', [head, stop(0), MESSAGE_END, textDelta(0, 'late')]],
    ['a second message_start', [head, stop(0), MESSAGE_START]],
    ['an event before message_start', [textStart(0)]],
    ['a cut mid-event', [head, 'event: content_block_delta\ndata: {"type":"content_block_delta","ind']],
    ['an end without message_stop', [head, textDelta(0, 'x'), stop(0)]],
    [
      'an unknown content block type',
      [MESSAGE_START, ev('content_block_start', { index: 0, content_block: { type: 'hologram' } })],
    ],
    ['a block index out of order', [MESSAGE_START, textStart(1)]],
    ['a block opened inside another', [head, textStart(1)]],
    ['message_stop inside a block', [head, ev('message_stop', {})]],
    ['a delta of the wrong kind', [head, jsonDelta(0, '{}')]],
    [
      'an event name that disagrees with its type',
      [head, 'event: content_block_stop\ndata: {"type":"message_stop"}\n\n'],
    ],
    ['tool input that is not JSON', [MESSAGE_START, toolStart(0), jsonDelta(0, '{"city": '), stop(0), MESSAGE_END]],
    ['an event over the SSE bound', [head, `event: content_block_delta\ndata: "${'x'.repeat(MAX_EVENT_BYTES)}`]],
  ];
  it.each(broken)('on %s: an OpenAI error chunk, then upstream_error', async (_name, chunks) => {
    const { text, error } = await run(chatToMessages.stream(C), chunks);
    expect(error).toBeInstanceOf(JunctionError);
    expect(error!.code).toBe('upstream_error');
    const last = events(text).at(-1)!;
    expect(JSON.parse(last.data)).toEqual({
      error: { message: error!.message, type: 'server_error', code: 'upstream_error' },
    });
    expect(text).not.toContain('[DONE]');
  });

  it('on an error event mid-stream: the error chunk says what the upstream said', async () => {
    const { text, error } = await run(chatToMessages.stream(C), [
      head,
      textDelta(0, 'Hel'),
      ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ]);
    expect(error!.code).toBe('upstream_error');
    expect(error!.message).toContain('overloaded_error');
    expect(error!.message).toContain('Overloaded');
    const d = datas(text) as Json[];
    expect(d.at(-2)).toMatchObject({ choices: [{ delta: { content: 'Hel' } }] });
    expect(d.at(-1)).toMatchObject({ error: { code: 'upstream_error' } });
  });
});
