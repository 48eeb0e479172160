// Tokens per minute shared by every replica: the GCRA of token-limiter.ts
// kept in Redis, one TAT per limit (`c:<client>`, `o:<objective>`), reserved
// and settled by two Lua scripts that run atomically on Redis's clock, so
// replicas need no clock agreement and two racing replicas cannot both take
// the last tokens. Busy limits are answered from leases (token-lease.ts):
// tokens reserved in Redis ahead of the calls, so most admissions make no
// round trip; a call a lease cannot cover makes one, as does a limit too small
// to lease. Settling goes into the lease, or is sent and not waited for.
//
// When Redis cannot answer within the timeout (down, slow, unreachable), the
// replica reserves from its local limiter instead and counts it
// (junction_dropped_total{sink="token-limit-redis"}), as request limits do: no
// request waits on, or fails because of, Redis; during the outage each replica
// allows the whole limit, so N replicas may pass N × tpm. A settlement Redis
// does not take is counted and dropped: the reservation stays as made.
import { Redis } from 'ioredis';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import { performance } from 'node:perf_hooks';
import { LEASE_FLUSH_MS, TokenLeases } from './token-lease.js';
import { LocalTokenLimiter, type TokenDecision, type TokenLimit, type TokenLimiter } from './token-limiter.js';

// KEYS: one per limit; ARGV[1] tokens; ARGV[1 + i] the tpm of KEYS[i]. All or
// none: refused when any limit would run more than the window ahead of now.
// Returns {allowed, wait µs, backlog µs of each limit after the decision};
// numbers go back as strings, as Lua numbers would be cut to integers.
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = 60000000
local tokens = tonumber(ARGV[1])
local tats, costs = {}, {}
local wait = 0
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  costs[i] = tokens * window / tonumber(ARGV[i + 1])
  local over = tat + costs[i] - now - window
  if over > 0.001 and over > wait then wait = over end
end
local out = {0, string.format('%.3f', wait)}
if wait > 0 then
  for i = 1, #KEYS do out[2 + i] = string.format('%.3f', tats[i] - now) end
  return out
end
out[1] = 1
for i = 1, #KEYS do
  local tat = math.min(tats[i] + costs[i], now + window)
  if tat > now then
    redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
  end
  out[2 + i] = string.format('%.3f', tat - now)
end
return out
`;

// KEYS: the limits of one reservation; ARGV[1] tokens to take (positive) or
// give back (negative); ARGV[1 + i] the tpm of KEYS[i]. Never past a full
// bucket (TAT below now) nor an empty one (TAT a window ahead).
const SETTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = 60000000
local delta = tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tat = math.min(tat + delta * window / tonumber(ARGV[i + 1]), now + window)
  if tat <= now then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
  end
end
return 1
`;

export interface RedisTokenLimiterOptions {
  /** Longest a request waits for Redis before using the local limit instead. */
  timeoutMs?: number;
  prefix?: string;
  /** Called when Redis stops answering (once per outage, not per request). */
  onFallback?: (err: unknown) => void;
  /** Counts each reservation made locally, and each settlement lost, because Redis did not answer. */
  telemetry?: Telemetry;
  /** The clock leases expire on (µs); injected by tests. */
  now?: () => number;
}

/** The sink label of what this limiter counts in junction_dropped_total. */
export const TOKEN_LIMIT_REDIS = 'token-limit-redis';

export class RedisTokenLimiter implements TokenLimiter {
  /** Reservations made locally because Redis did not answer. */
  fallbacks = 0;
  /** Settlements Redis did not take (dropped: the reservation stays as made). */
  lostSettlements = 0;
  private degraded = false;
  private readonly redis: Redis;
  private readonly local = new LocalTokenLimiter();
  private readonly prefix: string;
  private readonly telemetry: Telemetry;
  private readonly leases: TokenLeases;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly opts: RedisTokenLimiterOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'junction:tpm:';
    this.telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.redis = new Redis(url, {
      // Fail fast instead of queueing commands while disconnected: the local limit answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 100,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on('error', () => undefined); // reconnects on its own; failures are counted per request
    this.redis.defineCommand('junctionTpmReserve', { lua: RESERVE });
    this.redis.defineCommand('junctionTpmSettle', { lua: SETTLE });
    this.leases = new TokenLeases(
      {
        reserve: (limits, tokens) => this.reserveInRedis(limits, tokens),
        settle: (limits, delta) => this.settleInRedis(limits, delta),
      },
      opts.now ?? (() => performance.now() * 1000),
    );
    this.flushTimer = setInterval(() => this.leases.flush(), LEASE_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Resolves once connected (tests, and `serve` startup diagnostics). */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.redis.once('ready', () => resolve());
      this.redis.once('end', () => reject(new Error('redis connection ended')));
    });
  }

  /** From a lease when one covers the call (no round trip), else from Redis. */
  reserve(limits: readonly TokenLimit[], tokens: number): TokenDecision | Promise<TokenDecision> {
    return this.leases.take(limits, tokens) ?? this.reserveShared(limits, tokens);
  }

  /** Held in leases for a limit now (tests). */
  leased(key: string): number {
    return this.leases.held(key);
  }

  /** Retires expired leases and returns excess now, as the timer does (tests). */
  flushLeases(): void {
    this.leases.flush();
  }

  private async reserveShared(limits: readonly TokenLimit[], tokens: number): Promise<TokenDecision> {
    try {
      const d = await this.reserveInRedis(limits, tokens);
      this.degraded = false;
      this.leases.admittedShared(limits, tokens, d);
      return d;
    } catch (err) {
      this.fallbacks++;
      this.telemetry.dropped(TOKEN_LIMIT_REDIS);
      if (!this.degraded) this.opts.onFallback?.(err);
      this.degraded = true;
      return this.local.reserve(limits, tokens);
    }
  }

  settle(limits: readonly TokenLimit[], delta: number, where: TokenDecision['where']): void {
    if (where === 'local') return this.local.settle(limits, delta);
    this.leases.settle(limits, delta);
  }

  private async reserveInRedis(limits: readonly TokenLimit[], tokens: number): Promise<TokenDecision> {
    const out = await (this.redis as unknown as Scripts).junctionTpmReserve(
      limits.length,
      ...limits.map((l) => this.prefix + l.key),
      tokens,
      ...limits.map((l) => l.tpm),
    );
    return {
      allowed: out[0] === 1,
      retryAfterSeconds: Number(out[1]) / 1e6,
      backlogs: out.slice(2).map(Number),
      where: 'redis',
    };
  }

  private settleInRedis(limits: readonly TokenLimit[], delta: number): void {
    (this.redis as unknown as Scripts)
      .junctionTpmSettle(limits.length, ...limits.map((l) => this.prefix + l.key), delta, ...limits.map((l) => l.tpm))
      .catch(() => {
        this.lostSettlements++;
        this.telemetry.dropped(TOKEN_LIMIT_REDIS);
      });
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.leases.retireAll(); // what leases hold goes back, if Redis takes it before the connection closes
    if (this.redis.status === 'ready') await this.redis.ping().catch(() => undefined);
    this.redis.disconnect();
    await this.local.close();
  }
}

interface Scripts {
  junctionTpmReserve(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<[number, ...string[]]>;
  junctionTpmSettle(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
}
