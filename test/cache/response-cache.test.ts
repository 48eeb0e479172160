// The response cache through a real Junction and real upstreams (SPEC §16):
// an OpenAI-compatible stand-in, an OIP server and JSON upstreams that say
// who answered and how many calls they have had, so a reply served from the
// cache is told from a fresh one by its bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { binaryInferRequest, startOipServer, type OipServer } from '../support/servers/oip.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

interface Answer {
  status: number;
  cache: string | undefined;
  model: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  requestId: string;
}

/** A JSON upstream that names itself and counts its calls; the request body asks for errors, no-store or padding. */
async function labelled(name: string): Promise<Upstream & { down: boolean }> {
  const up = Object.assign(await startUpstream(name), { down: false });
  up.handle((_req, res, body) => {
    if (up.down) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"down"}');
      return;
    }
    const ask = (body.length > 0 ? JSON.parse(body.toString()) : {}) as {
      fail?: boolean;
      noStore?: boolean;
      pad?: number;
    };
    if (ask.fail === true) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"boom"}');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (ask.noStore === true) headers['cache-control'] = 'no-store';
    res.writeHead(200, headers);
    res.end(JSON.stringify({ served: name, n: up.received.length, pad: 'x'.repeat(ask.pad ?? 0) }));
  });
  return up;
}

/** Inference calls an upstream got (health checks left out). */
function calls(up: Upstream): number {
  return up.received.filter((r) => r.method === 'POST').length;
}

function raw(url: string) {
  return { backend: { type: 'http' as const, protocol: 'raw' as const, endpoints: [url] } };
}

