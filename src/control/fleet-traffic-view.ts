// What GET /admin/traffic answers, made from slot rows (fleet-traffic-types.ts)
// whoever counted them: this process's own slots and every reporting
// process's published ones are summed alike, per objective and target (with a
// series per slot) and per experiment cell (exposures, sample-ratio check).
import { armBalance, armTarget, type Config } from '../config/schema.js';
import { srmPValue } from '../stats/srm.js';
import type { TrafficRow } from './fleet-traffic-types.js';
import { bucketQuantile, LATENCY_BOUNDS_MS } from './gate-stats.js';

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
  /** Time to first byte (first token of a stream), bounds of the same buckets; null without replies. */
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
  /** Tokens the calls reported (or were estimated at, when priced). */
  tokens: { prompt: number; completion: number };
  /** What the calls routed here cost, per currency (a fallback's answer included); empty when none is priced. */
  cost: Array<{ currency: string; amount: number }>;
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

export type TrafficObjectives = Record<string, { targets: TargetTraffic[]; experiments: ExperimentTraffic[] }>;

/** The slots a view covers: [first, first + count), `seconds` of traffic (the rate's denominator). */
export interface TrafficWindow {
  first: number;
  count: number;
  slotMs: number;
  seconds: number;
}

interface Sum {
  requests: number;
  errors: number;
  fallbacks: number;
  latency: number[];
  ttft: number[];
  prompt: number;
  completion: number;
  cost: Map<string, number>;
  series: Array<{ requests: number; errors: number; fallbacks: number }>;
}

/** Rows summed per objective and target and per cell, laid over the live config's objectives and experiments. */
export function trafficObjectives(
  rows: Iterable<TrafficRow>,
  config: Config | undefined,
  w: TrafficWindow,
): TrafficObjectives {
  const targets = new Map<string, Sum>();
  const cells = new Map<string, number>();
  for (const r of rows) {
    const at = r.slot - w.first;
    if (at < 0 || at >= w.count) continue;
    const key = `${r.objective}\0${r.target}`;
    let t = targets.get(key);
    if (t === undefined) targets.set(key, (t = emptySum(w.count)));
    t.requests += r.requests;
    t.errors += r.errors;
    t.fallbacks += r.fallbacks;
    addInto(t.latency, r.latency);
    addInto(t.ttft, r.ttft);
    t.prompt += r.prompt;
    t.completion += r.completion;
    if (r.cost > 0) t.cost.set(r.currency, (t.cost.get(r.currency) ?? 0) + r.cost);
    const s = t.series[at]!;
    s.requests += r.requests;
    s.errors += r.errors;
    s.fallbacks += r.fallbacks;
    if (r.experiment !== '') {
      const ck = `${r.objective}\0${r.experiment}\0${r.cell}`;
      cells.set(ck, (cells.get(ck) ?? 0) + r.requests + r.decided);
    }
  }
  const objectives: TrafficObjectives = {};
  const entry = (name: string) => (objectives[name] ??= { targets: [], experiments: [] });
  for (const name of Object.keys(config?.objectives ?? {})) entry(name);
  for (const [key, t] of targets) {
    const [objective, target] = key.split('\0') as [string, string];
    entry(objective).targets.push({
      target,
      requests: t.requests,
      rps: round(t.requests / w.seconds, 3),
      errors: t.errors,
      errorRate: t.requests === 0 ? 0 : round(t.errors / t.requests, 4),
      fallbacks: t.fallbacks,
      p50Ms: quantile(t.latency, 0.5),
      p99Ms: quantile(t.latency, 0.99),
      ttftP50Ms: quantile(t.ttft, 0.5),
      ttftP99Ms: quantile(t.ttft, 0.99),
      tokens: { prompt: t.prompt, completion: t.completion },
      cost: [...t.cost].map(([currency, amount]) => ({ currency, amount: round(amount, 6) })),
      series: t.series.map((s, i) => ({ t: (w.first + i) * w.slotMs, ...s })),
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
  return objectives;
}

const emptySum = (count: number): Sum => ({
  requests: 0,
  errors: 0,
  fallbacks: 0,
  latency: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
  ttft: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
  prompt: 0,
  completion: 0,
  cost: new Map(),
  series: Array.from({ length: count }, () => ({ requests: 0, errors: 0, fallbacks: 0 })),
});

/** Adds a published histogram in; one of another length (another release's buckets) is skipped, not misread. */
function addInto(into: number[], from: readonly number[]): void {
  if (from.length !== into.length) return;
  for (let i = 0; i < from.length; i++) into[i]! += from[i]!;
}

/** The bucket bound holding the q-quantile, or null with no traffic (the gates' own computation). */
function quantile(buckets: readonly number[], q: number): number | null {
  return bucketQuantile(buckets, q) ?? null;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
