// A streamed chat completion as Responses events: the order OpenAI sends them
// in, tool calls, usage, `length`, any chunking of the same bytes, and every
// kind of broken upstream ending in an `error` event and an upstream_error.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JunctionError } from '../../errors.js';
import { responsesToChat } from './responses-chat.js';
import { MAX_EVENT_BYTES, SseParser } from './sse.js';
import type { TranslationContext } from './translation.js';

type Json = Record<string, unknown>;
type Event = { event: string; data: Json };

const CREATED = 1_700_000_000;
const ctx = (request: Json = {}): TranslationContext => ({
  objective: 'assistant',
  requestId: 'r1',
  request: { model: 'assistant', input: 'x', stream: true, ...request },
});
const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: CREATED, model: 'served-llm' };
const chunk = (choice: Json) =>
  sse({ ...head, choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }] });
const role = chunk({ delta: { role: 'assistant', content: '' } });
const text = (content: string) => chunk({ delta: { content } });
const finish = (reason: string) => chunk({ delta: {}, finish_reason: reason });
const USAGE = {
  prompt_tokens: 9,
  completion_tokens: 5,
  total_tokens: 14,
  prompt_tokens_details: { cached_tokens: 4 },
  completion_tokens_details: { reasoning_tokens: 1 },
};
const usage = (u: Json = USAGE) => sse({ ...head, choices: [], usage: u });
const DONE = 'data: [DONE]\n\n';
const call = (index: number, fn: Json, id?: string) =>
  chunk({ delta: { tool_calls: [{ index, ...(id === undefined ? {} : { id, type: 'function' }), function: fn }] } });

const textStream = (pieces: string[], reason = 'stop') => [role, ...pieces.map(text), finish(reason), usage(), DONE];
const toolStream = [
  role,
  call(0, { name: 'weather', arguments: '' }, 'call_a'),
  call(0, { arguments: '{"city":' }),
  call(0, { arguments: '"Paris"}' }),
  call(1, { name: 'weather', arguments: '{"city":"Oslo"}' }, 'call_b'),
  finish('tool_calls'),
  usage(),
  DONE,
];

interface Translated {
  raw: string;
  events: Event[];
  error: unknown;
}

async function translate(input: Array<string | Buffer>, context = ctx()): Promise<Translated> {
  const t = responsesToChat.stream(context);
  let raw = '';
  t.on('data', (c: Buffer) => (raw += c.toString('utf8')));
  const settled = new Promise<unknown>((resolve) => {
    t.on('end', () => resolve(undefined));
    t.on('error', resolve);
  });
  for (const c of input) t.write(typeof c === 'string' ? Buffer.from(c) : c);
  t.end();
  const error = await settled;
  const events = new SseParser().push(raw).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Json }));
  return { raw, events, error };
}

const types = (t: Translated) => t.events.map((e) => e.data.type);
const bytes = (parts: string[]) => Buffer.from(parts.join(''));
const byteByByte = (b: Buffer) => [...b].map((_, i) => b.subarray(i, i + 1));

