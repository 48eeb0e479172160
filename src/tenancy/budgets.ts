// Spend budgets (SPEC §16): a client's own `budgets`, and every tag budget
// whose tags the client all carries, in money (the prices' currency) or
// tokens, per calendar day or month in `timeZone` (budget-window.ts).
//
// At admission, before the call is sent, every budget that applies is read
// (budget-counter.ts; shared through Redis with serve --redis): one used up
// (used ≥ max; a budget of 0 always is) refuses the call with 429
// budget_exceeded, naming the budget and when its window resets (Retry-After:
// the seconds until then). One past its warnAt lets the call through with
// `x-junction-budget-warning: <budget> <used>/<max> <unit>` on the answer.
// Clients without a budget cost nothing here: no read, no Redis round trip.
//
// When the request has ended (an observer, after the cost observer), its
// spend is added to every budget it was admitted under, in the window it was
// admitted in: a call that began before midnight counts in the day it began,
// even if it ends after the reset. Money budgets add `record.cost` when its
// currency is the budget's (a cost in another currency does not count, and
// the log says so once per budget and currency); token budgets add prompt +
// completion, estimated ones included (observe/cost.ts).
//
// What a budget has used is only known when calls end: calls admitted while
// the last units were still free all go through, so a budget is overshot by
// at most the spend of the calls in flight when it ran out (and, across
// replicas, what redis-budget-counter.ts adds to that).
import type { Config, BudgetConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { NO_BUDGET_METRICS, type BudgetMetrics } from '../observe/budget-metrics.js';
import { estimateTokens, saneUsage } from '../observe/cost.js';
import type { EndedRecord, Observer, RequestRecord } from '../observe/record.js';
import { NO_TELEMETRY, type Telemetry } from '../observe/telemetry.js';
import type { Logger } from '../call/hooks.js';
import { BudgetCountersDown, type BudgetCounter, type CounterKey } from './budget-counter.js';
import { BudgetWindows, type BudgetWindow } from './budget-window.js';

/** The header a soft threshold adds to answers. */
export const BUDGET_WARNING_HEADER = 'x-junction-budget-warning';

/** What the durable ledger summed over a window (Store.sumSpend's total, wired in app.ts). */
export interface SpendTotals {
  cost: Record<string, number>;
  tokens: { prompt: number; completion: number };
}

/** Sums the store's spend ledger over [from, to) for one client or the clients carrying every tag. */
export type SpendSource = (q: {
  from: Date;
  to: Date;
  client?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
}) => Promise<SpendTotals | undefined>;

/** One budget as it applies to a caller. */
export interface AppliedBudget {
  /** `client:<name>:<per>:<unit>` or `tag:<k>=<v>[,…]:<per>:<unit>`: its metric label and counter name. */
  readonly name: string;
  readonly per: BudgetConfig['per'];
  readonly max: number;
  readonly unit: string;
  readonly warnAt: number;
  readonly client?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/** A budget's state in its current window (GET /admin/budgets, refusals). */
export interface BudgetReading {
  budget: AppliedBudget;
  window: Pick<BudgetWindow, 'key' | 'end'>;
  used: number;
}

/** 429 budget_exceeded, naming the budget; Retry-After is the time to its reset. */
export class BudgetExceeded extends JunctionError {
  constructor(
    readonly reading: BudgetReading,
    objective: string,
    now: number,
  ) {
    const { budget, window, used } = reading;
    super(
      'budget_exceeded',
      `budget "${budget.name}" is used up: ${amount(used, budget.unit)} of ${amount(budget.max, budget.unit)} ${budget.unit} ` +
        `this ${budget.per} (${window.key}); it resets at ${new Date(window.end).toISOString()}`,
      { objective, retryAfterSeconds: Math.max(1, Math.ceil((window.end - now) / 1000)) },
    );
  }
}

/** What admission learnt of the caller's budgets: a warning for the answer, when one is past its warnAt. */
export interface BudgetCheck {
  warning: string | undefined;
}

interface Admitted {
  budgets: readonly AppliedBudget[];
  keys: readonly CounterKey[];
  /** The objective speaks an LLM API: a reply without usage has its tokens estimated. */
  llm: boolean;
}

export interface BudgetsOptions {
  counter: BudgetCounter;
  /** The store's ledger; without one (no control plane) counters start at 0. */
  spend?: SpendSource | undefined;
  telemetry?: Telemetry;
  metrics?: BudgetMetrics;
  log?: Logger | undefined;
  now?: () => number;
}

/** The budgets of one Junction: checked by admission, counted by its observer. */
export class Budgets {
  private readonly windows = new BudgetWindows();
  private readonly byConfig = new WeakMap<Config, Map<string, readonly AppliedBudget[]>>();
  /** Per budget name, the counter key of its current window (one allocation per window, not per call). */
  private readonly keys = new Map<string, CounterKey>();
  private readonly admitted = new WeakMap<EndedRecord, Admitted>();
  private readonly told = new Set<string>();
  private readonly counter: BudgetCounter;
  private readonly telemetry: Telemetry;
  private readonly metrics: BudgetMetrics;
  private readonly now: () => number;

  constructor(private readonly opts: BudgetsOptions) {
    this.counter = opts.counter;
    this.telemetry = opts.telemetry ?? NO_TELEMETRY;
    this.metrics = opts.metrics ?? NO_BUDGET_METRICS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Checks the client's budgets before its call to `objective` is sent:
   * undefined (synchronously) when none applies; throws 429 budget_exceeded,
   * or 503 overloaded when Redis is down and `spend.onRedisDown` is closed.
   */
  check(
    config: Config,
    client: string,
    objective: string,
    llm: boolean,
    record: RequestRecord,
  ): BudgetCheck | Promise<BudgetCheck> | undefined {
    const budgets = this.applying(config, client);
    if (budgets.length === 0) return undefined;
    const now = this.now();
    const keys = budgets.map((b) => this.keyOf(b, config.timeZone, now));
    const decide = (used: number[]): BudgetCheck => {
      const check = this.decide(budgets, keys, used, objective, client, now);
      this.admitted.set(record, { budgets, keys, llm });
      return check;
    };
    const refuseDown = (err: unknown): never => {
      if (!(err instanceof BudgetCountersDown)) throw err;
      this.telemetry.rejection(objective, client, 'overloaded');
      throw new JunctionError(
        'overloaded',
        `client "${client}"'s budgets cannot be checked (Redis does not answer, and spend.onRedisDown is closed); try again shortly`,
        { objective, retryAfterSeconds: 1 },
      );
    };
    let used: number[] | Promise<number[]>;
    try {
      used = this.counter.read(keys, config.spend.onRedisDown);
    } catch (err) {
      return refuseDown(err);
    }
    return used instanceof Promise ? used.then(decide, refuseDown) : decide(used);
  }

  /** Counts an ended call in every budget it was admitted under (put it after the cost observer). */
  readonly observe: Observer = (record) => {
    const a = this.admitted.get(record);
    if (a === undefined) return;
    this.admitted.delete(record);
    let tokens: number | undefined;
    for (let i = 0; i < a.budgets.length; i++) {
      const b = a.budgets[i]!;
      let amount: number;
      if (b.unit === 'tokens') amount = tokens ??= tokensOf(record, a.llm);
      else {
        const cost = record.cost;
        if (cost === undefined || cost.amount === 0) continue;
        if (cost.currency !== b.unit) {
          this.tellOnce(
            `${b.name}\u0001${cost.currency}`,
            { budget: b.name, currency: cost.currency },
            'a cost in another currency does not count toward this budget',
          );
          continue;
        }
        amount = cost.amount;
      }
      if (amount > 0) this.counter.add(a.keys[i]!, amount);
    }
  };

  /** Every budget of the config with its current window and use (GET /admin/budgets reads the ledger itself). */
  applying(config: Config, client: string): readonly AppliedBudget[] {
    let byClient = this.byConfig.get(config);
    if (byClient === undefined) this.byConfig.set(config, (byClient = new Map<string, readonly AppliedBudget[]>()));
    let out = byClient.get(client);
    if (out === undefined) byClient.set(client, (out = budgetsOf(config, client)));
    return out;
  }

  close(): Promise<void> {
    return this.counter.close();
  }

  private decide(
    budgets: readonly AppliedBudget[],
    keys: readonly CounterKey[],
    used: readonly number[],
    objective: string,
    client: string,
    now: number,
  ): BudgetCheck {
    let refusal: BudgetReading | undefined;
    let warning: string | undefined;
    for (let i = 0; i < budgets.length; i++) {
      const b = budgets[i]!;
      const u = used[i]!;
      this.metrics.used(b.name, b.max === 0 ? 1 : u / b.max);
      if (u >= b.max) {
        // Of the budgets used up, the one that resets last: retrying before then is refused anyway.
        if (refusal === undefined || keys[i]!.end > refusal.window.end)
          refusal = { budget: b, window: { key: keys[i]!.id.slice(b.name.length + 1), end: keys[i]!.end }, used: u };
      } else if (u >= b.warnAt * b.max) {
        this.metrics.warned(b.name);
        const w = `${b.name} ${amount(u, b.unit)}/${amount(b.max, b.unit)} ${b.unit}`;
        warning = warning === undefined ? w : `${warning}, ${w}`;
      }
    }
    if (refusal !== undefined) {
      this.metrics.refused(refusal.budget.name);
      this.telemetry.rejection(objective, client, 'budget_exceeded');
      throw new BudgetExceeded(refusal, objective, now);
    }
    return { warning };
  }

  private keyOf(b: AppliedBudget, timeZone: string, now: number): CounterKey {
    const w = this.windows.at(b.per, timeZone, now);
    const id = `${b.name}:${w.key}`;
    let k = this.keys.get(b.name);
    if (k === undefined || k.id !== id) {
      const spend = this.opts.spend;
      const seed =
        spend === undefined
          ? () => Promise.resolve(0)
          : () =>
              spend({ from: new Date(w.start), to: new Date(w.end), client: b.client, tags: b.tags }).then((t) =>
                t === undefined
                  ? 0
                  : b.unit === 'tokens'
                    ? t.tokens.prompt + t.tokens.completion
                    : (t.cost[b.unit] ?? 0),
              );
      this.keys.set(b.name, (k = { id, end: w.end, seed }));
    }
    return k;
  }

  private tellOnce(what: string, fields: object, message: string): void {
    if (this.told.has(what)) return;
    if (this.told.size < 1000) this.told.add(what);
    this.opts.log?.warn(fields, message);
  }
}

/** The budgets that apply to `client` under `config`: its own, then the tag budgets it carries every tag of. */
export function budgetsOf(config: Config, client: string): AppliedBudget[] {
  const c = config.clients[client];
  if (c === undefined) return [];
  const out: AppliedBudget[] = c.budgets.map((b) => ({
    name: `client:${client}:${b.per}:${b.unit}`,
    per: b.per,
    max: b.max,
    unit: b.unit,
    warnAt: b.warnAt,
    client,
  }));
  for (const b of config.budgets) {
    const tags = Object.entries(b.tag);
    if (!tags.every(([k, v]) => c.tags[k] === v)) continue;
    out.push({
      name: tagBudgetName(b.tag, b.per, b.unit),
      per: b.per,
      max: b.max,
      unit: b.unit,
      warnAt: b.warnAt,
      tags: b.tag,
    });
  }
  return out;
}

/** Every budget of the config once: each client's own, then the tag budgets (GET /admin/budgets). */
export function allBudgets(config: Config): AppliedBudget[] {
  const out: AppliedBudget[] = [];
  for (const name of Object.keys(config.clients)) out.push(...budgetsOf(config, name).filter((b) => b.client));
  for (const b of config.budgets)
    out.push({
      name: tagBudgetName(b.tag, b.per, b.unit),
      per: b.per,
      max: b.max,
      unit: b.unit,
      warnAt: b.warnAt,
      tags: b.tag,
    });
  return out;
}

function tagBudgetName(tag: Readonly<Record<string, string>>, per: string, unit: string): string {
  const tags = Object.keys(tag)
    .sort()
    .map((k) => `${k}=${tag[k]}`)
    .join(',');
  return `tag:${tags}:${per}:${unit}`;
}

/** The tokens an ended call used: those it was costed from, else its usage, else (an LLM reply without any) the estimate. */
function tokensOf(record: EndedRecord, llm: boolean): number {
  const counted = record.cost?.tokens;
  if (counted !== undefined) return counted.prompt + counted.completion;
  if (record.cache === 'hit' || record.upstreamMs === undefined) return 0;
  const usage = saneUsage(record.usage);
  if (usage !== undefined) return usage.prompt + usage.completion;
  if (!llm || record.status >= 400) return 0;
  const e = estimateTokens(record);
  return e.prompt + e.completion;
}

/** A money amount to the cent's hundredth, tokens whole. */
export function amount(n: number, unit: string): string {
  return unit === 'tokens' ? String(Math.round(n)) : String(Math.round(n * 1e4) / 1e4);
}
