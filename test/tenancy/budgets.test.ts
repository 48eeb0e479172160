// Spend budgets (SPEC §16) through real Junctions and an OpenAI-compatible
// stand-in (it reports usage: prompt and answer in words). Every call of
// `llm@1` costs exactly 1 USD (a per-request price), so money is counted in
// calls. Refusals in each face's shape (Junction's, OpenAI's through the
// official client, Anthropic's through its SDK), the warning header, token and
// tag budgets, a budget of 0, a cost in another currency, counts that survive
// a restart (SQLite) and a Redis FLUSH (seeded from the ledger), two replicas
// sharing Redis, and Redis down with onRedisDown open and closed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction, type JunctionOptions } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { windowAt } from '../../src/tenancy/budget-window.js';
import type { RedisBudgetCounter } from '../../src/tenancy/redis-budget-counter.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { REDIS_URL, redisAvailable, redisSuite } from '../support/redis.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';

const ZONE = 'Europe/Amsterdam';
const TOKEN = 'admin-token';

function configFor(upstream: string, clients: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    timeZone: ZONE,
    clients,
    models: {
      llm: {
        class: 'generator' as const,
        versions: {
          '1': {
            backend: { type: 'http' as const, protocol: 'openai' as const, endpoints: [upstream], model: 'served-llm' },
            price: { perRequest: 1, currency: 'USD' },
          },
        },
      },
      free: {
        class: 'generator' as const,
        versions: {
          '1': {
            backend: { type: 'http' as const, protocol: 'openai' as const, endpoints: [upstream], model: 'served-llm' },
          },
        },
      },
    },
    objectives: {
      chat: { interface: 'openai' as const, default: 'llm@1' },
      unpriced: { interface: 'openai' as const, default: 'free@1' },
    },
    ...extra,
  };
}

const key = (name: string) => ({ keySha256: keyDigest(`${name}-key`) });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One chat call through Junction's own face, read whole; the call is counted once the response closed. */
async function call(j: Junction, client: string, content = 'hi', objective = 'chat'): Promise<Answer> {
  const res = await request(`${j.url}/v1/objectives/${objective}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client}-key`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: objective, messages: [{ role: 'user', content }] }),
  });
  const text = await res.body.text();
  await new Promise((r) => setTimeout(r, 10)); // the response's close (and the count) follows its last byte
  return { status: res.statusCode, headers: res.headers, text };
}

async function metric(j: Junction, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await request(`${j.url}/metrics`, { headers: { authorization: 'Bearer free-key' } });
  return sampleValue(parsePrometheus(await res.body.text()), name, labels);
}