describe('a chat stream as Responses events', () => {
  it("goes from response.created to response.completed in OpenAI's order, each event named and numbered", async () => {
    const t = await translate(textStream(['Hello', ' there', '.']));
    expect(t.error).toBeUndefined();
    expect(types(t)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    t.events.forEach((e, i) => {
      expect(e.event).toBe(e.data.type);
      expect(e.data.sequence_number).toBe(i);
    });
    expect(t.events[0]!.data.response).toMatchObject({
      id: 'resp_r1',
      object: 'response',
      status: 'in_progress',
      created_at: CREATED,
      model: 'served-llm',
      output: [],
      usage: null,
    });
    expect(t.events[2]!.data).toMatchObject({
      output_index: 0,
      item: { id: 'msg_r1_0', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    });
    expect(t.events[4]!.data).toEqual({
      type: 'response.output_text.delta',
      sequence_number: 4,
      item_id: 'msg_r1_0',
      output_index: 0,
      content_index: 0,
      delta: 'Hello',
      logprobs: [],
    });
    expect(t.events[7]!.data).toMatchObject({ text: 'Hello there.' });
    expect(t.raw.endsWith('\n\n')).toBe(true);
    expect(t.raw).not.toContain('[DONE]');
  });

  it('completes with the response the same chat answer gives whole', async () => {
    const t = await translate(textStream(['Hello', ' there', '.']));
    const whole = responsesToChat.response(
      {
        ...head,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }],
        usage: USAGE,
      },
      ctx(),
    );
    expect(t.events.at(-1)!.data.response).toEqual(whole);
    expect(whole.usage).toEqual({
      input_tokens: 9,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 14,
    });
  });

  it('gives the same bytes fed whole, byte by byte, or split inside a character', async () => {
    const input = bytes(textStream(['héllo ', 'wörld ', '🎉✓']));
    const whole = await translate([input]);
    expect(whole.events.filter((e) => e.data.type === 'response.output_text.done')[0]!.data.text).toBe(
      'héllo wörld 🎉✓',
    );
    expect((await translate(byteByByte(input))).raw).toBe(whole.raw);
    const inEmoji = input.indexOf(Buffer.from('🎉')) + 2;
    expect((await translate([input.subarray(0, inEmoji), input.subarray(inEmoji)])).raw).toBe(whole.raw);
    // CRLF line ends and keep-alive comments change nothing.
    const crlf = Buffer.from(`: keep-alive\r\n\r\n${input.toString('utf8').replaceAll('\n', '\r\n')}`);
    expect((await translate([crlf])).raw).toBe(whole.raw);
  });

  it('makes two parallel tool calls two function_call items, arguments delta by delta as the upstream wrote them', async () => {
    const t = await translate(toolStream);
    expect(t.error).toBeUndefined();
    expect(types(t)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(t.events[2]!.data.item).toEqual({
      id: 'fc_r1_0',
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: 'call_a',
      name: 'weather',
    });
    expect(t.events[5]!.data).toMatchObject({
      item_id: 'fc_r1_0',
      output_index: 0,
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    expect(t.events.at(-1)!.data.response).toMatchObject({
      status: 'completed',
      output: [
        {
          id: 'fc_r1_0',
          type: 'function_call',
          status: 'completed',
          call_id: 'call_a',
          name: 'weather',
          arguments: '{"city":"Paris"}',
        },
        {
          id: 'fc_r1_1',
          type: 'function_call',
          status: 'completed',
          call_id: 'call_b',
          name: 'weather',
          arguments: '{"city":"Oslo"}',
        },
      ],
    });
  });

  it('closes the message before a tool call opens, and gives a call without an id one', async () => {
    const t = await translate([
      role,
      text('Checking.'),
      call(0, { name: 'weather', arguments: '{}' }),
      finish('tool_calls'),
      DONE,
    ]);
    expect(types(t).slice(2, 9)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
    ]);
    expect(t.events.at(-1)!.data.response).toMatchObject({
      output: [
        { type: 'message', id: 'msg_r1_0' },
        { type: 'function_call', id: 'fc_r1_1', call_id: 'call_r1_1' },
      ],
      usage: null, // the upstream sent none
    });
  });

  it('ends with response.incomplete when the upstream stopped for length', async () => {
    const t = await translate(textStream(['Once', ' upon'], 'length'));
    expect(types(t).at(-1)).toBe('response.incomplete');
    const response = t.events.at(-1)!.data.response as Json;
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete' })]);
    expect(t.events.find((e) => e.data.type === 'response.output_item.done')!.data.item).toMatchObject({
      status: 'incomplete',
    });
  });

  it('counts the last usage the upstream sent (vLLM can send one in every chunk)', async () => {
    const t = await translate([
      role,
      sse({
        ...head,
        choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }],
        usage: { prompt_tokens: 9, completion_tokens: 1 },
      }),
      sse({
        ...head,
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        usage: { prompt_tokens: 9, completion_tokens: 2 },
      }),
      DONE,
    ]);
    expect((t.events.at(-1)!.data.response as Json).usage).toEqual({
      input_tokens: 9,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 11,
    });
  });

  it('streams a refusal in its own content part, and logprobs with their text', async () => {
    const logprobs = { content: [{ token: 'No', logprob: -0.5, bytes: [78, 111], top_logprobs: [] }] };
    const t = await translate([
      role,
      chunk({ delta: { content: 'No' }, logprobs }),
      chunk({ delta: { refusal: "I can't help" } }),
      chunk({ delta: { refusal: ' with that.' } }),
      finish('stop'),
      DONE,
    ]);
    expect(types(t).slice(2, -1)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
    ]);
    expect(t.events[4]!.data.logprobs).toEqual(logprobs.content);
    expect(t.events.find((e) => e.data.type === 'response.refusal.done')!.data).toMatchObject({
      content_index: 1,
      refusal: "I can't help with that.",
    });
  });
});

