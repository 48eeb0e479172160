// Bad input, generated: headers, paths, bodies, raw bytes on the socket and
// configs. No input may crash the process, answer 500 internal, or leave an
// unhandled rejection behind.
import { connect } from 'node:net';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/issues.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { oneObjective } from '../support/configs.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (err) => unhandled.push(err));
process.on('uncaughtException', (err) => unhandled.push(err));

let upstream: Upstream;
let j: Junction;

beforeAll(async () => {
  upstream = await startUpstream('up');
  const config = oneObjective(
    { 'm@1': [upstream.url], 'm@2': [upstream.url] },
    {
      default: 'm@1',
      allowOverride: true,
      policy: { maxBodyBytes: 4096, idempotent: true, retries: 1, fallback: ['m@2'], maxConcurrency: 64 },
      experiments: [
        { id: 'e', population: 0.5, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
      ],
      shadow: [{ use: 'm@2', percent: 50, compare: 'topk-overlap' }],
    },
    { clients: { c: { keySha256: keyDigest('k'), rateLimit: { rps: 1e6 } } }, auth: { anonymous: true } },
  );
  j = await startJunction({ config, port: 0 });
});
afterAll(async () => {
  await j.close();
  await upstream.close();
  expect(unhandled).toEqual([]);
});

const token = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
// Header values undici will send: visible ASCII, spaces and tabs, no CR/LF.
const headerValue = fc.stringMatching(/^[\x20-\x7e\t]{0,60}$/);
const junctionHeader = fc.constantFrom(
  'x-unit-id',
  'x-traffic-class',
  'x-deadline-ms',
  'x-model-override',
  'x-request-id',
  'authorization',
  'content-type',
  'traceparent',
  'x-context-country',
  'accept',
  'expect-ct',
);

async function send(path: string, headers: Record<string, string>, body?: Uint8Array | string) {
  const r = await request(`${j.url}${path}`, { method: 'POST', headers, body });
  await r.body.dump();
  return r.statusCode;
}

describe('fuzzed requests', () => {
  it('any Junction header values: a clean status, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            junctionHeader,
            token.map((t) => `x-context-${t}`),
          ),
          headerValue,
          { maxKeys: 6 },
        ),
        async (headers) => {
          const status = await send('/v1/objectives/obj', headers, '{"a":1}');
          expect(status).not.toBe(500);
          expect(status).toBeLessThan(600);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('any path: a clean status, never 500', async () => {
    const segment = fc.oneof(
      token,
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      fc.constantFrom('v1', 'objectives', 'obj', 'v2', 'models', '..', '%', '%00'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { maxLength: 6 }),
        fc.stringMatching(/^[a-z=&%0-9]{0,20}$/),
        async (segments, query) => {
          const status = await send(`/${segments.join('/')}${query ? `?${query}` : ''}`, {});
          expect(status).not.toBe(500);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('any body, within and over the limit: a clean status, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 9000 }), fc.boolean(), async (body, json) => {
        const status = await send('/v1/objectives/obj', json ? { 'content-type': 'application/json' } : {}, body);
        expect([200, 413]).toContain(status);
        if (body.length > 4096) expect(status).toBe(413);
      }),
      { numRuns: 100 },
    );
  });

  it('raw bytes on the socket are answered or closed; the server keeps serving', async () => {
    const raw = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'BREW', ''), fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }))
        .map(([m, p, h]) => Buffer.from(`${m} /${p} HTTP/1.1\r\n${h}\r\n\r\n`)),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const reply = await rawExchange(j.url, bytes);
        expect(reply.startsWith('HTTP/1.1 500')).toBe(false);
      }),
      { numRuns: 100 },
    );
    expect(await send('/v1/objectives/obj', {}, '{}')).toBe(200);
  });
});

describe('oversized headers', () => {
  it('a 64 KiB header is refused (431) and the server keeps serving', async () => {
    const reply = await rawExchange(
      j.url,
      Buffer.from(
        `POST /v1/objectives/obj HTTP/1.1\r\nhost: x\r\nx-unit-id: ${'u'.repeat(65536)}\r\ncontent-length: 0\r\n\r\n`,
      ),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 431|^$/);
    expect(await send('/v1/objectives/obj', {}, '{}')).toBe(200);
  });

  it('thousands of headers are refused as well', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `x-context-k${i}: v`).join('\r\n');
    const reply = await rawExchange(
      j.url,
      Buffer.from(`POST /v1/objectives/obj HTTP/1.1\r\nhost: x\r\n${many}\r\ncontent-length: 0\r\n\r\n`),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 4\d\d|^$/);
  });
});

describe('fuzzed configs', () => {
  const vocabulary = fc.constantFrom(
    'models',
    'objectives',
    'clients',
    'policy',
    'default',
    'versions',
    'backend',
    'type',
    'http',
    'onnx',
    'endpoints',
    'rules',
    'when',
    'use',
    'experiments',
    'cells',
    'weight',
    'population',
    'rollout',
    'percent',
    'shadow',
    'fallback',
    'timeoutMs',
    'retries',
    'idempotent',
    'keySha256',
    'objectives',
    'metadata',
    'static',
    'headers',
    'body',
    'status',
    'id',
    'content-length',
    'm',
    'm@1',
    '1',
    'obj',
    '*',
  );
  // Strings with control characters, line breaks and non-ASCII, and values
  // nested far deeper than any recursive walk copes with.
  const awkward = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom('a\r\nb', 'key\n', '\u0000', 'règle✓', ' ', 'x=y z'),
  );
  const deep = fc.integer({ min: 0, max: 20_000 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 3 === 0 ? [v] : { a: v };
    return v;
  });
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      awkward,
      deep,
      fc.dictionary(vocabulary, tie('tree'), { maxKeys: 4 }),
      fc.array(tie('tree'), { maxLength: 3 }),
    ),
  }));

  it('a valid config with metadata, a static answer and a rule, each made awkward in one place, fails naming that place', () => {
    const valid = oneObjective(
      { 'm@1': ['http://127.0.0.1:9'] },
      { default: 'm@1', rules: [{ id: 'r', when: {}, use: 'm@1' }], policy: { static: { status: 200, body: {} } } },
    );
    const places: [string, (c: any, v: unknown) => void][] = [
      ['models.m.versions.1.metadata', (c, v) => (c.models.m.versions['1'].metadata = { x: v })],
      ['objectives.obj.policy.static.body', (c, v) => (c.objectives.obj.policy.static.body = v)],
      ['objectives.obj.policy.static.headers.x-a', (c, v) => (c.objectives.obj.policy.static.headers = { 'x-a': v })],
      ['objectives.obj.rules[0].id', (c, v) => (c.objectives.obj.rules[0].id = v)],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...places), fc.oneof(awkward, deep), ([path, put], v) => {
        const config = structuredClone(valid) as any;
        put(config, v);
        try {
          validateConfig(config);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).issues.every((i) => i.path.startsWith(path))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any value either validates or fails with a ConfigError naming paths — never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), tree), (value) => {
        try {
          validateConfig(value);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** Writes bytes, returns whatever the server answers before it closes or goes quiet. */
function rawExchange(url: string, bytes: Buffer | Uint8Array): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out));
    socket.write(bytes);
    socket.end();
  });
}
