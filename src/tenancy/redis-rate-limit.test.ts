// Real Redis (REDIS_URL, default redis://127.0.0.1:6379). Skipped with a reason
// when absent, unless JUNCTION_REQUIRE_SERVICES=1.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL as url, redisAvailable, redisSuite } from '../../test/support/redis.js';
import { RedisRateLimiter } from './redis-rate-limit.js';

const available = await redisAvailable();

describe.skipIf(!available)(redisSuite(available, 'Redis GCRA rate limit'), () => {
  const limiters: RedisRateLimiter[] = [];
  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.close()));
  });
  const limiter = async (prefix = `test:${randomUUID()}:`) => {
    const l = new RedisRateLimiter(url, { prefix });
    limiters.push(l);
    await l.ready();
    return l;
  };

  it('two limiters on one Redis share one limit', async () => {
    const prefix = `test:${randomUUID()}:`;
    const [a, b] = [await limiter(prefix), await limiter(prefix)];
    const limit = { rps: 1, burst: 4 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await (i % 2 ? a : b).take('c', limit)).allowed);
    expect(results).toEqual([true, true, true, true]);
    const refused = await a.take('c', limit);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(1);
    expect((await b.take('c', limit)).allowed).toBe(false);
    expect((await b.take('other', limit)).allowed).toBe(true);
  });

  it('a cost takes that many units at once, all or none, on the shared limit', async () => {
    const prefix = `test:${randomUUID()}:`;
    const [a, b] = [await limiter(prefix), await limiter(prefix)];
    const limit = { rps: 0.001, burst: 5 }; // no unit comes back during the test
    expect((await a.take('c', limit, 3)).allowed).toBe(true);
    const refused = await b.take('c', limit, 3);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(900); // one unit at 0.001/s: ~1000 s
    expect((await b.take('c', limit, 2)).allowed).toBe(true); // the refusal took nothing
    expect((await a.take('c', limit)).allowed).toBe(false);
    expect(await a.take('d', limit, 6)).toEqual({ allowed: false, retryAfterSeconds: Infinity });
    expect((await a.take('d', limit, 5)).allowed).toBe(true);
  });

  it('falls back to the local limit, counted, when Redis is unreachable', async () => {
    const down = new RedisRateLimiter('redis://127.0.0.1:1', { timeoutMs: 50 });
    limiters.push(down);
    const limit = { rps: 1, burst: 2 };
    expect((await down.take('c', limit)).allowed).toBe(true);
    expect((await down.take('c', limit)).allowed).toBe(true);
    expect((await down.take('c', limit)).allowed).toBe(false);
    expect(down.fallbacks).toBe(3);
  });
});
