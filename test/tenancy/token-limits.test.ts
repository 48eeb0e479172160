// Tokens per minute (SPEC §16) through a real Junction in front of the
// OpenAI-compatible stand-in (it reports usage: prompt and answer in words):
// reserved at admission from the body's size and max_tokens, settled with
// the usage reported, per client and per objective, refused with 429
// token_limit_exceeded in each face's shape, with OpenAI's (and Anthropic's)
// headers. The limiter runs on a frozen clock, so every count is exact.
import { createServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { DEFAULT_OUTPUT_TOKENS } from '../../src/tenancy/token-estimate.js';
import { LocalTokenLimiter, remainingOf } from '../../src/tenancy/token-limiter.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';

const MINUTE = 60_000_000; // µs
let now = MINUTE;
const limiter = new LocalTokenLimiter(() => now);
let upstream: OpenAiServer;
let j: Junction;

/** Tokens left in a limit now, read without taking any. */
const left = (key: string, tpm: number) => remainingOf({ key, tpm }, limiter.reserve([{ key, tpm }], 0).backlogs[0]!);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  upstream = await startOpenAiServer({ models: ['served-llm'] });
  const llm = (endpoint: string) => ({
    class: 'generator' as const,
    versions: {
      '1': {
        backend: { type: 'http' as const, protocol: 'openai' as const, endpoints: [endpoint], model: 'served-llm' },
      },
    },
  });
  j = await startJunction({
    port: 0,
    tokenLimiter: limiter,
    config: {
      clients: {
        alice: { keySha256: keyDigest('alice-key'), rateLimit: { tpm: 10_000 } },
        bob: { keySha256: keyDigest('bob-key') },
        carol: { keySha256: keyDigest('carol-key'), rateLimit: { rps: 100, tpm: 2_000 } },
      },
      models: { llm: llm(upstream.url), dead: llm(`http://127.0.0.1:${await closedPort()}`) },
      objectives: {
        chat: { interface: 'openai', default: 'llm@1' },
        shared: { interface: 'openai', default: 'llm@1', rateLimit: { tpm: 3_000 } },
        broken: { interface: 'openai', default: 'dead@1' },
      },
    },
  });
});
afterAll(async () => {
  await j?.close();
  await upstream?.close();
});
beforeEach(() => {
  now += 2 * MINUTE; // every limit whole again
  upstream.streamGate = undefined;
  upstream.ready = true;
});

function chatBody(model: string, content: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra });
}

/** Bytes ÷ 4, as admission estimates a prompt. */
const promptOf = (body: string) => Math.ceil(Buffer.byteLength(body) / 4);

