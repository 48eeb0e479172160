import { describe, expect, it } from 'vitest';
import { grpcTimeout } from './h2-infer.js';

describe('grpc-timeout', () => {
  it('is milliseconds up to 8 digits, then seconds, and absent when the budget is unbounded', () => {
    expect(grpcTimeout(29_996.2)).toBe('29997m');
    expect(grpcTimeout(0.2)).toBe('1m');
    expect(grpcTimeout(100_000_000)).toBe('100000S');
    expect(grpcTimeout(1e15)).toBe('99999999S');
    expect(grpcTimeout(Infinity)).toBeUndefined();
  });
});
