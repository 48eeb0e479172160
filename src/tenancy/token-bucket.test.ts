import { describe, expect, it } from 'vitest';
import { LocalRateLimiter } from './rate-limits.js';
import { TokenBucket } from './token-bucket.js';

describe('token bucket', () => {
  it('allows a burst, then refills at rps on the injected clock', () => {
    let now = 0;
    const b = new TokenBucket({ rps: 10, burst: 3 }, () => now);
    expect([b.take(), b.take(), b.take()].every((d) => d.allowed)).toBe(true);
    const refused = b.take();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(0.1);
    now += 100;
    expect(b.take().allowed).toBe(true);
    expect(b.take().allowed).toBe(false);
  });

  it('the burst defaults to the rate (at least one)', () => {
    const b = new TokenBucket({ rps: 0.5 }, () => 0);
    expect(b.take().allowed).toBe(true);
    expect(b.take().allowed).toBe(false);
  });

  it('the local limiter keeps one bucket per client and starts afresh when the limit changes', () => {
    const l = new LocalRateLimiter(() => 0);
    expect(l.take('a', { rps: 1 }).allowed).toBe(true);
    expect(l.take('a', { rps: 1 }).allowed).toBe(false);
    expect(l.take('b', { rps: 1 }).allowed).toBe(true);
    expect(l.take('a', { rps: 2 }).allowed).toBe(true);
  });

  it('a cost takes that many tokens at once, all or none; more than the burst never fits', () => {
    let now = 0;
    const b = new TokenBucket({ rps: 10, burst: 5 }, () => now);
    expect(b.take(3).allowed).toBe(true);
    const refused = b.take(3);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(0.1); // 2 left, 1 more needed at 10/s
    expect(b.take(2).allowed).toBe(true); // the refusal took nothing
    expect(b.take(6)).toEqual({ allowed: false, retryAfterSeconds: Infinity });
    now += 500;
    expect(b.take(5).allowed).toBe(true);
    const l = new LocalRateLimiter(() => 0);
    expect(l.take('a', { rps: 1, burst: 1 }, 2).allowed).toBe(false);
    expect(l.take('a', { rps: 1, burst: 1 }).allowed).toBe(true);
  });
});
