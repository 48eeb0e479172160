// Each process's share of the spend ledger (SPEC §16): the cost and tokens of
// its calls summed in memory per (hour, client, objective, target, currency,
// client tags), and added to the store off the request path: every few
// seconds and on close. On the request path it is one string key and a Map
// lookup, for calls that cost something or reported tokens; nothing waits on
// the store.
//
// Bounded: at most `maxEntries` keys wait for a flush (a new key past it is
// dropped and counted, junction_dropped_total{sink="spend_ledger"}). A failed
// flush keeps its batch for the next try, merged into what came meanwhile
// under the same bound. The store adds a batch to its rows (an upsert that
// sums), so replicas and --workers processes share one ledger; a flush the
// store applied but whose answer was lost (a connection cut after commit) is
// added again on the next try: that is the overcount this design accepts
// rather than lose a batch.
import type { Observer } from '../observe/record.js';
import type { SpendEntry } from './spend-types.js';

const HOUR_MS = 3600_000;

export interface SpendLedgerOptions {
  /** Where batches go (`Store.addSpend`). */
  addSpend(entries: readonly SpendEntry[]): Promise<void>;
  /** The client's tags as canonical JSON (spend-types.ts `tagsJson`), '{}' for none or no client. */
  tagsOf(client: string): string;
  /** How often the batch is flushed (default 5 s). */
  flushMs?: number;
  /** Keys held at most between flushes (default 10,000: a few MB). */
  maxEntries?: number;
  /** Told how many keys were dropped (the bound was reached). */
  onDropped?: (count: number) => void;
  /** Told when a flush failed (its batch is kept for the next one). */
  onFlushError?: (err: unknown) => void;
  /** ms since the epoch (tests). */
  now?: () => number;
}

export class SpendLedger {
  private pending = new Map<string, SpendEntry>();
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: SpendLedgerOptions) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 5000);
    this.timer.unref();
  }

  /** Request observer (after the cost observer): calls that cost something or reported tokens. */
  readonly observe: Observer = (record) => {
    const outcome = record.outcome;
    if (outcome === undefined || this.closed) return;
    const cost = record.cost;
    // A priced call counts the tokens it was costed from; another counts what it reported (a cache hit: nothing).
    const tokens = cost !== undefined ? cost.tokens : record.cache === 'hit' ? undefined : record.usage;
    if (cost === undefined && tokens === undefined) return;
    const now = this.now();
    const hour = now - (now % HOUR_MS);
    const client = record.client ?? '';
    const target = record.fallback ?? outcome.target.id;
    const currency = cost?.currency ?? '';
    const tags = client === '' ? '{}' : this.opts.tagsOf(client);
    const key = `${hour}\u0001${client}\u0001${outcome.objective}\u0001${target}\u0001${currency}\u0001${tags}`;
    let e = this.pending.get(key);
    if (e === undefined) {
      if (this.pending.size >= this.maxEntries) {
        this.opts.onDropped?.(1);
        return;
      }
      e = { hour, client, objective: outcome.objective, target, currency, tags, ...ZERO };
      this.pending.set(key, e);
    }
    e.cost += cost?.amount ?? 0;
    e.prompt += tokens?.prompt ?? 0;
    e.completion += tokens?.completion ?? 0;
    e.cached += tokens?.cached ?? 0;
    e.requests++;
    if (cost?.estimated === true) e.estimated++;
  };

  /** Keys waiting for a flush. */
  get size(): number {
    return this.pending.size;
  }

  /** Adds what is pending to the store; one flush at a time (a second call waits for the first, then flushes). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.opts
      .addSpend([...batch.values()])
      .catch((err: unknown) => {
        this.keep(batch);
        this.opts.onFlushError?.(err);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  /** Stops the timer and flushes once more; what still fails to flush is dropped (counted). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.size > 0) {
      this.opts.onDropped?.(this.pending.size);
      this.pending.clear();
    }
  }

  /** A failed batch back into the pending one, under the same bound. */
  private keep(batch: Map<string, SpendEntry>): void {
    let dropped = 0;
    for (const [key, old] of batch) {
      const e = this.pending.get(key);
      if (e !== undefined) {
        for (const f of SUMMED) e[f] += old[f];
      } else if (this.pending.size < this.maxEntries) {
        this.pending.set(key, old);
      } else {
        dropped++;
      }
    }
    if (dropped > 0) this.opts.onDropped?.(dropped);
  }
}

const ZERO = { cost: 0, prompt: 0, completion: 0, cached: 0, requests: 0, estimated: 0 } as const;
const SUMMED = ['cost', 'prompt', 'completion', 'cached', 'requests', 'estimated'] as const;
