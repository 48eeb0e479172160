// Per-client rate limits. Locally a token bucket per client; the Redis
// limiter (redis-rate-limit.ts) shares one limit across replicas.
import { TokenBucket, type RateDecision, type RateLimit } from './token-bucket.js';

export interface RateLimiter {
  /** Takes `cost` units (default 1) of the client's limit, all or none. */
  take(client: string, limit: RateLimit, cost?: number): RateDecision | Promise<RateDecision>;
  close(): Promise<void>;
}

export class LocalRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { rps: number; burst: number | undefined; bucket: TokenBucket }>();

  constructor(private readonly now?: () => number) {}

  take(client: string, limit: RateLimit, cost = 1): RateDecision {
    let entry = this.buckets.get(client);
    // A new config revision may change the limit: start a fresh bucket then.
    if (entry === undefined || entry.rps !== limit.rps || entry.burst !== limit.burst) {
      entry = { rps: limit.rps, burst: limit.burst, bucket: new TokenBucket(limit, this.now) };
      this.buckets.set(client, entry);
    }
    return entry.bucket.take(cost);
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}
