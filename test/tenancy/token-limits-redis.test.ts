// Token limits shared by two Junction replicas on one real Redis, and a
// replica whose Redis goes away (and comes back) mid-run: it reserves from its
// local limit meanwhile, counted, and uses the shared one again once Redis
// answers. Redis is reached through a TCP proxy the test can stall or cut.
// Skipped with a reason when Redis is absent (failed under JUNCTION_REQUIRE_SERVICES=1).
import { randomUUID } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import type { RedisTokenLimiter } from '../../src/tenancy/redis-token-limit.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { REDIS_URL, redisAvailable, redisSuite } from '../support/redis.js';
import { startOpenAiServer, type OpenAiServer } from '../support/servers/openai.js';

const available = await redisAvailable();

/** A TCP proxy to Redis: `stall` holds every byte (Redis slow), `cut` closes it (Redis down), `restore` listens again. */
interface RedisProxy {
  url: string;
  stalled: boolean;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function redisProxy(): Promise<RedisProxy> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const proxy: RedisProxy = {
    url: '',
    stalled: false,
    async cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      const s = server;
      server = undefined;
      if (s !== undefined) await new Promise((r) => s.close(r));
    },
    async restore() {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.on('data', (d: Buffer) => {
          if (!proxy.stalled) upstream.write(d);
        });
        upstream.on('data', (d: Buffer) => {
          if (!proxy.stalled) client.write(d);
        });
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
      proxy.url = `redis://127.0.0.1:${port}`;
    },
    close: () => proxy.cut(),
  };
  await proxy.restore();
  return proxy;
}

