// What the rollout gates are judged on: per objective and target, live
// requests, errors (5xx, callers who left, or rescued by a fallback) and a latency histogram, as
// cumulative counters. Every replica publishes its own to the store; the
// controller sums them, snapshots the sum when a step begins and judges the
// difference, so nothing is ever reset on the hot path.
import type { Observer } from '../observe/record.js';
import type { ArmStats } from './rollout-step.js';
import type { GateArm } from './store.js';

/** Upper bounds (ms) of the latency buckets; p99 is reported as the bound of its bucket. */
const BOUNDS_MS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000, 30_000, Infinity];
/** The same buckets for the console's traffic view (traffic-stats.ts). */
export { BOUNDS_MS as LATENCY_BOUNDS_MS };

export interface ArmCounters {
  requests: number;
  errors: number;
  buckets: number[];
}

export const emptyCounters = (): ArmCounters => ({ requests: 0, errors: 0, buckets: new Array<number>(BOUNDS_MS.length).fill(0) });

export class GateStats {
  private readonly arms = new Map<string, ArmCounters>();
  /** Only objectives with a rollout are counted. */
  private tracked: ReadonlySet<string> = new Set();

  track(objectives: ReadonlySet<string>): void {
    this.tracked = objectives;
  }

  readonly observe: Observer = (r) => {
    if (r.trafficClass !== 'live' || r.outcome === undefined || !this.tracked.has(r.outcome.objective)) return;
    const key = `${r.outcome.objective}\0${r.outcome.target.id}`;
    let c = this.arms.get(key);
    if (!c) this.arms.set(key, (c = emptyCounters()));
    c.requests++;
    // A caller that gave up (client_closed) is no success: a slow candidate shows up here too.
    if (r.status >= 500 || r.errorCode === 'client_closed' || r.fallback !== undefined) c.errors++;
    const ms = r.end - r.start;
    let i = 0;
    while (ms > BOUNDS_MS[i]!) i++;
    c.buckets[i]!++;
  };

  /** This process's counters, to publish to the store (the leader sums every replica's). */
  entries(): GateArm[] {
    return [...this.arms].map(([key, c]) => {
      const [objective, target] = key.split('\0') as [string, string];
      return { objective, target, counters: { requests: c.requests, errors: c.errors, buckets: [...c.buckets] } };
    });
  }
}

/** The traffic between two readings of the same arm. */
export function since(now: ArmCounters, then: ArmCounters): ArmStats {
  const requests = Math.max(0, now.requests - then.requests);
  const errors = Math.max(0, now.errors - then.errors);
  if (requests === 0) return { requests, errors, p99Ms: undefined };
  const rank = Math.ceil(requests * 0.99);
  let seen = 0;
  for (let i = 0; i < BOUNDS_MS.length; i++) {
    seen += Math.max(0, now.buckets[i]! - then.buckets[i]!);
    if (seen >= rank) return { requests, errors, p99Ms: BOUNDS_MS[i] === Infinity ? BOUNDS_MS[i - 1]! : BOUNDS_MS[i]! };
  }
  return { requests, errors, p99Ms: undefined };
}

/** Adds `b` into `a` (bucket counts included). */
export function addCounters(a: ArmCounters, b: ArmCounters): void {
  a.requests += b.requests;
  a.errors += b.errors;
  for (let i = 0; i < b.buckets.length; i++) a.buckets[i] = (a.buckets[i] ?? 0) + b.buckets[i]!;
}

/** Store rows (one per replica and target) summed per target. */
export function sumRows(rows: ReadonlyArray<{ target: string; requests: number | string; errors: number | string; buckets: string }>): Map<string, ArmCounters> {
  const out = new Map<string, ArmCounters>();
  for (const r of rows) {
    let sum = out.get(r.target);
    if (!sum) out.set(r.target, (sum = emptyCounters()));
    addCounters(sum, { requests: Number(r.requests), errors: Number(r.errors), buckets: JSON.parse(r.buckets) as number[] });
  }
  return out;
}
