// Real Redis (REDIS_URL, default redis://127.0.0.1:6379). Skipped with a reason
// when absent, unless JUNCTION_REQUIRE_SERVICES=1.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL as url, redisAvailable, redisSuite } from '../../test/support/redis.js';
import { RedisTokenLimiter } from './redis-token-limit.js';
import { remainingOf, type TokenLimit } from './token-limiter.js';

const available = await redisAvailable();

describe.skipIf(!available)(redisSuite(available, 'Redis token limit (GCRA over a minute)'), () => {
  const limiters: RedisTokenLimiter[] = [];
  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.close()));
  });
  const limiter = async (prefix: string) => {
    const l = new RedisTokenLimiter(url, { prefix });
    limiters.push(l);
    await l.ready();
    return l;
  };
  const client: TokenLimit = { key: 'c:a', tpm: 600 }; // 10 tokens a second come back
  const objective: TokenLimit = { key: 'o:chat', tpm: 1000 };

  it('two limiters on one Redis share one limit, all or none across a client and an objective', async () => {
    const prefix = `test:${randomUUID()}:`;
    const [a, b] = [await limiter(prefix), await limiter(prefix)];
    const first = await a.reserve([client, objective], 500);
    expect(first.allowed).toBe(true);
    expect(first.where).toBe('redis');
    expect(remainingOf(client, first.backlogs[0]!)).toBeLessThanOrEqual(100);
    expect(remainingOf(objective, first.backlogs[1]!)).toBeLessThanOrEqual(500);
    const refused = await b.reserve([client, objective], 200);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(9); // ~100 tokens short at 10/s
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(10);
    // The refusal took nothing: the objective still has its 500 for another client.
    expect((await b.reserve([{ key: 'c:b', tpm: 600 }, objective], 490)).allowed).toBe(true);
  });

  it('settling gives tokens back and takes more, never past full or empty', async () => {
    const prefix = `test:${randomUUID()}:`;
    const l = await limiter(prefix);
    const d = await l.reserve([client], 600);
    expect(remainingOf(client, d.backlogs[0]!)).toBe(0);
    l.settle([client], -500, 'redis');
    await expect
      .poll(async () => remainingOf(client, (await l.reserve([client], 0)).backlogs[0]!))
      .toBeGreaterThanOrEqual(500);
    l.settle([client], -1e9, 'redis');
    await expect.poll(async () => remainingOf(client, (await l.reserve([client], 0)).backlogs[0]!)).toBe(600);
    l.settle([client], 1e12, 'redis');
    await expect.poll(async () => (await l.reserve([client], 1)).allowed).toBe(false);
    const empty = await l.reserve([client], 1);
    expect(empty.retryAfterSeconds).toBeLessThanOrEqual(0.1); // empty, not in debt: one token is 0.1 s away
  });

  it('reserves locally, counted, when Redis is unreachable', async () => {
    const down = new RedisTokenLimiter('redis://127.0.0.1:1', { timeoutMs: 50 });
    limiters.push(down);
    expect((await down.reserve([client], 400)).where).toBe('local');
    expect((await down.reserve([client], 200)).allowed).toBe(true);
    expect((await down.reserve([client], 200)).allowed).toBe(false);
    expect(down.fallbacks).toBe(3);
    down.settle([client], -400, 'local'); // a local reservation settles locally
    expect((await down.reserve([client], 200)).allowed).toBe(true);
    down.settle([client], -1, 'redis'); // a settlement Redis does not take is counted, not thrown
    await expect.poll(() => down.lostSettlements).toBe(1);
  });
});
