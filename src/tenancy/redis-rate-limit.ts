// A rate limit shared by every replica: GCRA (the generic cell rate
// algorithm) kept in Redis as one "theoretical arrival time" per client,
// updated atomically by a Lua script on Redis's own clock, so replicas need
// no clock agreement. One round trip per request, one key per client.
//
// When Redis cannot answer (down, slow, unreachable), each replica falls back
// to its local token bucket with the same limit and counts it: availability
// over strictness — during the outage a client may get up to N × its limit
// across N replicas, but no request waits on, or fails because of, Redis.
import { Redis } from 'ioredis';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { LocalRateLimiter, type RateLimiter } from './rate-limits.js';
import { ALLOWED, burstOf, type RateDecision, type RateLimit } from './token-bucket.js';

// KEYS[1] the client's key; ARGV[1] emission interval T (µs); ARGV[2] burst B;
// ARGV[3] cost C (units taken at once: a batch's items). Allowed when the new
// arrival time, C × T later, is within B × T of now; a refusal changes nothing.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local limit = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local newtat = tat + interval * tonumber(ARGV[3])
if newtat - now > limit then
  return {0, newtat - now - limit}
end
redis.call('SET', KEYS[1], newtat, 'PX', math.ceil((newtat - now) / 1000) + 1)
return {1, 0}
`;

export interface RedisRateLimiterOptions {
  /** Longest a request waits for Redis before using the local limit instead. */
  timeoutMs?: number;
  prefix?: string;
  /** Called when Redis stops answering (once per outage, not per request). */
  onFallback?: (err: unknown) => void;
  /** Counts each request that used the local limit instead (the Junction's sink). */
  telemetry?: Telemetry;
}

export class RedisRateLimiter implements RateLimiter {
  /** Requests limited locally because Redis did not answer. */
  fallbacks = 0;
  private degraded = false;
  private readonly redis: Redis;
  private readonly local = new LocalRateLimiter();
  private readonly prefix: string;

  constructor(
    url: string,
    private readonly opts: RedisRateLimiterOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'junction:rl:';
    this.redis = new Redis(url, {
      // Fail fast instead of queueing commands while disconnected: the local limit answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 100,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on('error', () => undefined); // reconnects on its own; failures are counted per request
    this.redis.defineCommand('junctionGcra', { numberOfKeys: 1, lua: GCRA });
  }

  /** Resolves once connected (tests, and `serve` startup diagnostics). */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.redis.once('ready', () => resolve());
      this.redis.once('end', () => reject(new Error('redis connection ended')));
    });
  }

  async take(client: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    if (cost <= 0) return ALLOWED;
    // More than the burst never fits: no round trip to learn it.
    if (cost > burstOf(limit)) return { allowed: false, retryAfterSeconds: Infinity };
    const interval = Math.max(1, Math.round(1_000_000 / limit.rps));
    try {
      const [allowed, waitMicros] = await (this.redis as unknown as Gcra).junctionGcra(
        this.prefix + client,
        interval,
        burstOf(limit),
        Math.ceil(cost),
      );
      this.degraded = false;
      return allowed === 1 ? ALLOWED : { allowed: false, retryAfterSeconds: waitMicros / 1_000_000 };
    } catch (err) {
      this.fallbacks++;
      (this.opts.telemetry ?? NO_TELEMETRY).dropped('rate-limit-redis');
      if (!this.degraded) this.opts.onFallback?.(err);
      this.degraded = true;
      return this.local.take(client, limit, cost);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.local.close();
  }
}

interface Gcra {
  junctionGcra(key: string, intervalMicros: number, burst: number, cost: number): Promise<[number, number]>;
}
