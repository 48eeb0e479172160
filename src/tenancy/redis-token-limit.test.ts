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

  it('a busy limit is answered from leases without a round trip; replicas together never pass the limit, and closing gives leases back', async () => {
    const prefix = `test:${randomUUID()}:`;
    const [a, b] = [await limiter(prefix), await limiter(prefix)];
    const busy: TokenLimit = { key: 'c:busy', tpm: 200_000 }; // leases of 10,000: ten calls of 1,000
    expect(await a.reserve([busy], 1000)).toMatchObject({ allowed: true, where: 'redis' });
    await expect.poll(() => a.leased(busy.key)).toBe(10_000);
    const leased = a.reserve([busy], 1000);
    expect(leased).not.toBeInstanceOf(Promise); // answered in this turn: no Redis round trip
    expect(leased).toMatchObject({ allowed: true, where: 'lease' });
    let admitted = 2000;
    for (let refusedBoth = false; !refusedBoth;) {
      const [x, y] = await Promise.all([a.reserve([busy], 1000), b.reserve([busy], 1000)]);
      admitted += (x.allowed ? 1000 : 0) + (y.allowed ? 1000 : 0);
      refusedBoth = !x.allowed && !y.allowed && x.where === 'redis' && y.where === 'redis';
    }
    // Every admitted token was reserved in Redis (the limit refills ~3,333 a second while this runs).
    expect(admitted).toBeLessThanOrEqual(busy.tpm + 10_000);
    expect(admitted).toBeGreaterThanOrEqual(busy.tpm - 2 * 20_000); // at most two leases' worth held back
    const held = a.leased(busy.key) + b.leased(busy.key);
    await a.close();
    await b.close();
    const c = await limiter(prefix);
    const after = await c.reserve([busy], 0);
    expect(remainingOf(busy, after.backlogs[0]!)).toBeGreaterThanOrEqual(held); // what leases held came back
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
