// The spend ledger's vocabulary (SPEC §16): what each process flushes to the
// store (SpendEntry: sums per hour, client, objective, target and currency,
// with the client's tags), and how the store answers a sum over a window
// (SpendQuery → SpendTotal). GET /admin/spend, `junction spend` and the
// budgets' durable counters all read through `Store.sumSpend`.

/** What spend can be summed by. */
export type SpendDimension = 'client' | 'tag' | 'objective' | 'target';

export const SPEND_DIMENSIONS: readonly SpendDimension[] = ['client', 'tag', 'objective', 'target'];

/** One hour of one (client, objective, target, currency, tags): flushed by a process, added to the store's row. */
export interface SpendEntry {
  /** Start of the hour, ms since the epoch (a whole UTC hour). */
  hour: number;
  /** The client's name, '' for calls without a key. */
  client: string;
  objective: string;
  /** The answering target (a fallback's when one answered; `static` for a static answer). */
  target: string;
  /** The price's currency, '' for calls of a target without a price (their tokens still count). */
  currency: string;
  /** The client's tags when the calls were made, as canonical JSON (`{}` for none). */
  tags: string;
  cost: number;
  prompt: number;
  completion: number;
  cached: number;
  requests: number;
  /** Requests whose cost was estimated (their replies reported no usage). */
  estimated: number;
}

/**
 * A sum of the ledger over [from, to): hours that begin in the window (the
 * ledger counts by the hour, so a window edge inside an hour takes that hour
 * whole or not at all). Filters narrow the rows; `by` groups them.
 */
export interface SpendQuery {
  from: Date;
  to: Date;
  /** One total per client, per `tag=value` (a call counts once under each tag of its client), objective or target; absent: one total, key ''. */
  by?: SpendDimension | undefined;
  /** Only this client's calls ('' for calls without a key). */
  client?: string | undefined;
  /** Only calls of clients carrying every one of these tags (a tag budget's scope). */
  tags?: Readonly<Record<string, string>> | undefined;
  objective?: string | undefined;
  target?: string | undefined;
}

/** One group of a sum. */
export interface SpendTotal {
  /** The client, `tag=value`, objective or target; '' for the total. */
  key: string;
  /** Per currency (a currency appears once it had a priced call). */
  cost: Record<string, number>;
  tokens: { prompt: number; completion: number; cached: number };
  requests: number;
  estimatedRequests: number;
}

/** What a store's grouped query returns: one row per key and currency. */
export interface SpendGroupRow {
  key: string;
  currency: string;
  cost: number | string;
  prompt: number | string;
  completion: number | string;
  cached: number | string;
  requests: number | string;
  estimated: number | string;
}

/** Rows per (key, currency) → one total per key, sorted by key (PostgreSQL's sums of BIGINT arrive as strings). */
export function spendTotals(rows: readonly SpendGroupRow[]): SpendTotal[] {
  const byKey = new Map<string, SpendTotal>();
  for (const r of rows) {
    let t = byKey.get(r.key);
    if (t === undefined) {
      t = { key: r.key, cost: {}, tokens: { prompt: 0, completion: 0, cached: 0 }, requests: 0, estimatedRequests: 0 };
      byKey.set(r.key, t);
    }
    if (r.currency !== '') t.cost[r.currency] = (t.cost[r.currency] ?? 0) + Number(r.cost);
    t.tokens.prompt += Number(r.prompt);
    t.tokens.completion += Number(r.completion);
    t.tokens.cached += Number(r.cached);
    t.requests += Number(r.requests);
    t.estimatedRequests += Number(r.estimated);
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A JSON text that is the same for the same tags in any order (the ledger's key and the store's column). */
export function tagsJson(tags: Readonly<Record<string, string>> | undefined): string {
  if (tags === undefined) return '{}';
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(tags).sort()) sorted[k] = tags[k]!;
  return JSON.stringify(sorted);
}
