// An experiment readout (SPEC §12): the aggregates from the logs (query.ts)
// turned into what a data scientist reads: per cell units, exposures, latency
// and error rate; the sample-ratio check; per metric the cell means and each
// cell's difference to the first cell with a 95 % CI and an always-valid
// p-value. The JSON shape is the contract of `analyze --json` and
// GET /admin/experiments/{id}/results (docs/experiments.md).
import { armBalance, type Config } from '../config/schema.js';
import { meanDifference, type Moments } from '../stats/mean-difference.js';
import { alwaysValidPValue, MIXING_SD_FACTOR } from '../stats/msprt.js';
import { SRM_ALPHA, srmPValue } from '../stats/srm.js';
import { aggregate, type Aggregates, type LogFiles } from './query.js';
import { ReadoutRunner, type ReadoutLimits } from './runner.js';

export const READOUT_VERSION = 1;

export const METHODS = {
  srm: `Pearson chi-square goodness of fit of units per cell against the cell weights; flagged below ${SRM_ALPHA}`,
  ci: 'Welch difference of means (treatment − first cell), normal approximation, 95 %; valid when read once at a planned size',
  pValue: `mSPRT always-valid p-value (normal mixture, tau = ${MIXING_SD_FACTOR} × pooled per-unit standard deviation); may be read at any time`,
  unitValue:
    "each unit's metric is the sum of its feedback values (0 without feedback), counted in the first cell it saw",
} as const;

export interface CellReadout {
  cell: string;
  target: string | null;
  /** The balancer the cell names with its target (`use: { target, balance }`), or null: two cells on one target differ by it. */
  balance: string | null;
  /** The cell's configured weight, or null when the readout had no config. */
  weight: number | null;
  units: number;
  exposures: number;
  errorRate: number | null;
  latencyMs: { p50: number | null; p99: number | null };
  /** Time to first byte (the first token of a stream) of served requests; null for logs written before `ttftMs`. */
  ttftMs: { p50: number | null; p99: number | null };
}

export interface MetricCell {
  cell: string;
  units: number;
  mean: number | null;
  /** Against the first cell; null for the first cell itself or without enough units. */
  difference: { estimate: number; ci95: [number, number]; pValue: number } | null;
}

export interface ExperimentReadout {
  experiment: string;
  objective: string;
  cells: CellReadout[];
  srm: { pValue: number; flagged: boolean; alpha: number; weights: 'config' | 'equal' };
  /** Units exposed to more than one cell (each counted once, in its first). */
  unitsInSeveralCells: number;
  metrics: Array<{ metric: string; cells: MetricCell[] }>;
}

export interface Readout {
  version: typeof READOUT_VERSION;
  methods: typeof METHODS;
  experiments: ExperimentReadout[];
}

/**
 * The readout of the logs, run by `runner` under `key` (callers with the same
 * key share one run; the key must name everything the answer depends on).
 */
export async function readExperimentsOn(
  runner: ReadoutRunner,
  key: string,
  files: LogFiles,
  config?: Config,
): Promise<Readout> {
  return runner.run(key, async (db) => buildReadout(await aggregate(db, files), config));
}

/** A one-off readout (`junction analyze`, the bench) on its own runner: DuckDB's defaults unless `limits` says otherwise. */
export async function readExperiments(files: LogFiles, config?: Config, limits: ReadoutLimits = {}): Promise<Readout> {
  const runner = new ReadoutRunner({ ...limits, concurrency: 1, queue: 0 });
  try {
    return await readExperimentsOn(runner, 'analyze', files, config);
  } finally {
    await runner.close();
  }
}

/** Configured cells (order and weights) of each experiment id. */
function configuredCells(config: Config | undefined): Map<string, Array<[string, number, string | undefined]>> {
  const out = new Map<string, Array<[string, number, string | undefined]>>();
  for (const o of Object.values(config?.objectives ?? {})) {
    for (const e of o.experiments)
      out.set(
        e.id,
        Object.entries(e.cells).map(([name, c]) => [name, c.weight, armBalance(c.use)]),
      );
  }
  return out;
}

export function buildReadout(agg: Aggregates, config?: Config): Readout {
  const configured = configuredCells(config);
  const ids = [...new Set(agg.cells.map((c) => c.experiment))].sort();
  const experiments = ids.map((id): ExperimentReadout => {
    const rows = agg.cells.filter((c) => c.experiment === id);
    const declared = configured.get(id);
    // Cells in config order (the first is the control), then any the config does not know, by name.
    const order = [
      ...(declared ?? []).map(([name]) => name),
      ...rows
        .map((r) => r.cell)
        .filter((c) => !declared?.some(([n]) => n === c))
        .sort(),
    ];
    const weightOf = (cell: string) => declared?.find(([n]) => n === cell)?.[1] ?? null;
    const cells = order.map((cell): CellReadout => {
      const r = rows.find((x) => x.cell === cell);
      return {
        cell,
        target: r?.target ?? null,
        // The log says which balancer served the cell; a log from before `balance` was written, the config.
        balance: r?.balance ?? declared?.find(([n]) => n === cell)?.[2] ?? null,
        weight: weightOf(cell),
        units: r?.units ?? 0,
        exposures: r?.exposures ?? 0,
        errorRate: r && r.served > 0 ? r.errors / r.served : null,
        latencyMs: { p50: r?.p50Ms ?? null, p99: r?.p99Ms ?? null },
        ttftMs: { p50: r?.ttftP50Ms ?? null, p99: r?.ttftP99Ms ?? null },
      };
    });
    const weights = declared ? cells.map((c) => c.weight ?? 0) : cells.map(() => 1);
    const srmP = srmPValue(
      cells.map((c) => c.units),
      weights,
    );
    const metricNames = [...new Set(agg.metrics.filter((m) => m.experiment === id).map((m) => m.metric))].sort();
    const metrics = metricNames.map((metric) => {
      const moments = cells.map((c): Moments => {
        const m = agg.metrics.find((x) => x.experiment === id && x.metric === metric && x.cell === c.cell);
        return { n: c.units, sum: m?.sum ?? 0, sumSq: m?.sumSq ?? 0 };
      });
      return {
        metric,
        cells: cells.map((c, i): MetricCell => {
          const d = i === 0 ? undefined : meanDifference(moments[0]!, moments[i]!);
          return {
            cell: c.cell,
            units: c.units,
            mean: c.units > 0 ? moments[i]!.sum / c.units : null,
            difference: d
              ? { estimate: d.estimate, ci95: d.ci95, pValue: alwaysValidPValue(moments[0]!, moments[i]!) }
              : null,
          };
        }),
      };
    });
    return {
      experiment: id,
      objective: rows[0]!.objective,
      cells,
      srm: { pValue: srmP, flagged: srmP < SRM_ALPHA, alpha: SRM_ALPHA, weights: declared ? 'config' : 'equal' },
      unitsInSeveralCells: agg.unitsInSeveralCells.get(id) ?? 0,
      metrics,
    };
  });
  return { version: READOUT_VERSION, methods: METHODS, experiments };
}
