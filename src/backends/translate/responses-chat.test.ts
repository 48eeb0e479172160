// The Responses ↔ chat translation's request, whole-answer and error steps
// (the stream has its own file: responses-chat-stream.test.ts).
import { describe, expect, it } from 'vitest';
import { JunctionError } from '../../errors.js';
import { openAiError, responsesToChat } from './responses-chat.js';
import type { TranslationContext } from './translation.js';

type Json = Record<string, unknown>;

const ctx = (request: Json = {}): TranslationContext => ({
  objective: 'assistant',
  requestId: 'r1',
  request: { model: 'assistant', ...request },
});
const chat = (body: Json) => responsesToChat.request({ model: 'assistant', ...body }, ctx(body));
const refusal = (body: Json): JunctionError => {
  try {
    chat(body);
  } catch (err) {
    expect(err).toBeInstanceOf(JunctionError);
    expect((err as JunctionError).code).toBe('invalid_request');
    return err as JunctionError;
  }
  throw new Error(`not refused: ${JSON.stringify(body)}`);
};

describe('a Responses request as a chat request', () => {
  it('reads a string input as one user message, after the instructions as a system message', () => {
    expect(chat({ input: 'hi', instructions: 'be brief' })).toEqual({
      model: 'assistant',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
    });
  });

  it('carries message items: developer as system, one text part as a string, images, files and audio as chat parts', () => {
    const { messages } = chat({
      input: [
        { role: 'developer', content: 'rules' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'one part' }] },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'https://x/cat.png', detail: 'low' },
            { type: 'input_image', image_url: 'data:image/png;base64,AA==', detail: 'original' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' },
            { type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } },
          ],
        },
        {
          type: 'message',
          role: 'assistant',
          id: 'msg_1',
          status: 'completed',
          content: [{ type: 'output_text', text: 'seen', annotations: [] }],
        },
        { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] },
      ],
    });
    expect(messages).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: 'one part' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' } },
          { type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } },
        ],
      },
      { role: 'assistant', content: 'seen' },
      { role: 'assistant', content: null, refusal: 'no' },
    ]);
  });

  it('merges function calls into the assistant turn before them, and their outputs become tool messages; reasoning is dropped', () => {
    const { messages } = chat({
      input: [
        { role: 'user', content: 'weather in Paris and Oslo?' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'assistant', content: 'Checking.' },
        { type: 'function_call', id: 'fc_1', call_id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_b', name: 'weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'rain' }] },
        { type: 'function_call', call_id: 'call_c', name: 'weather', arguments: '{}' },
      ],
    });
    const call = (id: string, args: string) => ({
      id,
      type: 'function',
      function: { name: 'weather', arguments: args },
    });
    expect(messages).toEqual([
      { role: 'user', content: 'weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [call('call_a', '{"city":"Paris"}'), call('call_b', '{"city":"Oslo"}')],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: 'rain' },
      { role: 'assistant', content: null, tool_calls: [call('call_c', '{}')] },
    ]);
  });

  it("turns Responses' flat function tools into chat's, with every form of tool_choice", () => {
    const tools = [
      { type: 'function', name: 'weather', description: 'by city', parameters: { type: 'object' }, strict: true },
      { type: 'function', name: 'time', parameters: null, strict: null },
    ];
    const out = chat({ input: 'x', tools, tool_choice: 'required', parallel_tool_calls: false });
    expect(out.tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: 'by city', parameters: { type: 'object' }, strict: true },
      },
      { type: 'function', function: { name: 'time' } },
    ]);
    expect(out).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false });
    expect(chat({ input: 'x', tools, tool_choice: { type: 'function', name: 'time' } }).tool_choice).toEqual({
      type: 'function',
      function: { name: 'time' },
    });
    expect(
      chat({
        input: 'x',
        tools,
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'time' }] },
      }).tool_choice,
    ).toEqual({
      type: 'allowed_tools',
      allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'time' } }] },
    });
    // Chat servers refuse tool_choice and parallel_tool_calls without tools.
    const bare = chat({ input: 'x', tools: [], tool_choice: 'auto', parallel_tool_calls: true });
    expect(bare).not.toHaveProperty('tools');
    expect(bare).not.toHaveProperty('tool_choice');
    expect(bare).not.toHaveProperty('parallel_tool_calls');
  });

  it('refuses built-in tools, naming every one', () => {
    const err = refusal({
      input: 'x',
      tools: [
        { type: 'web_search' },
        { type: 'function', name: 'f' },
        { type: 'file_search', vector_store_ids: [] },
        { type: 'web_search' },
      ],
    });
    expect(err.message).toContain('web_search, file_search');
    expect(refusal({ input: 'x', tool_choice: { type: 'web_search_preview' } }).message).toContain('tool_choice');
  });

  it('carries text.format as response_format, verbosity, reasoning effort, sampling and the token limit', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(
      chat({
        input: 'x',
        text: {
          format: { type: 'json_schema', name: 'thing', schema, strict: true, description: 'a thing' },
          verbosity: 'low',
        },
        reasoning: { effort: 'high', summary: 'auto' },
        max_output_tokens: 64,
        temperature: 0.2,
        top_p: 0.9,
        user: 'u1',
        metadata: { a: 'b' },
        store: true,
        service_tier: 'flex',
        truncation: 'auto',
        include: ['reasoning.encrypted_content'],
      }),
    ).toEqual({
      model: 'assistant',
      messages: [{ role: 'user', content: 'x' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'thing', schema, strict: true, description: 'a thing' },
      },
      verbosity: 'low',
      reasoning_effort: 'high',
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u1',
    });
    expect(chat({ input: 'x', text: { format: { type: 'json_object' } } }).response_format).toEqual({
      type: 'json_object',
    });
    expect(chat({ input: 'x', text: { format: { type: 'text' } } })).not.toHaveProperty('response_format');
  });

  it('asks a stream for its usage, and asks for logprobs when the caller does', () => {
    expect(chat({ input: 'x', stream: true })).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(responsesToChat.streams({ stream: true })).toBe(true);
    expect(responsesToChat.streams({})).toBe(false);
    expect(chat({ input: 'x', top_logprobs: 3 })).toMatchObject({ logprobs: true, top_logprobs: 3 });
    expect(chat({ input: 'x', include: ['message.output_text.logprobs'] })).toMatchObject({ logprobs: true });
  });

  it('refuses what only a stateful Responses server can honour, saying why', () => {
    const err = refusal({ input: 'x', previous_response_id: 'resp_1' });
    expect(err.message).toMatch(/previous_response_id.*keeps no responses.*whole conversation/);
    expect(err.status).toBe(400);
    refusal({ input: 'x', conversation: 'conv_1' });
    refusal({ input: 'x', prompt: { id: 'pmpt_1' } });
    refusal({ input: 'x', background: true });
    expect(refusal({ input: [{ type: 'item_reference', id: 'msg_9' }] }).message).toMatch(/store: false/);
  });

  it('refuses input it cannot read or carry, saying where', () => {
    expect(refusal({}).message).toMatch(/"input" is required/);
    refusal({ input: 42 });
    refusal({ input: [] });
    expect(refusal({ input: [{ type: 'web_search_call', id: 'ws_1' }] }).message).toMatch(
      /input\[0\].*web_search_call/,
    );
    refusal({ input: [{ role: 'critic', content: 'x' }] });
    expect(
      refusal({ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }).message,
    ).toMatch(/image_url/);
    refusal({ input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x' }] }] });
    refusal({
      input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_image', image_url: 'x' }] }],
    });
    refusal({ input: [{ type: 'function_call', name: 'f' }] });
    refusal({ input: 'x', text: { format: { type: 'grammar' } } });
    refusal({ input: 'x', instructions: ['not', 'a', 'string'] });
  });
});

