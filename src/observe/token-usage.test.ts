import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { newRecord } from './record.js';
import { messagesUsageInText, readUsageOnTheSide, usageInText } from './token-usage.js';

describe('usageInText', () => {
  it('reads chat usage from a JSON body and Responses usage with nested details', () => {
    expect(usageInText('{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}')).toEqual({
      prompt: 3,
      completion: 5,
    });
    expect(
      usageInText(
        '{"usage": {"input_tokens": 7, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2, "total_tokens": 9}, "user": null}',
      ),
    ).toEqual({ prompt: 7, completion: 2 });
  });

  it('takes the last well-formed usage of a stream, skipping nulls and text that only mentions usage', () => {
    const stream =
      'event: response.created\ndata: {"response":{"usage":null}}\n\n' +
      'data: {"delta":"the \\"usage\\": {\\"prompt_tokens\\": 99}"}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":6}}\n\ndata: [DONE]\n\n';
    expect(usageInText(stream)).toEqual({ prompt: 4, completion: 6 });
  });

  it('counts embeddings (no completion) and ignores cut-off or malformed usage', () => {
    expect(usageInText('{"usage":{"prompt_tokens":2,"total_tokens":2}}')).toEqual({ prompt: 2, completion: 0 });
    expect(usageInText('{"usage":{"prompt_tokens":2,')).toBeUndefined();
    expect(usageInText('{"usage":{"prompt_tokens":"2"}}')).toBeUndefined();
    expect(usageInText('no usage here')).toBeUndefined();
  });
});

describe('cached tokens and absurd counts', () => {
  it("reads cached prompt tokens from chat's prompt_tokens_details and Responses' input_tokens_details", () => {
    expect(
      usageInText('{"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":6}}}'),
    ).toEqual({ prompt: 10, completion: 2, cached: 6 });
    expect(
      usageInText('{"usage":{"input_tokens":8,"output_tokens":1,"input_tokens_details":{"cached_tokens":8}}}'),
    ).toEqual({ prompt: 8, completion: 1, cached: 8 });
    // More cached than prompted is absurd: the cached count is dropped, the usage kept.
    expect(
      usageInText('{"usage":{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":9}}}'),
    ).toEqual({ prompt: 3, completion: 2 });
  });

  it("reads Anthropic's cache reads as the cached part of the prompt", () => {
    const message =
      '{"type":"message","usage":{"input_tokens":4,"cache_creation_input_tokens":2,"cache_read_input_tokens":10,"output_tokens":7}}';
    expect(messagesUsageInText(message, message)).toEqual({ prompt: 16, completion: 7, cached: 10 });
  });

  it('reads no usage from counts past 10^9 (absurd)', () => {
    expect(usageInText('{"usage":{"prompt_tokens":2000000000,"completion_tokens":1}}')).toBeUndefined();
  });
});

describe('the side reader', () => {
  it('counts the events of a stream as they pass, for the cost estimate of one without usage', async () => {
    const record = newRecord('r', 'POST', '/v1/chat/completions', 0);
    const body = new PassThrough();
    readUsageOnTheSide(body, record);
    body.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
    body.write('data: {"choices":[{"delta":{"content":"data: b"}}]}\n\ndata: [DONE]\n\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(record.events).toBe(3); // counted as they pass: a stream cut here has its count
    body.end();
    await new Promise((resolve) => body.once('end', resolve).resume());
    expect(record.usage).toBeUndefined();
    expect(record.events).toBe(3);
  });
});