async function send(
  j: Junction,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  method: 'POST' | 'GET' = 'POST',
): Promise<Answer> {
  const res = await request(`${j.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    cache: res.headers['x-cache'] as string | undefined,
    model: res.headers['x-model'] as string | undefined,
    headers: res.headers,
    text,
    requestId: res.headers['x-request-id'] as string,
  };
}

async function metric(j: Junction, line: string): Promise<number> {
  const text = await (await request(`${j.url}/metrics`)).body.text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
}

let a: Upstream & { down: boolean };
let b: Upstream & { down: boolean };
let llm: OpenAiServer;
let triton: OipServer;
let j: Junction;
let dir: string;

const cache = (extra: Record<string, unknown> = {}) => ({ ttlSeconds: 60, cacheable: true, ...extra });

function config(rolloutPercent = 0): ConfigInput {
  return {
    models: {
      cell: { versions: { a: raw(a.url), b: raw(b.url) } },
      remote: {
        class: 'generator',
        versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: [llm.url], model: 'served-llm' } } },
      },
      simple: { versions: { '1': { backend: { type: 'http', protocol: 'oip', endpoints: [triton.url] } } } },
    },
    objectives: {
      scores: {
        interface: 'json',
        default: 'cell@a',
        experiments: [
          { id: 'ab', population: 1, cells: { A: { weight: 50, use: 'cell@a' }, B: { weight: 50, use: 'cell@b' } } },
        ],
        cache: cache(),
      },
      plain: { interface: 'json', default: 'cell@a', methods: ['POST', 'GET'], cache: cache({ maxBytes: 300 }) },
      rolled: {
        interface: 'json',
        default: 'cell@a',
        rollout: { candidate: 'cell@b', percent: rolloutPercent },
        cache: cache(),
      },
      unmarked: { interface: 'json', default: 'cell@a', cache: { ttlSeconds: 60 } },
      fallback: {
        interface: 'json',
        default: 'cell@a',
        policy: { fallback: ['cell@b'] },
        cache: cache(),
      },
      llm: { interface: 'openai', default: 'remote@1', cache: { ttlSeconds: 60 } },
      'llm-short': { interface: 'openai', default: 'remote@1', cache: { ttlSeconds: 0.3 } },
      'llm-small': { interface: 'openai', default: 'remote@1', cache: { ttlSeconds: 60, maxBytes: 400 } },
      adder: { interface: 'oip', default: 'simple@1', cache: cache() },
    },
  };
}

beforeAll(async () => {
  [a, b, llm, triton] = await Promise.all([
    labelled('A'),
    labelled('B'),
    startOpenAiServer({ models: ['served-llm'] }),
    startOipServer({ models: { simple: ['1'] } }),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'junction-cache-'));
  j = await startJunction({ port: 0, config: config(), decisionLog: join(dir, 'decisions.jsonl') });
});
afterAll(async () => {
  await j?.close();
  await Promise.all([a?.close(), b?.close(), llm?.close(), triton?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function chat(objective: string, extra: Record<string, unknown> = {}, content = 'the same question') {
  return { model: objective, messages: [{ role: 'user', content }], ...extra };
}

async function logged(requestId: string): Promise<Record<string, unknown>> {
  let line: string | undefined;
  await expect
    .poll(
      () =>
        (line = readFileSync(join(dir, 'decisions.jsonl'), 'utf8')
          .split('\n')
          .find((l) => l.includes(requestId))),
    )
    .toBeDefined();
  return JSON.parse(line!) as Record<string, unknown>;
}

describe('response cache through a real Junction', () => {
  it('a deterministic chat call is answered once upstream, then from the cache: logged, counted, no tokens', async () => {
    const before = calls(llm);
    const tokensBefore = await metric(
      j,
      'junction_tokens_total{objective="llm",target="remote@1",client="anonymous",kind="prompt"}',
    );
    const first = await send(j, '/v1/chat/completions', chat('llm', { temperature: 0 }, 'cache me please'));
    const second = await send(j, '/v1/chat/completions', chat('llm', { temperature: 0 }, 'cache me please'));
    expect([first.status, first.cache, second.status, second.cache]).toEqual([200, 'miss', 200, 'hit']);
    expect(second.text).toBe(first.text); // the upstream's id counts calls: the same bytes are the stored answer
    expect(second.model).toBe('remote@1');
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
    expect(calls(llm) - before).toBe(1);
    // A hit is an exposure like any call: routed, decision-logged with cache "hit"; it reports no usage.
    const hit = await logged(second.requestId);
    expect(hit).toMatchObject({ objective: 'llm', target: 'remote@1', cache: 'hit', usage: null });
    expect(await logged(first.requestId)).toMatchObject({ cache: 'miss' });
    // Both records have ended (the hit's is logged): the miss counted its 3 prompt tokens, the hit none.
    expect(
      await metric(j, 'junction_tokens_total{objective="llm",target="remote@1",client="anonymous",kind="prompt"}'),
    ).toBe(tokensBefore + 3);
    expect(await metric(j, 'junction_cache_total{objective="llm",result="hit"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(j, 'junction_cache_bytes')).toBeGreaterThan(0);
  });

  it('temperature above 0 is never cached; a seed is; embeddings are', async () => {
    const warm = await send(j, '/v1/chat/completions', chat('llm', { temperature: 0.7 }, 'warm question'));
    const again = await send(j, '/v1/chat/completions', chat('llm', { temperature: 0.7 }, 'warm question'));
    expect([warm.cache, again.cache]).toEqual(['bypass', 'bypass']);
    expect(again.text).not.toBe(warm.text);
    const seeded = chat('llm', { temperature: 0.7, seed: 42 }, 'seeded');
    expect((await send(j, '/v1/chat/completions', seeded)).cache).toBe('miss');
    expect((await send(j, '/v1/chat/completions', seeded)).cache).toBe('hit');
    const e1 = await send(j, '/v1/embeddings', { model: 'llm', input: 'embed me' });
    const e2 = await send(j, '/v1/embeddings', { input: 'embed me', model: 'llm' }); // another key order: the same request
    expect([e1.cache, e2.cache]).toEqual(['miss', 'hit']);
  });

  it('Anthropic Messages at temperature 0 and Responses calls are cached, translated answers included', async () => {
    const before = calls(llm);
    const messages = {
      model: 'llm',
      max_tokens: 50,
      temperature: 0,
      messages: [{ role: 'user', content: 'hello there' }],
    };
    const m1 = await send(j, '/v1/messages', messages, { 'anthropic-version': '2023-06-01' });
    const m2 = await send(j, '/v1/messages', messages, { 'anthropic-version': '2023-06-01' });
    expect([m1.status, m1.cache, m2.status, m2.cache]).toEqual([200, 'miss', 200, 'hit']);
    expect(m2.text).toBe(m1.text);
    expect((JSON.parse(m2.text) as { type: string }).type).toBe('message');
    const hot = { ...messages, temperature: 1 };
    const h = await send(j, '/v1/messages', hot, { 'anthropic-version': '2023-06-01' });
    expect(h.cache).toBe('bypass');
    const responses = { model: 'llm', temperature: 0, input: 'responses question' };
    const r1 = await send(j, '/v1/responses', responses);
    const r2 = await send(j, '/v1/responses', responses);
    expect([r1.status, r1.cache, r2.cache]).toEqual([200, 'miss', 'hit']);
    expect(r2.text).toBe(r1.text);
    expect(calls(llm) - before).toBe(3);
  });

  it('a stream is replayed as the same events; a stream and a whole answer are not confused', async () => {
    const ask = chat('llm', { temperature: 0, stream: true }, 'stream this answer');
    const first = await send(j, '/v1/chat/completions', ask);
    const second = await send(j, '/v1/chat/completions', ask);
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.headers['content-type']).toContain('text/event-stream');
    expect(second.text).toBe(first.text);
    expect(second.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const whole = await send(j, '/v1/chat/completions', chat('llm', { temperature: 0 }, 'stream this answer'));
    expect(whole.cache).toBe('miss');
    expect(whole.headers['content-type']).toContain('application/json');
  });

  it('a unit in cell B never gets cell A’s reply: every reply comes from its own cell’s target', async () => {
    const body = { features: [1, 2, 3] };
    const seen = { 'cell@a': 0, 'cell@b': 0 };
    const [callsA, callsB] = [a.received.length, b.received.length];
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 40; u++) {
        const r = await send(j, '/v1/objectives/scores', body, { 'x-unit-id': `unit-${u}` });
        expect(r.status).toBe(200);
        const served = (JSON.parse(r.text) as { served: string }).served;
        expect({ unit: u, target: r.model, served }).toEqual({
          unit: u,
          target: r.model,
          served: r.model === 'cell@a' ? 'A' : 'B',
        });
        seen[r.model as keyof typeof seen]++;
      }
    }
    expect(seen['cell@a']).toBeGreaterThan(0);
    expect(seen['cell@b']).toBeGreaterThan(0);
    // One call per target, every other reply from the cache.
    expect([a.received.length - callsA, b.received.length - callsB]).toEqual([1, 1]);
  });

  it('a rollout step changes what is cached: units moved to the candidate get the candidate’s answer', async () => {
    const body = { rolled: true };
    const before = await send(j, '/v1/objectives/rolled', body, { 'x-unit-id': 'u-1' });
    const hit = await send(j, '/v1/objectives/rolled', body, { 'x-unit-id': 'u-2' });
    expect([before.model, before.cache, hit.cache]).toEqual(['cell@a', 'miss', 'hit']);
    const next = config(100);
    await j.runtime.apply(validateConfig(next), { number: 2, source: next, baseDir: '.' });
    try {
      const after = await send(j, '/v1/objectives/rolled', body, { 'x-unit-id': 'u-1' });
      expect([after.model, after.cache, (JSON.parse(after.text) as { served: string }).served]).toEqual([
        'cell@b',
        'miss',
        'B',
      ]);
    } finally {
      const back = config();
      await j.runtime.apply(validateConfig(back), { number: 3, source: back, baseDir: '.' });
    }
  });

  it('cache-control no-cache and no-store on a request pass it by, both ways: neither served nor stored', async () => {
    for (const header of ['no-cache', 'no-store']) {
      const body = { pass: header };
      const r1 = await send(j, '/v1/objectives/plain', body, { 'cache-control': header });
      expect(r1.cache).toBe('bypass');
      const r2 = await send(j, '/v1/objectives/plain', body);
      expect(r2.cache).toBe('miss'); // the bypassed answer was not stored
      const r3 = await send(j, '/v1/objectives/plain', body, { 'cache-control': header });
      expect(r3.cache).toBe('bypass'); // and a stored one is not served to it
      expect(r3.text).not.toBe(r2.text);
    }
  });

  it('never stores an error, a no-store reply, a fallback’s reply, or one over maxBytes', async () => {
    const twice = async (path: string, body: unknown): Promise<[Answer, Answer]> => [
      await send(j, path, body),
      await send(j, path, body),
    ];
    const [e1, e2] = await twice('/v1/objectives/plain', { fail: true });
    expect([e1.status, e1.cache, e2.status, e2.cache]).toEqual([500, 'miss', 500, 'miss']);
    const [s1, s2] = await twice('/v1/objectives/plain', { noStore: true });
    expect([s1.cache, s2.cache]).toEqual(['miss', 'miss']);
    const [b1, b2] = await twice('/v1/objectives/plain', { pad: 400 });
    expect([b1.status, b1.cache, b2.cache]).toEqual([200, 'miss', 'miss']);
    expect(b2.text).not.toBe(b1.text);
    // The decided target fails, a fallback answers: never stored under the decided target's key.
    const [f1, f2] = await twice('/v1/objectives/fallback', { fail: true });
    expect([f1.status, f1.cache, f2.status, f2.cache]).toEqual([500, 'miss', 500, 'miss']);
    // A stream over maxBytes reaches the caller whole and is not kept.
    const long = chat('llm-small', { temperature: 0, stream: true }, 'a b c d e f g h i j k l m n o p');
    const l1 = await send(j, '/v1/chat/completions', long);
    const l2 = await send(j, '/v1/chat/completions', long);
    expect([l1.cache, l2.cache]).toEqual(['miss', 'miss']);
    expect(l1.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // A GET is keyed on its query.
    const g1 = await send(j, '/v1/objectives/plain?q=1', undefined, {}, 'GET');
    const g2 = await send(j, '/v1/objectives/plain?q=1', undefined, {}, 'GET');
    const g3 = await send(j, '/v1/objectives/plain?q=2', undefined, {}, 'GET');
    expect([g1.cache, g2.cache, g3.cache]).toEqual(['miss', 'hit', 'miss']);
  });

  it('a fallback’s answer is never stored, and the decided target’s is once it answers again', async () => {
    a.down = true;
    try {
      const f1 = await send(j, '/v1/objectives/fallback', { fb: 1 });
      expect([f1.status, f1.headers['x-fallback'], f1.cache]).toEqual([200, 'cell@b', 'miss']);
      const f2 = await send(j, '/v1/objectives/fallback', { fb: 1 });
      expect([f2.headers['x-fallback'], f2.cache]).toEqual(['cell@b', 'miss']);
    } finally {
      a.down = false;
    }
    const d1 = await send(j, '/v1/objectives/fallback', { fb: 1 });
    const d2 = await send(j, '/v1/objectives/fallback', { fb: 1 });
    expect([d1.headers['x-fallback'], d1.cache, d2.cache]).toEqual([undefined, 'miss', 'hit']);
    expect((JSON.parse(d2.text) as { served: string }).served).toBe('A');
  });

  it('objectives not marked cacheable, and OpenAI calls that are not deterministic, say bypass', async () => {
    const r = await send(j, '/v1/objectives/unmarked', { x: 1 });
    expect(r.cache).toBe('bypass');
    expect(await metric(j, 'junction_cache_total{objective="unmarked",result="bypass"}')).toBeGreaterThanOrEqual(1);
  });

  it('entries expire at ttlSeconds', async () => {
    const ask = chat('llm-short', { temperature: 0 }, 'short lived');
    expect((await send(j, '/v1/chat/completions', ask)).cache).toBe('miss');
    expect((await send(j, '/v1/chat/completions', ask)).cache).toBe('hit');
    await new Promise((r) => setTimeout(r, 450));
    expect((await send(j, '/v1/chat/completions', ask)).cache).toBe('miss');
  });

  it('OIP inference is cached, JSON and binary tensors alike, with the binary header length replayed', async () => {
    const range = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));
    const infer = {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: range((i) => i) },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: range(() => 2) },
      ],
    };
    const before = calls(triton);
    const j1 = await send(j, '/v2/models/adder/infer', infer);
    const j2 = await send(j, '/v2/models/adder/infer', infer);
    expect([j1.status, j1.cache, j2.cache]).toEqual([200, 'miss', 'hit']);
    expect(j2.text).toBe(j1.text);
    const { body, headerLength } = binaryInferRequest(
      range((i) => i * 10),
      range(() => 1),
    );
    const bin = async () => {
      const res = await request(`${j.url}/v2/models/adder/infer`, {
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(headerLength),
        },
        body,
      });
      return {
        cache: res.headers['x-cache'],
        length: res.headers['inference-header-content-length'],
        bytes: Buffer.from(await res.body.arrayBuffer()),
      };
    };
    const b1 = await bin();
    const b2 = await bin();
    expect([b1.cache, b2.cache]).toEqual(['miss', 'hit']);
    expect(b2.length).toBe(b1.length);
    expect(b2.bytes.equals(b1.bytes)).toBe(true);
    expect(calls(triton) - before).toBe(2);
  });
});

describe('response cache scope and bound', () => {
  let up: Upstream;
  let k: Junction;
  const keys = { alpha: 'key-alpha', beta: 'key-beta' };

  beforeAll(async () => {
    up = await labelled('U');
    k = await startJunction({
      port: 0,
      responseCache: { maxBytes: 2 * 1400 },
      config: {
        models: { m: { versions: { '1': raw(up.url) } } },
        clients: {
          alpha: { keySha256: keyDigest(keys.alpha) },
          beta: { keySha256: keyDigest(keys.beta) },
        },
        objectives: {
          mine: { interface: 'json', default: 'm@1', cache: cache({ scope: 'client' }) },
          ours: { interface: 'json', default: 'm@1', cache: cache({ scope: 'shared' }) },
          big: { interface: 'json', default: 'm@1', cache: cache({ maxBytes: 4096 }) },
        },
      },
    });
  });
  afterAll(async () => {
    await k?.close();
    await up?.close();
  });

  const as = (client: keyof typeof keys) => ({ authorization: `Bearer ${keys[client]}` });

  it('scope client: a client only ever gets answers cached for its own calls; scope shared: every client', async () => {
    const m = [
      await send(k, '/v1/objectives/mine', { q: 1 }, as('alpha')),
      await send(k, '/v1/objectives/mine', { q: 1 }, as('beta')),
      await send(k, '/v1/objectives/mine', { q: 1 }, as('alpha')),
    ];
    expect(m.map((r) => r.cache)).toEqual(['miss', 'miss', 'hit']);
    expect(m[2]!.text).toBe(m[0]!.text);
    expect(m[1]!.text).not.toBe(m[0]!.text);
    const s = [
      await send(k, '/v1/objectives/ours', { q: 1 }, as('alpha')),
      await send(k, '/v1/objectives/ours', { q: 1 }, as('beta')),
    ];
    expect(s.map((r) => r.cache)).toEqual(['miss', 'hit']);
  });

  it('evicts the least recently used answers once the bytes held pass the bound', async () => {
    const ask = (n: number) => send(k, '/v1/objectives/big', { n, pad: 1000 }, as('alpha'));
    expect((await ask(1)).cache).toBe('miss');
    expect((await ask(2)).cache).toBe('miss');
    expect((await ask(1)).cache).toBe('hit'); // 1 is now the most recently used
    expect((await ask(3)).cache).toBe('miss'); // 2 goes
    expect((await ask(2)).cache).toBe('miss');
    expect(await metric(k, 'junction_cache_bytes')).toBeLessThanOrEqual(2 * 1400);
  });
});
