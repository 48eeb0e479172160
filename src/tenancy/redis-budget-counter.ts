// Budget counters shared by every replica (serve --redis): one Redis key per
// budget and window, `<prefix><budget>:<window>`, added to with INCRBYFLOAT
// and kept a day past the window's end. A key Redis does not have (a new
// window, a restart of Redis, a FLUSH) is started from the seed, the store's
// ledger summed over the window, with SET NX: replicas seeding at once agree.
//
// Admission reads a counter at most every `freshMs` (default 50 ms) and uses
// the value it read meanwhile, plus what this replica added since (an add
// answers the new total): a budget check then costs no round trip on a busy
// replica. So a replica may admit calls for up to `freshMs` after other
// replicas used the budget up; with the calls in flight when it ran out (they
// are counted when they end, whatever the count says then), that is the
// overshoot two racing replicas can make: the spend of the calls in flight
// plus `freshMs` of the other replicas' admissions.
//
// Redis down (or slower than the timeout): with `spend.onRedisDown: open` a
// local counter, seeded from the ledger, answers and counts meanwhile; with
// `closed` a budgeted call is refused (503, budgets.ts). Either way every
// fallback is counted (junction_dropped_total{sink="budget-redis"}), adds go
// to the local counter and are owed to Redis, sent once it answers again. In
// the open case each replica counts the outage's calls alone, so N replicas
// may together pass the budget by N − 1 times what each spends meanwhile.
import { Redis } from 'ioredis';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import {
  BudgetCountersDown,
  KEEP_PAST_END_MS,
  LocalBudgetCounter,
  type BudgetCounter,
  type CounterKey,
} from './budget-counter.js';

