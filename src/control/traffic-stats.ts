// What the console shows as live traffic (SPEC §11): per objective and target,
// requests, errors, fallbacks and a latency histogram in 10-second slots over
// the last five minutes, and per experiment cell its exposures. Counted in
// this process only (the admin API says so); the rollout gates are the merged view.
//
// On the request path this is one Map lookup keyed by the precompiled Outcome
// object (no string is built) and a few increments, with no clock read: the
// slot comes from the record's end time, already measured. The grouping by
// objective, target and cell happens when the admin API asks.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { armBalance, armTarget, type Config } from '../config/schema.js';
import type { Observer } from '../observe/record.js';
import type { Outcome } from '../routing/types.js';
import { srmPValue } from '../stats/srm.js';
import { bucketOf, bucketQuantile, LATENCY_BOUNDS_MS } from './gate-stats.js';

export const SLOT_SECONDS = 10;
const SLOT_MS = SLOT_SECONDS * 1000;
/** Five minutes of slots: the longest window the admin API answers for. */
const SLOTS = 30;

interface Counters {
  /** Requests served through the invoke path. */
  requests: number;
  /** Answers with status ≥ 500. */
  errors: number;
  /** Answers a fallback gave (the routed target failed). */
  fallbacks: number;
  /** Routing-only decisions (POST /v1/decide): exposures, but no traffic on the target here. */
  decided: number;
  buckets: number[];
}

interface Slot {
  /** Slot number (ms since epoch / SLOT_MS) the counters belong to. */
  index: number;
  byOutcome: Map<Outcome, Counters>;
  /**
   * Exposures arrive with an Outcome object of their own each (made from the
   * reported item): the first one of each decision stands for the rest, so the
   * slot grows with the decisions, not with the number of exposures.
   */
  exposed: Map<string, Outcome>;
}

export interface TargetTraffic {
  target: string;
  requests: number;
  /** Requests per second over the window. */
  rps: number;
  errors: number;
  errorRate: number;
  fallbacks: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Oldest first, one point per slot: `t` is the slot's start (ms since epoch). */
  series: Array<{ t: number; requests: number; errors: number; fallbacks: number }>;
}

export interface CellExposure {
  cell: string;
  target: string;
  /** The balancer the cell names with its target (`use: { target, balance }`); absent otherwise. */
  balance?: string | undefined;
  weight: number;
  exposures: number;
}

export interface ExperimentTraffic {
  id: string;
  cells: CellExposure[];
  /** Sample-ratio check: chi-square p-value of the exposures against the weights. */
  srmPValue: number;
}

export interface TrafficSnapshot {
  scope: { kind: 'process'; host: string; pid: number };
  slotSeconds: number;
  from: number;
  to: number;
  objectives: Record<string, { targets: TargetTraffic[]; experiments: ExperimentTraffic[] }>;
}

const newCounters = (): Counters => ({
  requests: 0,
  errors: 0,
  fallbacks: 0,
  decided: 0,
  buckets: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
});

/**
 * Milliseconds since the epoch: `origin` + a record's `performance.now()`
 * times, and `now()` on the same scale (monotonic, so slots never go back).
 */
export interface TrafficClock {
  origin: number;
  now(): number;
}

const MONOTONIC: TrafficClock = {
  origin: performance.timeOrigin,
  now: () => performance.timeOrigin + performance.now(),
};