async function post(key: string, body: string, path = '/v1/chat/completions') {
  const res = await request(`${j.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

describe('reservation and settlement', () => {
  it('reserves the prompt (bytes ÷ 4) and max_tokens before the call, then settles with the usage reported', async () => {
    const body = chatBody('chat', 'one two three', { max_tokens: 500 });
    const reserved = promptOf(body) + 500;
    const res = await post('alice-key', body);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit-tokens']).toBe('10000');
    expect(res.headers['x-ratelimit-remaining-tokens']).toBe(String(10_000 - reserved));
    expect(res.headers['x-ratelimit-reset-tokens']).toBe(`${(reserved * 60) / 10_000}s`);
    // The stand-in used 3 prompt and 3 answer tokens: the rest of the reservation comes back.
    expect(JSON.parse(res.text).usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3 });
    await expect.poll(() => left('c:alice', 10_000)).toBe(10_000 - 6);
  });

  it('a stream holds its reservation until its usage arrives at the end, then settles with it', async () => {
    let open!: () => void;
    upstream.streamGate = new Promise((r) => (open = r));
    const body = chatBody('chat', 'a b c d', {
      max_tokens: 800,
      stream: true,
      stream_options: { include_usage: true },
    });
    const reserved = promptOf(body) + 800;
    const res = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-key', 'content-type': 'application/json' },
      body,
    });
    expect(res.headers['x-ratelimit-remaining-tokens']).toBe(String(10_000 - reserved));
    expect(left('c:alice', 10_000)).toBe(10_000 - reserved); // in flight: all of it held
    open();
    const text = await res.body.text();
    expect(text).toContain('"usage"');
    await expect.poll(() => left('c:alice', 10_000)).toBe(10_000 - 8);
  });

  it('a stream that reports no usage keeps its reservation', async () => {
    const body = chatBody('chat', 'a b c d', { max_tokens: 800, stream: true });
    const res = await post('alice-key', body);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('"usage"');
    await new Promise((r) => setTimeout(r, 50));
    expect(left('c:alice', 10_000)).toBe(10_000 - promptOf(body) - 800);
  });

  it('gives the reservation back when no upstream answered, or one refused without usage', async () => {
    const dead = await post('alice-key', chatBody('broken', 'hi', { max_tokens: 900 }));
    expect(dead.status).toBeGreaterThanOrEqual(500);
    await expect.poll(() => left('c:alice', 10_000)).toBe(10_000);
    upstream.ready = false; // answers 503, no usage
    const refused = await post('alice-key', chatBody('chat', 'hi', { max_tokens: 900 }));
    expect(refused.status).toBe(503);
    await expect.poll(() => left('c:alice', 10_000)).toBe(10_000);
  });

  it("Junction's own face streams the body: its content-length is the prompt, the answer the default", async () => {
    const body = chatBody('chat', 'a b', { max_tokens: 5, stream: true });
    const send = (b: string | Readable) =>
      request(`${j.url}/v1/objectives/chat`, {
        method: 'POST',
        headers: { authorization: 'Bearer alice-key', 'content-type': 'application/json' },
        body: b,
      }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });
    expect(await send(body)).toBe(200);
    await new Promise((r) => setTimeout(r, 50)); // a stream without usage: the reservation stands
    expect(left('c:alice', 10_000)).toBe(10_000 - promptOf(body) - DEFAULT_OUTPUT_TOKENS);
    now += 2 * MINUTE;
    expect(await send(Readable.from([Buffer.from(body)]))).toBe(200); // chunked: no length to go by
    await new Promise((r) => setTimeout(r, 50));
    expect(left('c:alice', 10_000)).toBe(10_000 - DEFAULT_OUTPUT_TOKENS);
  });

  it('no token limit: no token headers, nothing reserved', async () => {
    const res = await post('bob-key', chatBody('chat', 'hi', { max_tokens: 10 }));
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit-tokens']).toBeUndefined();
  });
});

describe('an objective-wide tpm', () => {
  it('holds across two clients, and names the objective when it refuses', async () => {
    // Alice's stream reports no usage: its 2,000 tokens stay reserved on the objective.
    const first = await post('alice-key', chatBody('shared', 'hi', { max_tokens: 2000, stream: true }));
    expect(first.status).toBe(200);
    const reserved = promptOf(chatBody('shared', 'hi', { max_tokens: 2000, stream: true })) + 2000;
    const bobBody = chatBody('shared', 'hi', { max_tokens: 1500 });
    const refused = await post('bob-key', bobBody);
    expect(refused.status).toBe(429);
    expect(refused.headers['x-error-code']).toBe('token_limit_exceeded');
    const need = promptOf(bobBody) + 1500 - (3000 - reserved);
    expect(refused.headers['retry-after']).toBe(String(Math.ceil((need * 60) / 3000)));
    expect(refused.headers['x-ratelimit-limit-tokens']).toBe('3000');
    expect(refused.headers['x-ratelimit-remaining-tokens']).toBe(String(3000 - reserved));
    expect(JSON.parse(refused.text).error).toMatchObject({ type: 'rate_limit_error', code: 'token_limit_exceeded' });
    expect(JSON.parse(refused.text).error.message).toMatch(/objective "shared" is over its token limit/);
    // What is left still serves Bob, whose own client has no limit.
    expect((await post('bob-key', chatBody('shared', 'hi', { max_tokens: 500 }))).status).toBe(200);
    const metrics = parsePrometheus(
      await (await request(`${j.url}/metrics`, { headers: { authorization: 'Bearer bob-key' } })).body.text(),
    );
    expect(
      sampleValue(metrics, 'junction_rejections_total', {
        objective: 'shared',
        client: 'bob',
        reason: 'token_limit_exceeded',
      }),
    ).toBe(1);
  });
});

describe('refusals through the official clients', () => {
  it('OpenAI: a RateLimitError with retry-after and x-ratelimit-*-tokens; the same headers on answers', async () => {
    const openai = new OpenAI({ baseURL: `${j.url}/v1`, apiKey: 'alice-key', maxRetries: 0 });
    const ok = await openai.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 9000, stream: true })
      .withResponse();
    for await (const chunk of ok.data) void chunk; // no usage asked for: the 9,000 stay reserved
    expect(ok.response.headers.get('x-ratelimit-limit-tokens')).toBe('10000');
    const remaining = Number(ok.response.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeLessThan(1000);
    expect(ok.response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^5\d(\.\d+)?s$/);
    const err = await openai.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe('token_limit_exceeded');
    expect(e.type).toBe('rate_limit_error');
    expect(e.headers.get('x-ratelimit-limit-tokens')).toBe('10000');
    expect(e.headers.get('x-ratelimit-remaining-tokens')).toBe(String(remaining));
    expect(e.headers.get('x-ratelimit-reset-tokens')).toMatch(/^5\d(\.\d+)?s$/);
    // ~2,000 tokens short at 10,000 a minute: about 12 s.
    expect(Number(e.headers.get('retry-after'))).toBeGreaterThanOrEqual(7);
    expect(Number(e.headers.get('retry-after'))).toBeLessThanOrEqual(13);
  });

  it('Anthropic: rate_limit_error in its own shape, over the limit and too large to ever fit; its own headers on answers', async () => {
    const claude = new Anthropic({ baseURL: j.url, apiKey: 'carol-key', maxRetries: 0 });
    const ok = await claude.messages
      .create({ model: 'chat', max_tokens: 1500, messages: [{ role: 'user', content: 'one two' }] })
      .withResponse();
    expect(ok.response.headers.get('anthropic-ratelimit-tokens-limit')).toBe('2000');
    expect(Date.parse(ok.response.headers.get('anthropic-ratelimit-tokens-reset')!)).toBeGreaterThan(Date.now());
    // The usage settled (4 tokens): 1,500 more fit, 2,000 never can.
    await expect.poll(() => left('c:carol', 2000)).toBe(2000 - 4);
    // A stream held open keeps its 1,800 tokens reserved meanwhile.
    let open!: () => void;
    upstream.streamGate = new Promise((r) => (open = r));
    const held = await claude.messages.create({
      model: 'chat',
      max_tokens: 1800,
      messages: [{ role: 'user', content: 'x y' }],
      stream: true,
    });
    const over = await claude.messages
      .create({ model: 'chat', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(over).toBeInstanceOf(Anthropic.RateLimitError);
    const o = over as InstanceType<typeof Anthropic.RateLimitError>;
    expect(o.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(o.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(o.headers.get('anthropic-ratelimit-tokens-remaining')).not.toBeNull();
    open();
    for await (const ev of held) void ev;
    const never = await claude.messages
      .create({ model: 'chat', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(never).toBeInstanceOf(Anthropic.RateLimitError);
    const n = never as InstanceType<typeof Anthropic.RateLimitError>;
    expect((n.error as { error: { message: string } }).error.message).toMatch(/can never fit/);
    expect(n.headers.get('retry-after')).toBeNull(); // waiting does not help
  });
});

describe('bad max_tokens values', () => {
  const reservedFor = async (extra: Record<string, unknown>) => {
    now += 2 * MINUTE;
    const body = chatBody('chat', 'hi', extra);
    const res = await post('alice-key', body);
    return { res, reserved: 10_000 - Number(res.headers['x-ratelimit-remaining-tokens']), prompt: promptOf(body) };
  };

  it('missing or not a number: the default; negative: none; fractional: rounded up', async () => {
    for (const extra of [{}, { max_tokens: '100' }, { max_tokens: null }, { max_tokens: [5] }]) {
      const { res, reserved, prompt } = await reservedFor(extra);
      expect(res.status).toBe(200);
      expect(reserved).toBe(prompt + DEFAULT_OUTPUT_TOKENS);
    }
    const negative = await reservedFor({ max_tokens: -5 });
    expect(negative.reserved).toBe(negative.prompt);
    const fractional = await reservedFor({ max_tokens: 2.5 });
    expect(fractional.reserved).toBe(fractional.prompt + 3);
    const choices = await reservedFor({ max_tokens: 10, n: 3 });
    expect(choices.reserved).toBe(choices.prompt + 30);
  });

  it('more than a whole minute, or absurdly large: refused as never fitting, without retry-after', async () => {
    for (const raw of ['20000', '1e400', '123456789012345678901234567890']) {
      const body = `{"model":"chat","messages":[{"role":"user","content":"hi"}],"max_tokens":${raw}}`;
      const res = await post('alice-key', body);
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(JSON.parse(res.text).error.message).toMatch(/can never fit/);
    }
    expect(left('c:alice', 10_000)).toBe(10_000);
  });

  it('max_tokens written twice is refused before any backend is called', async () => {
    const before = upstream.received.length;
    const res = await post(
      'alice-key',
      '{"model":"chat","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"max_tokens":99999}',
    );
    expect(res.status).toBe(400);
    expect(res.headers['x-error-code']).toBe('invalid_request');
    expect(upstream.received.length).toBe(before);
  });
});