// KEYS[1] the counter; ARGV[1] the amount; ARGV[2] its time to live in ms;
// ARGV[3] the seed ('' when none was read: a missing key then answers nil and
// the caller reads the seed first).
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '' then return false end
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
end
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v
`;

// KEYS[1] the counter; ARGV[1] the seed; ARGV[2] its time to live in ms. The first seed wins.
const SEED = `
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return redis.call('GET', KEYS[1])
`;

/** The sink label of what this counter counts in junction_dropped_total. */
export const BUDGET_REDIS = 'budget-redis';

/** Owed adds kept while Redis is down (past it, the ledger's seed is what Redis will get). */
const MAX_OWED = 10_000;

export interface RedisBudgetCounterOptions {
  prefix?: string;
  /** Longest a call waits for Redis (default 100 ms). */
  timeoutMs?: number;
  /** How long a value read is used before it is read again (default 50 ms). */
  freshMs?: number;
  telemetry?: Telemetry;
  /** Called when Redis stops answering (once per outage). */
  onFallback?: (err: unknown) => void;
  onSeedError?: (err: unknown) => void;
  now?: () => number;
}

interface Scripts {
  junctionBudgetAdd(key: string, amount: number, ttlMs: number, seed: string): Promise<string | null>;
  junctionBudgetSeed(key: string, seed: number, ttlMs: number): Promise<string | null>;
}

export class RedisBudgetCounter implements BudgetCounter {
  /** Reads or adds answered locally because Redis did not. */
  fallbacks = 0;
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private local: LocalBudgetCounter;
  private readonly seen = new Map<string, { value: number; at: number }>();
  private readonly owed = new Map<string, { key: CounterKey; amount: number }>();
  private degraded = false;
  private readonly prefix: string;
  private readonly freshMs: number;
  private readonly telemetry: Telemetry;
  private readonly now: () => number;

  constructor(
    url: string,
    private readonly opts: RedisBudgetCounterOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'junction:budget:';
    this.freshMs = opts.freshMs ?? 50;
    this.telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.now = opts.now ?? Date.now;
    this.local = new LocalBudgetCounter(this.now, opts.onSeedError);
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs ?? 100,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on('error', () => undefined); // reconnects on its own; failures are counted per call
    this.redis.defineCommand('junctionBudgetAdd', { numberOfKeys: 1, lua: ADD });
    this.redis.defineCommand('junctionBudgetSeed', { numberOfKeys: 1, lua: SEED });
    this.scripts = this.redis as unknown as Scripts;
  }

  /** Resolves once connected (tests). */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.redis.once('ready', () => resolve());
      this.redis.once('end', () => reject(new Error('redis connection ended')));
    });
  }

  read(keys: readonly CounterKey[], onRedisDown: 'open' | 'closed'): number[] | Promise<number[]> {
    const now = this.now();
    let stale = false;
    const values = keys.map((k) => {
      const r = this.seen.get(k.id);
      if (r === undefined || now - r.at >= this.freshMs) stale = true;
      return r?.value ?? 0;
    });
    return stale ? this.readRedis(keys, onRedisDown) : values;
  }

  private async readRedis(keys: readonly CounterKey[], onRedisDown: 'open' | 'closed'): Promise<number[]> {
    let got: Array<string | null>;
    try {
      got = await this.redis.mget(...keys.map((k) => this.prefix + k.id));
    } catch (err) {
      this.fellBack(err);
      if (onRedisDown === 'closed') throw new BudgetCountersDown((err as Error).message);
      return this.local.read(keys);
    }
    this.recovered();
    const now = this.now();
    return Promise.all(
      keys.map(async (k, i) => {
        let value = got[i] === null || got[i] === undefined ? undefined : Number(got[i]);
        if (value === undefined) {
          const seed = await k.seed().catch((err: unknown) => {
            this.opts.onSeedError?.(err);
            return 0;
          });
          try {
            value = Number(await this.scripts.junctionBudgetSeed(this.prefix + k.id, seed, this.ttl(k)));
          } catch (err) {
            this.fellBack(err);
            if (onRedisDown === 'closed') throw new BudgetCountersDown((err as Error).message);
            value = seed;
          }
        }
        this.seen.set(k.id, { value, at: now });
        return value;
      }),
    );
  }

  add(key: CounterKey, amount: number): void {
    const cached = this.seen.get(key.id);
    if (cached !== undefined) cached.value += amount; // this replica's own calls count at once
    void this.send(key, amount);
  }

  private async send(key: CounterKey, amount: number): Promise<void> {
    try {
      let total = await this.scripts.junctionBudgetAdd(this.prefix + key.id, amount, this.ttl(key), '');
      if (total === null) {
        // Not in Redis (a new window, a restart, a FLUSH): the ledger's sum, then this call.
        const seed = await key.seed().catch((err: unknown) => {
          this.opts.onSeedError?.(err);
          return 0;
        });
        total = await this.scripts.junctionBudgetAdd(this.prefix + key.id, amount, this.ttl(key), String(seed));
      }
      this.seen.set(key.id, { value: Number(total), at: this.now() });
      this.recovered();
    } catch (err) {
      this.fellBack(err);
      this.local.add(key, amount);
      const owed = this.owed.get(key.id);
      if (owed !== undefined) owed.amount += amount;
      else if (this.owed.size < MAX_OWED) this.owed.set(key.id, { key, amount });
    }
  }

  private ttl(k: CounterKey): number {
    return Math.max(1000, Math.ceil(k.end + KEEP_PAST_END_MS - this.now()));
  }

  private fellBack(err: unknown): void {
    this.fallbacks++;
    this.telemetry.dropped(BUDGET_REDIS);
    if (!this.degraded) this.opts.onFallback?.(err);
    this.degraded = true;
  }

  /** Redis answers again: what was counted meanwhile goes to it, and the local counts start afresh next time. */
  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.local = new LocalBudgetCounter(this.now, this.opts.onSeedError);
    const owed = [...this.owed.values()];
    this.owed.clear();
    for (const o of owed) void this.send(o.key, o.amount);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.local.close();
  }
}
