// What a budget's window has used so far: the hot counter budgets check at
// admission and add to when a call ends. This file holds the contract and the
// counter local to one process; redis-budget-counter.ts shares it across
// replicas. Either starts a window's counter from its seed (the store's spend
// ledger summed over the window) when it first meets it, so counts survive a
// restart: a process, or Redis after a flush, starts where the ledger is.

/** One budget's counter in one window. */
export interface CounterKey {
  /** `<budget name>:<window key>`, e.g. `client:search:month:USD:2026-12`. */
  readonly id: string;
  /** The window's end, ms since the epoch: a counter is kept a day past it, then forgotten. */
  readonly end: number;
  /** What the durable ledger says the window used (0 without a store). */
  readonly seed: () => Promise<number>;
}

/** Redis could not answer and the config says `spend.onRedisDown: closed`. */
export class BudgetCountersDown extends Error {}

export interface BudgetCounter {
  /**
   * What each window used; synchronous when every counter is known (and,
   * in Redis, recently read). With `closed`, throws BudgetCountersDown when
   * Redis cannot answer; with `open`, a local count answers instead.
   */
  read(keys: readonly CounterKey[], onRedisDown: 'open' | 'closed'): number[] | Promise<number[]>;
  /** Adds a call's spend to a window's counter; never fails, never waits. */
  add(key: CounterKey, amount: number): void;
  close(): Promise<void>;
}

/** Local windows kept before the ended ones are dropped. */
const PRUNE_AT = 1024;
/** How long past its window's end a counter is kept (a call admitted before the end may end after it). */
export const KEEP_PAST_END_MS = 24 * 3600_000;

interface LocalCount {
  value: number;
  end: number;
  /** The seed, while it is being read. */
  seeding?: Promise<void> | undefined;
}

/** Counters in this process, each seeded once from the ledger. */
export class LocalBudgetCounter implements BudgetCounter {
  private readonly counts = new Map<string, LocalCount>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onSeedError: (err: unknown) => void = () => undefined,
  ) {}

  read(keys: readonly CounterKey[]): number[] | Promise<number[]> {
    let waits: Array<Promise<void>> | undefined;
    for (const k of keys) {
      const c = this.entry(k);
      if (c.seeding !== undefined) (waits ??= []).push(c.seeding);
    }
    const values = () => keys.map((k) => this.counts.get(k.id)?.value ?? 0);
    return waits === undefined ? values() : Promise.all(waits).then(values);
  }

  add(key: CounterKey, amount: number): void {
    // A call counted before its window's seed arrived: the seed is added to it on arrival.
    this.entry(key).value += amount;
  }

  /** The window's counter; a new one starts seeding (calls meanwhile add to it, the seed adds on top). */
  private entry(k: CounterKey): LocalCount {
    let c = this.counts.get(k.id);
    if (c !== undefined) return c;
    if (this.counts.size >= PRUNE_AT) this.prune();
    const count: LocalCount = { value: 0, end: k.end };
    count.seeding = k.seed().then(
      (seed) => {
        count.value += seed;
        count.seeding = undefined;
      },
      (err: unknown) => {
        // No ledger to read: count from zero (the store's sum is what GET /admin/budgets shows).
        this.onSeedError(err);
        count.seeding = undefined;
      },
    );
    this.counts.set(k.id, (c = count));
    return c;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, c] of this.counts) if (c.end + KEEP_PAST_END_MS < now) this.counts.delete(id);
  }

  async close(): Promise<void> {
    this.counts.clear();
  }
}
