import { describe, expect, it } from 'vitest';
import { ResponseCache, type CachedReply, type SharedHit, type SharedTier } from './cache-store.js';
import { recordTelemetry } from '../../test/support/telemetry.js';

const reply = (bytes: number, text = 'x'): CachedReply => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: Buffer.alloc(bytes, text),
});

/** A clock the test moves. */
function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('response cache store', () => {
  it('evicts the least recently used entries once its bytes pass the bound, and reports what it holds', () => {
    const telemetry = recordTelemetry();
    const cache = new ResponseCache({ maxBytes: 3 * 1400, telemetry: telemetry.sink });
    cache.set('a', reply(1000), 60_000);
    cache.set('b', reply(1000), 60_000);
    cache.set('c', reply(1000), 60_000);
    expect(cache.get('a')).toBeDefined(); // a is now the most recently used: b goes first
    cache.set('d', reply(1000), 60_000);
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k) !== undefined)).toEqual([true, true, true]);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    // One larger entry pushes out as many as it needs.
    cache.set('e', reply(2500), 60_000);
    expect(cache.size).toBe(2);
    expect(cache.get('e')).toBeDefined();
    const reported = telemetry.events.filter(([kind]) => kind === 'cacheBytes');
    expect(reported.at(-1)).toEqual(['cacheBytes', cache.bytes]);
  });

  it('never keeps an answer larger than the whole bound, and replacing a key frees its old bytes', () => {
    const cache = new ResponseCache({ maxBytes: 2000 });
    cache.set('big', reply(5000), 60_000);
    expect(cache.get('big')).toBeUndefined();
    expect(cache.bytes).toBe(0);
    cache.set('k', reply(1000), 60_000);
    const once = cache.bytes;
    cache.set('k', reply(1000, 'y'), 60_000);
    expect(cache.bytes).toBe(once);
    expect((cache.get('k') as CachedReply).body.toString()).toBe('y'.repeat(1000));
  });

  it('expires entries at their ttl, on its own clock', () => {
    const c = clock();
    const cache = new ResponseCache({ now: c.now });
    cache.set('k', reply(10), 500);
    c.advance(499);
    expect(cache.get('k')).toBeDefined();
    c.advance(1);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('asks the shared tier on a local miss and keeps its answer until the shared entry expires', async () => {
    const c = clock();
    const asked: string[] = [];
    const written: Array<[string, number]> = [];
    const shared: SharedTier = {
      get: async (key): Promise<SharedHit | undefined> => {
        asked.push(key);
        return key === 'there' ? { reply: reply(10, 's'), ageMs: 2_000, ttlMs: 300 } : undefined;
      },
      set: async (key, _r, ttl) => {
        written.push([key, ttl]);
      },
      close: async () => undefined,
    };
    const cache = new ResponseCache({ now: c.now, shared });
    expect(await cache.get('absent')).toBeUndefined();
    const adopted = await cache.get('there');
    expect(adopted?.body.toString()).toBe('s'.repeat(10));
    expect(cache.ageMs(adopted!)).toBe(2_000);
    expect(cache.get('there')).not.toBeInstanceOf(Promise); // now local
    c.advance(300);
    expect(cache.get('there')).toBeInstanceOf(Promise); // expired locally: asked again
    cache.set('new', reply(1), 1234);
    await cache.settled();
    expect(written).toEqual([['new', 1234]]);
    expect(asked).toEqual(['absent', 'there', 'there']);
  });
});