export class TrafficStats {
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => ({
    index: -1,
    byOutcome: new Map(),
    exposed: new Map(),
  }));
  private readonly startedAt: number;

  constructor(private readonly clock: TrafficClock = MONOTONIC) {
    this.startedAt = clock.now();
  }

  readonly observe: Observer = (r) => {
    const outcome = r.outcome;
    if (outcome === undefined) return;
    const index = Math.floor((this.clock.origin + r.end) / SLOT_MS);
    // A request served here ends now; an exposure reported by an SDK may be late (or early):
    // only the window being kept has slots (the clock is read for exposures alone).
    if (r.via !== 'invoke') {
      const newest = Math.floor(this.clock.now() / SLOT_MS);
      if (index > newest || index <= newest - SLOTS) return;
    }
    const slot = this.slots[index % SLOTS]!;
    if (slot.index !== index) {
      slot.index = index;
      slot.byOutcome = new Map();
      slot.exposed = new Map();
    }
    let key = outcome;
    if (r.via === 'sdk' || r.via === 'edge') {
      // Reported from elsewhere: a fresh Outcome per item, merged by what the view shows of it.
      // Invoke and decide records carry the compiled (shared) outcomes already.
      const name = `${outcome.objective}\0${outcome.target.id}\0${outcome.experiment ?? ''}\0${outcome.cell ?? ''}`;
      const first = slot.exposed.get(name);
      if (first === undefined) slot.exposed.set(name, outcome);
      else key = first;
    }
    let c = slot.byOutcome.get(key);
    if (!c) slot.byOutcome.set(key, (c = newCounters()));
    if (r.via !== 'invoke') {
      // Decided here (POST /v1/decide) or elsewhere (SDK, edge exposures): an exposure, not a request served.
      c.decided++;
      return;
    }
    c.requests++;
    if (r.status >= 500) c.errors++;
    if (r.fallback !== undefined) c.fallbacks++;
    c.buckets[bucketOf(r.end - r.start)]!++;
  };

  /** The last `minutes` (1–5) of traffic, grouped for the live config's objectives and experiments. */
  snapshot(config: Config | undefined, minutes: number): TrafficSnapshot {
    const now = this.clock.now();
    const last = Math.floor(now / SLOT_MS);
    const count = Math.min(SLOTS, Math.max(1, Math.round((minutes * 60) / SLOT_SECONDS)));
    const first = last - count + 1;
    // Seconds the window really covers: not more than this process has been counting.
    const seconds = Math.max(1, Math.min(count * SLOT_SECONDS, (now - this.startedAt) / 1000));
    const targets = new Map<string, { c: Counters; series: Counters[] }>();
    const cells = new Map<string, number>();
    for (const slot of this.slots) {
      if (slot.index < first || slot.index > last) continue;
      for (const [o, c] of slot.byOutcome) {
        const key = `${o.objective}\0${o.target.id}`;
        let t = targets.get(key);
        if (!t) targets.set(key, (t = { c: newCounters(), series: Array.from({ length: count }, newCounters) }));
        add(t.c, c);
        add(t.series[slot.index - first]!, c);
        if (o.experiment !== undefined && o.cell !== undefined) {
          const ck = `${o.objective}\0${o.experiment}\0${o.cell}`;
          cells.set(ck, (cells.get(ck) ?? 0) + c.requests + c.decided);
        }
      }
    }
    const objectives: TrafficSnapshot['objectives'] = {};
    const entry = (name: string) => (objectives[name] ??= { targets: [], experiments: [] });
    for (const name of Object.keys(config?.objectives ?? {})) entry(name);
    for (const [key, { c, series }] of targets) {
      const [objective, target] = key.split('\0') as [string, string];
      entry(objective).targets.push({
        target,
        requests: c.requests,
        rps: round(c.requests / seconds, 3),
        errors: c.errors,
        errorRate: c.requests === 0 ? 0 : round(c.errors / c.requests, 4),
        fallbacks: c.fallbacks,
        p50Ms: quantile(c.buckets, 0.5),
        p99Ms: quantile(c.buckets, 0.99),
        series: series.map((s, i) => ({
          t: (first + i) * SLOT_MS,
          requests: s.requests,
          errors: s.errors,
          fallbacks: s.fallbacks,
        })),
      });
    }
    for (const [name, o] of Object.entries(config?.objectives ?? {})) {
      entry(name).targets.sort((a, b) => b.requests - a.requests || a.target.localeCompare(b.target));
      for (const x of o.experiments) {
        const list: CellExposure[] = Object.entries(x.cells).map(([cell, { weight, use }]) => ({
          cell,
          target: armTarget(use),
          ...(armBalance(use) === undefined ? {} : { balance: armBalance(use) }),
          weight,
          exposures: cells.get(`${name}\0${x.id}\0${cell}`) ?? 0,
        }));
        entry(name).experiments.push({
          id: x.id,
          cells: list,
          srmPValue: srmPValue(
            list.map((c) => c.exposures),
            list.map((c) => c.weight),
          ),
        });
      }
    }
    return {
      scope: { kind: 'process', host: hostname(), pid: process.pid },
      slotSeconds: SLOT_SECONDS,
      from: first * SLOT_MS,
      to: now,
      objectives,
    };
  }
}

function add(into: Counters, c: Counters): void {
  into.requests += c.requests;
  into.errors += c.errors;
  into.fallbacks += c.fallbacks;
  into.decided += c.decided;
  for (let i = 0; i < c.buckets.length; i++) into.buckets[i]! += c.buckets[i]!;
}

/** The bucket bound holding the q-quantile, or null with no traffic (the gates' own computation). */
function quantile(buckets: readonly number[], q: number): number | null {
  return bucketQuantile(buckets, q) ?? null;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
