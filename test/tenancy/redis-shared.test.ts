// Two Junction replicas on one real Redis share each client's rate limit.
// Skipped with a reason when Redis is absent (failed under JUNCTION_REQUIRE_SERVICES=1).
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import type { RedisRateLimiter } from '../../src/tenancy/redis-rate-limit.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { oneObjective } from '../support/configs.js';
import { REDIS_URL, redisAvailable, redisSuite } from '../support/redis.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const available = await redisAvailable();

describe.skipIf(!available)(redisSuite(available, 'rate limits shared by two replicas on Redis'), () => {
  let upstream: Upstream;
  let a: Junction;
  let b: Junction;
  // A fresh client name per run: the limit's Redis key outlives the test by up to one refill.
  const client = `tenant-${randomUUID()}`;

  beforeAll(async () => {
    upstream = await startUpstream('up');
    const config = oneObjective(
      { 'm@1': [upstream.url] },
      { default: 'm@1' },
      {
        clients: { [client]: { keySha256: keyDigest('shared-key'), rateLimit: { rps: 0.2, burst: 6 } } },
      },
    );
    a = await startJunction({ config, port: 0, redis: REDIS_URL });
    b = await startJunction({ config, port: 0, redis: REDIS_URL });
    await Promise.all([(a.rateLimiter as RedisRateLimiter).ready(), (b.rateLimiter as RedisRateLimiter).ready()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), upstream?.close()]);
  });

  const call = (j: Junction) =>
    request(`${j.url}/v1/objectives/obj`, {
      method: 'POST',
      headers: { authorization: 'Bearer shared-key' },
      body: '{}',
    }).then(async (r) => {
      await r.body.dump();
      return r.statusCode;
    });

  it('a burst of 6 is shared: 3 + 3 across the replicas, then both refuse', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await call(i % 2 ? a : b));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await call(a)).toBe(429);
    expect(await call(b)).toBe(429);
    expect((a.rateLimiter as RedisRateLimiter).fallbacks + (b.rateLimiter as RedisRateLimiter).fallbacks).toBe(0);
  });

  it('concurrent calls on both replicas never exceed the shared burst', async () => {
    const name = `tenant-${randomUUID()}`;
    const config = oneObjective(
      { 'm@1': [upstream.url] },
      { default: 'm@1' },
      {
        clients: { [name]: { keySha256: keyDigest('k2'), rateLimit: { rps: 0.2, burst: 10 } } },
      },
    );
    for (const j of [a, b]) await j.runtime.apply(validateConfig(config), { number: 2, source: config, baseDir: '.' });
    const send = (j: Junction) =>
      request(`${j.url}/v1/objectives/obj`, {
        method: 'POST',
        headers: { authorization: 'Bearer k2' },
        body: '{}',
      }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i % 2 ? a : b)));
    expect(statuses.filter((s) => s === 200).length).toBe(10);
    expect(statuses.filter((s) => s === 429).length).toBe(30);
  });
});

describe('Redis unreachable', () => {
  it('falls back to the local limit per replica and keeps serving', async () => {
    const upstream = await startUpstream('up');
    const config = oneObjective(
      { 'm@1': [upstream.url] },
      { default: 'm@1' },
      {
        clients: { c: { keySha256: keyDigest('k'), rateLimit: { rps: 0.2, burst: 2 } } },
      },
    );
    const j = await startJunction({ config, port: 0, redis: 'redis://127.0.0.1:1' });
    const call = () =>
      request(`${j.url}/v1/objectives/obj`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
        body: '{}',
      }).then(async (r) => {
        await r.body.dump();
        return r.statusCode;
      });
    expect([await call(), await call(), await call()]).toEqual([200, 200, 429]);
    expect((j.rateLimiter as RedisRateLimiter).fallbacks).toBe(3);
    await j.close();
    await upstream.close();
  });
});