describe.skipIf(!available)(redisSuite(available, 'token limits shared by two replicas on Redis'), () => {
  let upstream: OpenAiServer;
  let a: Junction;
  let b: Junction;
  let proxy: RedisProxy;
  let c: Junction;
  // Fresh names per run: a limit's Redis key outlives the test by up to a minute.
  const client = `tenant-${randomUUID()}`;
  const objective = `shared-${randomUUID()}`;

  beforeAll(async () => {
    upstream = await startOpenAiServer({ models: ['served-llm'] });
    proxy = await redisProxy();
    const config = {
      clients: { [client]: { keySha256: keyDigest('tpm-key'), rateLimit: { tpm: 3000 } } },
      models: {
        llm: {
          class: 'generator' as const,
          versions: {
            '1': {
              backend: {
                type: 'http' as const,
                protocol: 'openai' as const,
                endpoints: [upstream.url],
                model: 'served-llm',
              },
            },
          },
        },
      },
      objectives: { [objective]: { interface: 'openai' as const, default: 'llm@1' } },
    };
    a = await startJunction({ config, port: 0, redis: REDIS_URL });
    b = await startJunction({ config, port: 0, redis: REDIS_URL });
    // Its own client: the limit it shares through the proxy is not the one a and b used.
    const own = { ...config, clients: { [`${client}-c`]: config.clients[client]! } };
    c = await startJunction({ config: own, port: 0, redis: proxy.url });
    await Promise.all([a, b, c].map((j) => (j.tokenLimiter as RedisTokenLimiter).ready()));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), c?.close(), upstream?.close(), proxy?.close()]);
  });

  /** A streamed call without usage: its reservation (prompt + max_tokens) stands once it ends. */
  const call = async (j: Junction, maxTokens: number) => {
    const res = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer tpm-key', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: objective,
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: maxTokens,
        stream: true,
      }),
    });
    await res.body.dump();
    return {
      status: res.statusCode,
      remaining: Number(res.headers['x-ratelimit-remaining-tokens']),
      headers: res.headers,
    };
  };
  const fallbacks = (j: Junction) => (j.tokenLimiter as RedisTokenLimiter).fallbacks;

  it('one limit for both replicas: what one reserved, the other cannot', async () => {
    const first = await call(a, 1000);
    expect(first.status).toBe(200);
    const reserved = 3000 - first.remaining; // 1,000 and the prompt
    expect(reserved).toBeGreaterThan(1000);
    expect((await call(b, 2000)).status).toBe(429);
    const second = await call(b, 500);
    expect(second.status).toBe(200);
    // b sees a's reservation (plus at most a few tokens come back meanwhile: 50 a second).
    expect(second.remaining).toBeGreaterThanOrEqual(3000 - reserved - (reserved - 1000) - 500);
    expect(second.remaining).toBeLessThanOrEqual(3000 - reserved - 500 + 50);
    expect(fallbacks(a) + fallbacks(b)).toBe(0);
  });

  it('replicas racing on the last tokens: no more pass than the limit holds', async () => {
    const name = `tenant-${randomUUID()}`;
    const config = {
      clients: { [name]: { keySha256: keyDigest('race-key'), rateLimit: { tpm: 6000 } } },
      models: a.runtime.current!.config.models,
      objectives: a.runtime.current!.config.objectives,
    };
    for (const j of [a, b]) await j.runtime.apply(validateConfig(config), { number: 2, source: config, baseDir: '.' });
    const race = (j: Junction) =>
      request(`${j.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer race-key', 'content-type': 'application/json' },
        body: JSON.stringify({
          model: objective,
          messages: [{ role: 'user', content: 'hi' }],
          max_tokens: 950,
          stream: true,
        }),
      }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });
    const fellBack = fallbacks(a) + fallbacks(b);
    const started = performance.now();
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => race(i % 2 ? a : b)));
    // Each call reserves ~990 (950 and a ~140-byte prompt): 6 fit in 6,000, whatever replica each went to.
    // Admitted is what was not refused (a loaded machine may fail one upstream). Only what came back
    // meanwhile (100 tokens a second) or a reservation Redis was too slow for (made locally) lets more in.
    const admitted = statuses.filter((s) => s !== 429).length;
    const slack =
      fallbacks(a) + fallbacks(b) - fellBack + Math.floor((((performance.now() - started) / 1000) * 100) / 990);
    expect(admitted, statuses.join(' ')).toBeGreaterThanOrEqual(6);
    expect(admitted, statuses.join(' ')).toBeLessThanOrEqual(6 + slack);
  });

  it('Redis slow or down mid-run: the replica reserves locally, counted, and shares the limit again when Redis is back', async () => {
    const first = await call(c, 2000);
    expect(first.status).toBe(200);
    expect(fallbacks(c)).toBe(0);
    const metric = async () =>
      sampleValue(
        parsePrometheus(
          await (await request(`${c.url}/metrics`, { headers: { authorization: 'Bearer tpm-key' } })).body.text(),
        ),
        'junction_dropped_total',
        {
          sink: 'token-limit-redis',
        },
      );

    // Slow: Redis does not answer within 100 ms; the call waits that long, no more, and is served.
    proxy.stalled = true;
    const started = performance.now();
    expect((await call(c, 100)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(fallbacks(c)).toBe(1);

    // Down: the local limit (a whole minute of its own) answers and refuses past it.
    await proxy.cut();
    proxy.stalled = false;
    expect((await call(c, 2800)).status).toBe(200);
    const over = await call(c, 2800);
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect(fallbacks(c)).toBe(3);
    expect(await metric()).toBe(3);

    // Back: the shared limit again, which still holds the first call's reservation (~2,000 of
    // 3,000; the local one has ~100 left). 50 tokens a second come back meanwhile.
    await proxy.restore();
    await expect
      .poll(
        async () => {
          const before = fallbacks(c);
          const r = await call(c, 10);
          return fallbacks(c) === before ? r : undefined;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBeDefined();
    const shared = await call(c, 100);
    expect(shared.status).toBe(200);
    expect(shared.remaining).toBeGreaterThan(500);
    expect(shared.remaining).toBeLessThan(1300);
  });
});
