import { describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import { headersOf, metadataOf } from './metadata.js';

const md = (values: Record<string, string | Buffer>) => {
  const m = new Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
};

describe('gRPC metadata as routing headers', () => {
  it('keeps the caller text metadata under the same names, without transport or binary keys', () => {
    const headers = headersOf(
      md({
        'x-unit-id': 'u1',
        'x-context-country': 'BR',
        authorization: 'Bearer k',
        'user-agent': 'grpc-node',
        'grpc-accept-encoding': 'gzip',
        'trace-bin': Buffer.from([1, 2]),
      }),
      Infinity,
    );
    expect(headers).toEqual({ 'x-unit-id': 'u1', 'x-context-country': 'BR', authorization: 'Bearer k' });
  });

  it('turns the gRPC deadline into x-deadline-ms, the smaller of the two budgets', () => {
    const now = 1_000_000;
    expect(headersOf(md({}), now + 250, now)['x-deadline-ms']).toBe('250');
    expect(headersOf(md({ 'x-deadline-ms': '100' }), new Date(now + 250), now)['x-deadline-ms']).toBe('100');
    expect(headersOf(md({ 'x-deadline-ms': '900' }), now + 250, now)['x-deadline-ms']).toBe('250');
    expect(headersOf(md({}), now - 5, now)['x-deadline-ms']).toBe('1'); // already past: the least budget, refused downstream
    expect(headersOf(md({ 'x-deadline-ms': '70' }), Infinity, now)['x-deadline-ms']).toBe('70');
  });

  it('writes response metadata, skipping absent values', () => {
    expect(metadataOf({ 'x-model': 'a@1', 'x-fallback': undefined }).getMap()).toEqual({ 'x-model': 'a@1' });
  });
});