/** Seconds from now to the end of the current window of `per` in the zone. */
const toReset = (per: 'day' | 'month') => (windowAt(per, Date.now(), ZONE).end - Date.now()) / 1000;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('budgets in one process (local counters, SQLite ledger)', () => {
  let upstream: OpenAiServer;
  let j: Junction;
  let data: string;
  let config: ReturnType<typeof configFor>;
  const start = (opts: Partial<JunctionOptions> = {}) =>
    startJunction({
      port: 0,
      config,
      control: { data, applyConfig: true, admin: { port: 0, token: TOKEN } },
      ...opts,
    });

  beforeAll(async () => {
    upstream = await startOpenAiServer({ models: ['served-llm'] });
    data = mkdtempSync(join(tmpdir(), 'junction-budgets-'));
    config = configFor(
      upstream.url,
      {
        alice: { ...key('alice'), budgets: [{ per: 'month', max: 3, unit: 'USD', warnAt: 0.5 }] },
        tok: { ...key('tok'), budgets: [{ per: 'day', max: 7, unit: 'tokens' }] },
        s1: { ...key('s1'), tags: { team: 'search' } },
        s2: { ...key('s2'), tags: { team: 'search', env: 'prod' } },
        ads: { ...key('ads'), tags: { team: 'ads' } },
        zero: { ...key('zero'), budgets: [{ per: 'day', max: 0, unit: 'USD' }] },
        euro: { ...key('euro'), budgets: [{ per: 'month', max: 1, unit: 'EUR' }] },
        free: key('free'),
      },
      { budgets: [{ tag: { team: 'search' }, per: 'day', max: 2, unit: 'USD' }] },
    );
    j = await start();
  });
  afterAll(async () => {
    await j?.close();
    await upstream?.close();
    rmSync(data, { recursive: true, force: true });
  });

  it("a money budget: a warning past warnAt, then 429 budget_exceeded in Junction's shape with Retry-After to the month's end", async () => {
    const first = await call(j, 'alice');
    expect(first.status).toBe(200);
    expect(first.headers['x-junction-budget-warning']).toBeUndefined();
    expect((await call(j, 'alice')).headers['x-junction-budget-warning']).toBeUndefined(); // 1 of 3 < 1.5
    const warned = await call(j, 'alice');
    expect(warned.status).toBe(200);
    expect(warned.headers['x-junction-budget-warning']).toBe('client:alice:month:USD 2/3 USD');
    const refused = await call(j, 'alice');
    expect(refused.status).toBe(429);
    expect(refused.headers['x-error-code']).toBe('budget_exceeded');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Math.abs(retryAfter - toReset('month'))).toBeLessThan(5);
    const reset = new Date(windowAt('month', Date.now(), ZONE).end).toISOString();
    expect(JSON.parse(refused.text).error.message).toBe(
      `budget "client:alice:month:USD" is used up: 3 of 3 USD this month (${windowAt('month', Date.now(), ZONE).key}); it resets at ${reset}`,
    );
    // Refused calls cost nothing: still 3.
    expect((await call(j, 'alice')).status).toBe(429);
    expect(await metric(j, 'junction_budget_used_ratio', { budget: 'client:alice:month:USD' })).toBe(1);
    expect(await metric(j, 'junction_budget_refused_total', { budget: 'client:alice:month:USD' })).toBe(2);
    expect(await metric(j, 'junction_budget_warnings_total', { budget: 'client:alice:month:USD' })).toBe(1);
    expect(
      await metric(j, 'junction_rejections_total', { objective: 'chat', client: 'alice', reason: 'budget_exceeded' }),
    ).toBe(2);
  });

  it("OpenAI's face through the official client: a RateLimitError with code budget_exceeded and retry-after", async () => {
    const openai = new OpenAI({ baseURL: `${j.url}/v1`, apiKey: 'alice-key', maxRetries: 0 });
    const err = await openai.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toMatch(/budget "client:alice:month:USD" is used up/);
    expect(Math.abs(Number(e.headers.get('retry-after')) - toReset('month'))).toBeLessThan(5);
  });

  it("Anthropic's face through its SDK: rate_limit_error in its shape", async () => {
    const claude = new Anthropic({ baseURL: j.url, apiKey: 'alice-key', maxRetries: 0 });
    const err = await claude.messages
      .create({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((e.error as { error: { message: string } }).error.message).toMatch(/client:alice:month:USD/);
    expect(Math.abs(Number(e.headers.get('retry-after')) - toReset('month'))).toBeLessThan(5);
  });

  it('a token budget counts prompt + completion (estimated ones too, and calls of unpriced targets)', async () => {
    // "one two three": 3 prompt words, echoed back: 6 tokens.
    expect((await call(j, 'tok', 'one two three')).headers['x-junction-budget-warning']).toBeUndefined();
    const second = await call(j, 'tok', 'one two three', 'unpriced');
    expect(second.status).toBe(200);
    expect(second.headers['x-junction-budget-warning']).toBe('client:tok:day:tokens 6/7 tokens');
    const refused = await call(j, 'tok');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).error.message).toMatch(
      /"client:tok:day:tokens" is used up: 12 of 7 tokens this day/,
    );
    expect(Math.abs(Number(refused.headers['retry-after']) - toReset('day'))).toBeLessThan(5);
  });

  it('a tag budget is shared by every client carrying its tags, and no one else', async () => {
    expect((await call(j, 's1')).status).toBe(200);
    expect((await call(j, 's2')).status).toBe(200);
    for (const c of ['s1', 's2']) {
      const r = await call(j, c);
      expect(r.status).toBe(429);
      expect(JSON.parse(r.text).error.message).toMatch(/budget "tag:team=search:day:USD" is used up: 2 of 2 USD/);
    }
    expect((await call(j, 'ads')).status).toBe(200);
    expect((await call(j, 'free')).status).toBe(200);
  });

  it('a budget of 0 refuses everything; a cost in another currency does not count', async () => {
    const r = await call(j, 'zero');
    expect(r.status).toBe(429);
    expect(r.headers['x-error-code']).toBe('budget_exceeded');
    for (let i = 0; i < 3; i++) expect((await call(j, 'euro')).status).toBe(200); // USD costs, an EUR budget
  });

  it('GET /admin/budgets lists each budget with used, max, window and reset', async () => {
    const res = await request(`${j.control!.adminUrl}/admin/budgets`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as { timeZone: string; budgets: Array<Record<string, unknown>> };
    expect(body.timeZone).toBe(ZONE);
    const alice = body.budgets.find((b) => b.name === 'client:alice:month:USD');
    expect(alice).toMatchObject({
      client: 'alice',
      per: 'month',
      unit: 'USD',
      max: 3,
      used: 3,
      state: 'exceeded',
      window: windowAt('month', Date.now(), ZONE).key,
      resetsAt: new Date(windowAt('month', Date.now(), ZONE).end).toISOString(),
    });
    expect(body.budgets.find((b) => b.name === 'tag:team=search:day:USD')).toMatchObject({
      tags: { team: 'search' },
      used: 2,
    });
    expect(body.budgets.find((b) => b.name === 'client:euro:month:EUR')).toMatchObject({ used: 0, state: 'ok' });
  });

  it('counts survive a restart: the next process seeds its counters from the SQLite ledger', async () => {
    await j.close(); // the ledger's last batch is flushed on close
    j = await start();
    const r = await call(j, 'alice');
    expect(r.status).toBe(429);
    expect(JSON.parse(r.text).error.message).toMatch(/3 of 3 USD/);
    expect((await call(j, 's1')).status).toBe(429);
    expect((await call(j, 'ads')).status).toBe(200);
  });
});

