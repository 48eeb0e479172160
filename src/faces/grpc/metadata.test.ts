import { describe, expect, it } from 'vitest';
import { headersOf, metadataOf, percentDecoded, percentEncoded, timeoutMs } from './metadata.js';

describe('gRPC metadata as routing headers', () => {
  it('keeps the caller text metadata under the same names, without transport, pseudo or binary keys', () => {
    const headers = headersOf(
      {
        ':path': '/inference.GRPCInferenceService/ModelInfer',
        'x-unit-id': 'u1',
        'x-context-country': 'BR',
        authorization: 'Bearer k',
        'user-agent': 'grpc-node',
        'content-type': 'application/grpc',
        'grpc-accept-encoding': 'gzip',
        'grpc-timeout': '100m',
        'trace-bin': 'AQI=',
      },
      Infinity,
      0,
    );
    expect(headers).toEqual({ 'x-unit-id': 'u1', 'x-context-country': 'BR', authorization: 'Bearer k' });
  });

  it('turns the deadline into x-deadline-ms, the smaller of the two budgets', () => {
    const now = 1_000_000;
    expect(headersOf({}, now + 250, now)['x-deadline-ms']).toBe('250');
    expect(headersOf({ 'x-deadline-ms': '100' }, now + 250, now)['x-deadline-ms']).toBe('100');
    expect(headersOf({ 'x-deadline-ms': '900' }, now + 250, now)['x-deadline-ms']).toBe('250');
    expect(headersOf({}, now - 5, now)['x-deadline-ms']).toBe('1'); // already past: the least budget, refused downstream
    expect(headersOf({ 'x-deadline-ms': '70' }, Infinity, now)['x-deadline-ms']).toBe('70');
  });

  it('reads grpc-timeout in every unit, refusing a malformed one', () => {
    expect(timeoutMs(undefined)).toBeUndefined();
    expect(timeoutMs('2S')).toBe(2000);
    expect(timeoutMs('1M')).toBe(60_000);
    expect(timeoutMs('1H')).toBe(3_600_000);
    expect(timeoutMs('250m')).toBe(250);
    expect(timeoutMs('99999u')).toBeCloseTo(99.999);
    expect(timeoutMs('5000000n')).toBeCloseTo(5);
    for (const bad of ['', '10', 'S', '123456789S', '-1S', '1s', '1.5S']) {
      expect(() => timeoutMs(bad)).toThrow(/grpc-timeout/);
    }
  });

  it('writes response metadata, skipping absent values and values no header may carry', () => {
    expect(metadataOf({ 'x-model': 'a@1', 'x-fallback': undefined, 'x-bad': 'caf\u00e9\n' })).toEqual({
      'x-model': 'a@1',
    });
  });

  it('percent-encodes grpc-message as gRPC does, and reads it back', () => {
    expect(percentEncoded('plain text: ok')).toBe('plain text: ok');
    expect(percentEncoded('50% off\n\u00e9')).toBe('50%25 off%0A%C3%A9');
    expect(percentDecoded(percentEncoded('model not loaded\nretry: \u00e9t\u00e9'))).toBe(
      'model not loaded\nretry: \u00e9t\u00e9',
    );
    expect(percentDecoded('%zz')).toBe('%zz');
  });
});
