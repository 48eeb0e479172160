import { describe, expect, it } from 'vitest';
import { RequestBody } from '../call/body.js';
import type { Operation } from '../call/types.js';
import { DEFAULT_OUTPUT_TOKENS, estimateTokens, reservationOf } from './token-estimate.js';

const ask = (body: string, operation: Operation = 'chat/completions') => ({
  operation,
  body: RequestBody.of(Buffer.from(body)),
});
const chat = (extra: string) => `{"model":"m","messages":[{"role":"user","content":"hi"}]${extra}}`;
const estimate = (extra: string, operation?: Operation) => estimateTokens({}, ask(chat(extra), operation), 'o');

describe('what a call says it will use', () => {
  it('the prompt is its bytes ÷ 4, the answer its max_tokens', () => {
    const body = chat(',"max_tokens":100');
    const e = estimateTokens({}, ask(body), 'o');
    expect(e).toEqual({ prompt: Math.ceil(body.length / 4), bytes: body.length, output: 100, choices: 1 });
    expect(reservationOf(e, 1e6)).toBe(Math.ceil(body.length / 4) + 100);
  });

  it('reads the newer names first, and counts n answers for chat', () => {
    expect(estimate(',"max_tokens":100,"max_completion_tokens":50').output).toBe(50);
    expect(estimate(',"max_output_tokens":70', 'responses').output).toBe(70);
    expect(estimate(',"max_tokens":10,"n":3').choices).toBe(3);
    expect(estimate(',"max_tokens":10,"n":3', 'responses').choices).toBe(1);
    expect(estimate(',"max_tokens":10,"n":1e9').choices).toBe(128);
  });

  it('bad values: not a number is not said, negative is 0, fractions round up, huge is clamped', () => {
    expect(estimate(',"max_tokens":"100"').output).toBeUndefined();
    expect(estimate(',"max_tokens":null').output).toBeUndefined();
    expect(estimate(',"max_tokens":{"a":1}').output).toBeUndefined();
    expect(estimate(',"max_tokens":-5').output).toBe(0);
    expect(estimate(',"max_tokens":2.1').output).toBe(3);
    expect(estimate(',"max_tokens":1e400').output).toBe(1e15);
    expect(estimate(',"max_tokens":123456789012345678901234567890').output).toBe(1e15);
    // A nested max_tokens (a tool's schema) is not the call's.
    expect(estimate(',"tools":[{"max_tokens":99}]').output).toBeUndefined();
  });

  it('a call that says nothing reserves the default answer, cut to what the limit has room for', () => {
    const e = estimate('');
    expect(e.output).toBeUndefined();
    expect(reservationOf(e, 1e6)).toBe(e.prompt + DEFAULT_OUTPUT_TOKENS);
    expect(reservationOf(e, 100)).toBe(100);
    expect(reservationOf(e, 1)).toBe(e.prompt); // the prompt alone is over: refused as too large
  });

  it('embeddings answer no tokens; a streamed body is estimated from its content-length', () => {
    expect(estimateTokens({}, ask('{"model":"m","input":"abc"}', 'embeddings'), 'o').output).toBe(0);
    const streamed = estimateTokens({ 'content-length': '4001' }, { operation: 'invoke' }, 'o');
    expect(streamed).toEqual({ prompt: 1001, bytes: 4001, output: undefined, choices: 1 });
    expect(estimateTokens({ 'content-length': 'x' }, undefined, 'o').prompt).toBe(0);
  });

  it('a max_tokens written twice is refused, as the one scanner refuses any field it reads twice', () => {
    expect(() => estimate(',"max_tokens":1,"max_tokens":100000')).toThrow(/appears twice/);
  });
});
