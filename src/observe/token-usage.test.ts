import { describe, expect, it } from 'vitest';
import { usageInText } from './token-usage.js';

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
