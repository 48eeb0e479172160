import { describe, expect, it } from 'vitest';
import { openaiDuration, openaiTokenLimitHeaders } from './openai.js';

describe("OpenAI's token limit headers", () => {
  it('write the reset as OpenAI does (Go durations, to the millisecond)', () => {
    expect([0, -1, NaN, 0.02, 0.9994, 1, 1.5, 59.999, 60, 360, 3723.25].map(openaiDuration)).toEqual([
      '0s',
      '0s',
      '0s',
      '20ms',
      '999ms',
      '1s',
      '1.5s',
      '59.999s',
      '1m0s',
      '6m0s',
      '1h2m3.25s',
    ]);
  });

  it('name the limit, what is left and when it is whole again', () => {
    expect(openaiTokenLimitHeaders({ limit: 150000, remaining: 149984, resetSeconds: 0.0064 })).toEqual({
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6ms',
    });
  });
});
