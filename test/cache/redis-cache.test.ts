// The response cache's shared tier on a real Redis: two replicas share
// answers; a value that is not what its key says is never served; Redis down
// or slow never fails a call (each replica answers from its own tier, counted).
// The Redis part is skipped with a reason when Redis is absent (failed under
// JUNCTION_REQUIRE_SERVICES=1); the down and slow cases need no Redis.
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction, type JunctionOptions } from '../../src/app.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { encode, type RedisCacheTier } from '../../src/policy/cache-redis.js';
import { REDIS_URL, redisAvailable, redisSuite } from '../support/redis.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const available = await redisAvailable();

/** An upstream whose every answer is new (it counts its calls): a shared hit is told by its bytes. */
async function counting(): Promise<Upstream> {
  const up = await startUpstream('counting');
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ n: up.received.length }));
  });
  return up;
}

function config(url: string): ConfigInput {
  return {
    models: { m: { versions: { '1': { backend: { type: 'http', protocol: 'raw', endpoints: [url] } } } } },
    objectives: { obj: { interface: 'json', default: 'm@1', cache: { ttlSeconds: 60, cacheable: true } } },
  };
}

async function call(j: Junction, body: unknown): Promise<{ status: number; cache: unknown; text: string; ms: number }> {
  const start = performance.now();
  const res = await request(`${j.url}/v1/objectives/obj`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, cache: res.headers['x-cache'], text, ms: performance.now() - start };
}

async function dropped(j: Junction, sink: string): Promise<number> {
  const text = await (await request(`${j.url}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`junction_dropped_total{sink="${sink}"} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

const tier = (j: Junction) => j.runtime.responses.shared as RedisCacheTier;

describe.skipIf(!available)(redisSuite(available, 'response cache shared by two replicas on Redis'), () => {
  let up: Upstream;
  let one: Junction;
  let two: Junction;
  let redis: Redis;
  // A fresh prefix per run: entries outlive the test by their TTL.
  const prefix = `junction:test-cache:${randomUUID()}:`;
  let opts: JunctionOptions;

  beforeAll(async () => {
    up = await counting();
    redis = new Redis(REDIS_URL);
    opts = { port: 0, config: config(up.url), redis: REDIS_URL, responseCache: { redisPrefix: prefix } };
    one = await startJunction(opts);
    two = await startJunction(opts);
    await Promise.all([tier(one).ready(), tier(two).ready()]);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await Promise.all([one?.close(), two?.close(), up?.close()]);
  });

  it('an answer one replica stored is a hit on the other', async () => {
    const first = await call(one, { q: 'shared' });
    await one.runtime.responses.settled(); // its write to Redis has landed
    const second = await call(two, { q: 'shared' });
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.text).toBe(first.text);
    expect(up.received.length).toBe(1);
    // The entry carries its TTL in Redis.
    const [key] = await redis.keys(`${prefix}*`);
    expect(await redis.pttl(key!)).toBeGreaterThan(50_000);
    expect(tier(one).fallbacks + tier(two).fallbacks).toBe(0);
  });

  it('a Redis value that is not the one its key names is never served', async () => {
    const body = { q: 'tampered' };
    await call(one, body);
    await one.runtime.responses.settled();
    const keys = await redis.keys(`${prefix}*`);
    // Every entry rewritten as if written under another key, with another answer.
    for (const k of keys) {
      await redis.set(
        k,
        encode('not-this-key', {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"n":-1}'),
        }),
        'PX',
        60_000,
      );
    }
    const fresh = await startJunction(opts); // nothing in its own tier: it asks Redis
    try {
      await tier(fresh).ready();
      const r = await call(fresh, body);
      expect(r.cache).toBe('miss');
      expect(r.text).not.toContain('-1');
      expect(tier(fresh).invalid).toBe(1);
      expect(await dropped(fresh, 'cache-redis-invalid')).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});

describe('response cache with Redis down or slow', () => {
  let up: Upstream;
  let stalled: Server;
  let stalledUrl: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    up = await counting();
    // Answers ioredis's handshake (CLIENT SETINFO, the INFO ready check) in order, then never
    // another command: a Redis that is connected and hangs.
    stalled = createServer((socket) => {
      sockets.add(socket);
      let hung = false;
      socket.on('data', (data) => {
        for (const command of data
          .toString()
          .split(/\*\d+\r\n/)
          .slice(1)) {
          if (hung) return;
          if (/setinfo/i.test(command)) socket.write('+OK\r\n');
          else if (/^\$4\r\ninfo/i.test(command)) {
            const info = '# Server\r\nloading:0\r\n';
            socket.write(`$${info.length}\r\n${info}\r\n`);
          } else hung = true;
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    stalledUrl = `redis://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await up?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => stalled.close(() => r()));
  });

  it('Redis down: every call answers, cached by the replica alone, and the fallback is counted', async () => {
    const j = await startJunction({ port: 0, config: config(up.url), redis: 'redis://127.0.0.1:1' });
    try {
      const first = await call(j, { q: 'down' });
      const second = await call(j, { q: 'down' });
      expect([first.status, first.cache, second.status, second.cache]).toEqual([200, 'miss', 200, 'hit']);
      expect(await dropped(j, 'cache-redis')).toBeGreaterThanOrEqual(1);
    } finally {
      await j.close();
    }
  });

  it('Redis slow: a call waits no longer than the tier’s timeout, then answers from the replica alone', async () => {
    const j = await startJunction({
      port: 0,
      config: config(up.url),
      redis: stalledUrl,
      responseCache: { redisTimeoutMs: 50 },
    });
    try {
      await tier(j).ready();
      const first = await call(j, { q: 'slow' });
      const second = await call(j, { q: 'slow' });
      expect([first.status, first.cache, second.cache]).toEqual([200, 'miss', 'hit']);
      // It did wait on Redis (connected, not answering), but not past its timeouts: the cache's 50 ms,
      // the rate and token limits' 100 ms each on the same Redis.
      expect(first.ms).toBeGreaterThanOrEqual(50);
      expect(first.ms).toBeLessThan(2_000);
      expect(tier(j).fallbacks).toBeGreaterThanOrEqual(1);
    } finally {
      await j.close();
    }
  });
});
