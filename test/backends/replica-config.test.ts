// The replica settings of a backend (SPEC §14) as config: defaults, and what
// validation refuses before anything is built.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';

const config = (backend: { protocol?: string; [key: string]: unknown }) => ({
  models: { m: { versions: { '1': { backend: { type: 'http', ...backend } } } } },
  objectives: {
    o: {
      default: 'm@1',
      interface:
        ({ openai: 'openai', oip: 'oip', 'oip-grpc': 'oip' } as Record<string, string>)[backend.protocol ?? ''] ??
        'json',
    },
  },
});
const problems = (backend: { protocol?: string; [key: string]: unknown }): string => {
  try {
    validateConfig(config(backend));
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('replica settings', () => {
  it('takes the SPEC §14 settings with their defaults', () => {
    const c = validateConfig(
      config({
        protocol: 'openai',
        endpoints: ['http://vllm.models.svc:8000'],
        balance: 'prefix',
        discovery: {},
        load: { metrics: { preset: 'vllm' }, orca: true },
        prefix: {},
      }),
    );
    const b = c.models.m!.versions['1']!.backend;
    expect(b).toMatchObject({
      balance: 'prefix',
      discovery: { intervalMs: 5000, maxAddresses: 256 },
      load: { metrics: { path: '/metrics', intervalMs: 1000, timeoutMs: 1000, preset: 'vllm' }, orca: true },
      prefix: { blockChars: 1024, blocks: 64, epsilon: 0.25, maxEntries: 65_536 },
    });
  });

  it('refuses prefix or adapter on a protocol without an OpenAI body, gRPC metrics without a port, discovery without a name', () => {
    expect(problems({ protocol: 'oip', endpoints: ['http://a:1'], balance: 'prefix' })).toMatch(
      /balance prefix reads the OpenAI request/,
    );
    expect(problems({ protocol: 'oip-grpc', endpoints: ['grpc://a:1'], load: { metrics: {} } })).toMatch(
      /load\.metrics\.port/,
    );
    expect(problems({ endpoints: ['http://10.0.0.1:8000'], discovery: {} })).toMatch(/every endpoint here is an IP/);
    expect(problems({ endpoints: ['http://a:1'], load: { metrics: { names: { queue: 'bad name!' } } } })).toMatch(
      /Prometheus metric name/,
    );
    expect(problems({ protocol: 'openai', endpoints: ['http://a:1'], balance: 'adapter' })).toBe('');
  });
});