const completion = (message: Json, extra: Json = {}): Json => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'served-llm',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 10,
    completion_tokens: 4,
    total_tokens: 14,
    prompt_tokens_details: { cached_tokens: 6 },
    completion_tokens_details: { reasoning_tokens: 2 },
  },
  ...extra,
});

describe('a chat completion as a response', () => {
  it('is a response object with a message item, usage in Responses terms and the request echoed', () => {
    const request = {
      input: 'x',
      instructions: 'be brief',
      temperature: 0.5,
      tools: [{ type: 'function', name: 'f', parameters: {}, strict: true }],
      tool_choice: 'auto',
      text: { format: { type: 'text' }, verbosity: 'low' },
      metadata: { k: 'v' },
      max_output_tokens: 100,
    };
    const res = responsesToChat.response(completion({ content: 'Hello there.' }), ctx(request));
    expect(res).toEqual({
      id: 'resp_r1',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      background: false,
      error: null,
      incomplete_details: null,
      instructions: 'be brief',
      max_output_tokens: 100,
      max_tool_calls: null,
      model: 'served-llm',
      output: [
        {
          id: 'msg_r1_0',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello there.', annotations: [], logprobs: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: 0.5,
      text: { format: { type: 'text' }, verbosity: 'low' },
      tool_choice: 'auto',
      tools: request.tools,
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: 10,
        input_tokens_details: { cached_tokens: 6 },
        output_tokens: 4,
        output_tokens_details: { reasoning_tokens: 2 },
        total_tokens: 14,
      },
      user: null,
      metadata: { k: 'v' },
    });
  });

  it('makes each tool call a function_call item, arguments as the upstream wrote them', () => {
    const res = responsesToChat.response(
      completion({
        content: 'Let me look.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { type: 'function', function: { name: 'weather', arguments: '{"city": "Oslo"' } },
          { id: 'call_c', type: 'function', function: { name: 'time', arguments: { tz: 'UTC' } } },
        ],
      }),
      ctx(),
    );
    expect(res.output).toEqual([
      expect.objectContaining({ type: 'message', id: 'msg_r1_0' }),
      {
        id: 'fc_r1_1',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Paris"}',
        call_id: 'call_a',
        name: 'weather',
      },
      {
        id: 'fc_r1_2',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city": "Oslo"',
        call_id: 'call_r1_2',
        name: 'weather',
      },
      {
        id: 'fc_r1_3',
        type: 'function_call',
        status: 'completed',
        arguments: '{"tz":"UTC"}',
        call_id: 'call_c',
        name: 'time',
      },
    ]);
  });

  it('is incomplete (max_output_tokens) when the chat answer stopped for length; refusals and logprobs are carried', () => {
    const body = completion({ content: 'Once upon', refusal: 'I would rather not.' });
    const choice = (body.choices as Json[])[0]!;
    choice.finish_reason = 'length';
    choice.logprobs = { content: [{ token: 'Once', logprob: -0.1, bytes: [79], top_logprobs: [] }] };
    const res = responsesToChat.response(body, ctx());
    expect(res).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(res.output).toEqual([
      {
        id: 'msg_r1_0',
        type: 'message',
        status: 'incomplete',
        role: 'assistant',
        content: [
          {
            type: 'output_text',
            text: 'Once upon',
            annotations: [],
            logprobs: [{ token: 'Once', logprob: -0.1, bytes: [79], top_logprobs: [] }],
          },
          { type: 'refusal', refusal: 'I would rather not.' },
        ],
      },
    ]);
  });

  it("names the caller's model when the upstream names none, and has no usage when the upstream reported none", () => {
    const res = responsesToChat.response(completion({ content: '' }, { model: undefined, usage: undefined }), ctx());
    expect(res).toMatchObject({ model: 'assistant', output: [], usage: null });
  });

  it('is an upstream_error when the upstream answered no message or a nameless tool call', () => {
    for (const body of [
      { choices: [] },
      { object: 'chat.completion' },
      completion({ tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }),
    ]) {
      expect(() => responsesToChat.response(body, ctx())).toThrow(
        expect.objectContaining({ code: 'upstream_error', objective: 'assistant' }),
      );
    }
  });
});

describe('an upstream error as an OpenAI error body', () => {
  const error = (status: number, body: string) => responsesToChat.error!(status, Buffer.from(body), ctx());

  it("passes OpenAI's shape through (Ollama's and llama.cpp's are the same)", () => {
    const body = {
      error: { message: 'model not found', type: 'invalid_request_error', param: null, code: 'model_not_found' },
    };
    expect(error(404, JSON.stringify(body))).toEqual(body);
    const llamaCpp = { error: { code: 400, message: 'bad', type: 'invalid_request_error' } };
    expect(error(400, JSON.stringify(llamaCpp))).toEqual(llamaCpp);
  });

  it("puts vLLM's flat error and TGI's string error in OpenAI's shape", () => {
    expect(
      error(
        400,
        JSON.stringify({ object: 'error', message: 'too long', type: 'BadRequestError', param: null, code: 400 }),
      ),
    ).toEqual({ error: { message: 'too long', type: 'BadRequestError', param: null, code: 400 } });
    expect(error(422, JSON.stringify({ error: 'Input validation error', error_type: 'validation' }))).toEqual({
      error: { message: 'Input validation error', type: 'validation', param: null, code: null },
    });
  });

  it('quotes a body that is not JSON, or says there was none', () => {
    expect(openAiError(502, Buffer.from('<html>Bad Gateway</html>'))).toEqual({
      error: {
        message: 'the upstream answered 502: <html>Bad Gateway</html>',
        type: 'upstream_error',
        param: null,
        code: null,
      },
    });
    expect(openAiError(503, Buffer.alloc(0)).error).toMatchObject({
      message: 'the upstream answered 503 with no body',
    });
    expect(openAiError(500, Buffer.from('"just a string"')).error).toMatchObject({ type: 'upstream_error' });
  });
});
