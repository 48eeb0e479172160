// A local token bucket: `burst` tokens, refilled at `rps` per second. The
// clock is injected so tests can move time instead of sleeping.
import { performance } from 'node:perf_hooks';

export interface RateLimit {
  rps: number;
  /** Largest burst; default max(1, rps). */
  burst?: number | undefined;
}

export interface RateDecision {
  allowed: boolean;
  /** When refused: seconds until the units asked for would be allowed (Infinity: more than the burst, never). */
  retryAfterSeconds: number;
}

export const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterSeconds: 0 });

export function burstOf(limit: RateLimit): number {
  return limit.burst ?? Math.max(1, limit.rps);
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.burst = burstOf(limit);
    this.tokens = this.burst;
    this.last = now();
  }

  /**
   * Takes `cost` tokens (a request is 1; each item of a batch is one), all or
   * none: a refused take leaves the bucket as it was. A cost above the burst
   * never fits (retryAfterSeconds: Infinity).
   */
  take(cost = 1): RateDecision {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.limit.rps);
    this.last = now;
    if (cost <= 0) return ALLOWED;
    if (cost > this.burst) return { allowed: false, retryAfterSeconds: Infinity };
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: (cost - this.tokens) / this.limit.rps };
  }
}