const redisUp = await redisAvailable();
const pgSkip = await postgresSkipReason();

describe.skipIf(!redisUp || pgSkip !== undefined)(
  redisSuite(redisUp, `budgets shared by replicas on Redis and PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`),
  () => {
    let upstream: OpenAiServer;
    let a: Junction;
    let b: Junction;
    let redis: Redis;
    const schema = uniqueSchema('jbudget');
    const prefix = `junction:budget:test-${randomUUID()}:`;
    let config: ReturnType<typeof configFor>;
    const replica = (cfg: unknown, opts: Partial<JunctionOptions> = {}) =>
      startJunction({
        port: 0,
        config: cfg,
        redis: REDIS_URL,
        budgets: { redisPrefix: prefix, freshMs: 0 },
        control: { store: storeUrl(schema), applyConfig: true },
        ...opts,
      });

    beforeAll(async () => {
      upstream = await startOpenAiServer({ models: ['served-llm'] });
      redis = new Redis(REDIS_URL);
      config = configFor(upstream.url, {
        team: { ...key('team'), budgets: [{ per: 'month', max: 4, unit: 'USD' }] },
        open: { ...key('open'), budgets: [{ per: 'day', max: 2, unit: 'USD' }] },
        free: key('free'),
      });
      a = await replica(config);
      b = await replica(config);
      await Promise.all([a, b].map((j) => (j.budgets as unknown as { counter: RedisBudgetCounter }).counter.ready()));
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close(), upstream?.close()]);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await dropSchema(schema);
    });

    const counted = async () =>
      Number(await redis.get(`${prefix}client:team:month:USD:${windowAt('month', Date.now(), ZONE).key}`));

    it('two replicas share one budget: what one spent, the other refuses past', async () => {
      expect((await call(a, 'team')).status).toBe(200);
      expect((await call(b, 'team')).status).toBe(200);
      expect((await call(a, 'team')).status).toBe(200);
      await expect.poll(counted).toBe(3);
      expect((await call(b, 'team')).status).toBe(200);
      await expect.poll(counted).toBe(4);
      for (const j of [a, b]) {
        const r = await call(j, 'team');
        expect(r.status).toBe(429);
        expect(JSON.parse(r.text).error.message).toMatch(/4 of 4 USD/);
      }
    });

    it('counts survive a Redis FLUSH: the missing counter is seeded from the ledger', async () => {
      await Promise.all([a, b].map((j) => j.control!.spend.flush()));
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      const r = await call(b, 'team');
      expect(r.status).toBe(429);
      expect(await counted()).toBe(4);
    });

    it('Redis down, onRedisDown open: a local counter seeded from the ledger, counted as dropped', async () => {
      const down = `redis://127.0.0.1:${await closedPort()}`;
      const c = await replica(config, { redis: down });
      try {
        expect((await call(c, 'open')).status).toBe(200);
        expect((await call(c, 'open')).status).toBe(200);
        const r = await call(c, 'open');
        expect(r.status).toBe(429);
        expect(r.headers['x-error-code']).toBe('budget_exceeded');
        // Seeded from the ledger a and b wrote: the month's 4 USD are still spent.
        expect((await call(c, 'team')).status).toBe(429);
        expect(await metric(c, 'junction_dropped_total', { sink: 'budget-redis' })).toBeGreaterThan(0);
      } finally {
        await c.close();
      }
    });

    it('Redis down, onRedisDown closed: calls a budget covers are refused 503, others pass', async () => {
      const down = `redis://127.0.0.1:${await closedPort()}`;
      const c = await replica({ ...config, spend: { onRedisDown: 'closed' } }, { redis: down });
      try {
        const r = await call(c, 'open');
        expect(r.status).toBe(503);
        expect(r.headers['x-error-code']).toBe('overloaded');
        expect(r.headers['retry-after']).toBe('1');
        expect(JSON.parse(r.text).error.message).toMatch(/onRedisDown is closed/);
        expect((await call(c, 'free')).status).toBe(200);
        expect(await metric(c, 'junction_dropped_total', { sink: 'budget-redis' })).toBeGreaterThan(0);
      } finally {
        await c.close();
      }
    });
  },
);
