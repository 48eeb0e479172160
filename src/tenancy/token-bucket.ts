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
  /** When refused: seconds until one request would be allowed. */
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

  take(): RateDecision {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.limit.rps);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterSeconds: (1 - this.tokens) / this.limit.rps };
  }
}
