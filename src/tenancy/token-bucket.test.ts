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
});