describe('a broken upstream stream', () => {
  const cases: Array<[string, Array<string | Buffer>, RegExp]> = [
    ['a chunk that is not JSON', [role, 'data: {"id": "chatcmpl-1", "choices": [\n\n', DONE], /not JSON/],
    [
      'a tool-call delta for an index never opened with a name',
      [role, call(0, { arguments: '{}' }), finish('tool_calls'), DONE],
      /tool call 0.*name/,
    ],
    [
      'a tool call that changes its name mid-call',
      [role, call(0, { name: 'weather', arguments: '{' }, 'call_a'), call(0, { name: 'time', arguments: '}' }), DONE],
      /changed the id or name/,
    ],
    [
      'a tool call that changes its id mid-call',
      [role, call(0, { name: 'weather', arguments: '{' }, 'call_a'), call(0, { arguments: '}' }, 'call_z'), DONE],
      /changed the id or name/,
    ],
    [
      'a tool call resumed after another began',
      [
        role,
        call(0, { name: 'a', arguments: '{' }, 'c0'),
        call(1, { name: 'b', arguments: '{}' }, 'c1'),
        call(0, { arguments: '}' }),
        DONE,
      ],
      /went back to tool call 0/,
    ],
    ['content after the finish_reason', [role, text('a'), finish('stop'), text('b'), DONE], /after the finish_reason/],
    ['a duplicated finish chunk', [role, text('a'), finish('stop'), finish('stop'), DONE], /after the finish_reason/],
    [
      'a second choice',
      [role, sse({ ...head, choices: [{ index: 1, delta: { content: 'x' } }] }), DONE],
      /more than one choice/,
    ],
    [
      'an error chunk',
      [role, text('a'), sse({ error: { message: 'CUDA out of memory', type: 'InternalServerError' } })],
      /CUDA out of memory/,
    ],
    [
      "vLLM's flat error chunk",
      [role, sse({ object: 'error', message: 'engine dead', type: 'x', code: 500 })],
      /engine dead/,
    ],
    ['a stream cut between events', [role, text('a')], /without \[DONE\]/],
    ['a stream cut mid-event', [role, text('a'), 'data: {"id":"chat'], /cut mid-event/],
    ['[DONE] without a finish_reason', [role, text('a'), DONE], /without a finish_reason/],
    ['an empty stream', [], /before its first chunk/],
    ['an event over the SSE bound', [role, `data: "${'x'.repeat(MAX_EVENT_BYTES + 16)}`], /larger than/],
  ];

  it.each(cases)('%s ends with an error event and an upstream_error', async (_name, input, message) => {
    const t = await translate(input);
    expect(t.error).toBeInstanceOf(JunctionError);
    expect(t.error).toMatchObject({
      code: 'upstream_error',
      objective: 'assistant',
      message: expect.stringMatching(message),
    });
    const last = t.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toEqual({
      type: 'error',
      sequence_number: t.events.length - 1,
      code: 'upstream_error',
      message: (t.error as Error).message,
      param: null,
      error: { type: 'server_error', code: 'upstream_error', message: (t.error as Error).message, param: null },
    });
    expect(types(t).filter((type) => type === 'error')).toHaveLength(1);
    expect(types(t)).not.toContain('response.completed');
  });

  it('ends with an error once the answer held for response.completed passes its bound', async () => {
    const big = text('x'.repeat(MAX_EVENT_BYTES - 1024)); // each event within the SSE bound
    const t = await translate([role, ...Array.from({ length: 17 }, () => big), finish('stop'), DONE]);
    expect(t.error).toMatchObject({ code: 'upstream_error', message: expect.stringMatching(/answer exceeds/) });
    expect(types(t).at(-1)).toBe('error');
  });

  it('passes on what came before the failure', async () => {
    const t = await translate([role, text('partial'), text(' answer')]);
    expect(types(t)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'error',
    ]);
  });

  it('ends in an error event whichever byte it is cut at', async () => {
    const whole = bytes([role, text('Hé'), ...toolStream.slice(1)]);
    const cuts = [...whole.keys()];
    const translated = await Promise.all(cuts.map((cut) => translate([whole.subarray(0, cut)])));
    translated.forEach((t, cut) => {
      expect(t.error, `cut at ${cut}`).toMatchObject({ code: 'upstream_error' });
      expect(types(t).at(-1)).toBe('error');
    });
  });
});

describe('any chunking', () => {
  it('of a valid chat stream gives the same events', async () => {
    const input = bytes([role, text('Zwölf '), text('Boxkämpfer 🥊'), ...toolStream.slice(1)]);
    const expected = (await translate([input])).raw;
    expect(expected).toContain('response.completed');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 40 }),
        async (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), input.length];
          const pieces = at.slice(1).map((end, i) => input.subarray(at[i], end));
          expect((await translate(pieces)).raw).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
