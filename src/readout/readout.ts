// An experiment readout (SPEC §12): the aggregates from the logs (query.ts)
// turned into what a data scientist reads: per cell units, exposures, latency
// and error rate; the sample-ratio check; per metric the cell means and each
// cell's difference to the first cell with a 95 % CI and an always-valid
// p-value. The JSON shape is the contract of `analyze --json` and
// GET /admin/experiments/{id}/results (docs/experiments.md).
import { armBalance, type Config } from '../config/schema.js';
import { meanDifference, type Moments } from '../stats/mean-difference.js';
import { alwaysValidPValue, MIXING_SD_FACTOR } from '../stats/msprt.js';
import { SRM_ALPHA } from '../stats/srm.js';
import { aggregate, type Aggregates, type LogFiles } from './query.js';
import { ReadoutRunner, type ReadoutLimits } from './runner.js';
import { sampleRatio, type SampleRatio } from './sample-ratio.js';
import type { WeightsOf } from './weights.js';

/** 2: the sample-ratio check names where its weights came from (`revisions`, `config` or `unknown`, never an assumed equal split) and its weight periods. */
export const READOUT_VERSION = 2;

export const METHODS = {
  srm: `Pearson chi-square goodness of fit of units per cell against the weights of the revisions their first exposures were logged under (per weight period, and over the run against the periods' mixture); flagged below ${SRM_ALPHA}; unknown where the weights are not known`,
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
  /** The cell's weight (in the last weight period), or null when the readout does not know it. */
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
  srm: SampleRatio;
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
  loadWeights?: LoadWeights,
): Promise<Readout> {
  return runner.run(key, async (db) => {
    const agg = await aggregate(db, files);
    const revisions = [...new Set(agg.periods.map((p) => p.revision).filter((r): r is number => r !== null))];
    return buildReadout(agg, config, loadWeights && (await loadWeights(revisions)));
  });
}

/** Reads the cell weights of the revisions a readout's exposures were logged under (from a store). */
export type LoadWeights = (revisions: readonly number[]) => Promise<WeightsOf>;

/** A one-off readout (`junction analyze`, the bench) on its own runner: DuckDB's defaults unless `limits` says otherwise. */
export async function readExperiments(
  files: LogFiles,
  config?: Config,
  limits: ReadoutLimits = {},
  loadWeights?: LoadWeights,
): Promise<Readout> {
  const runner = new ReadoutRunner({ ...limits, concurrency: 1, queue: 0 });
  try {
    return await readExperimentsOn(runner, 'analyze', files, config, loadWeights);
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

/**
 * The readout of the aggregates. Cell order and weights: from the revisions
 * the exposures were logged under when `weightsOf` reads them (a store), else
 * from `config` (given by the caller for every exposure), else unknown.
 */
export function buildReadout(agg: Aggregates, config?: Config, weightsOf?: WeightsOf): Readout {
  const configured = configuredCells(config);
  const ids = [...new Set(agg.cells.map((c) => c.experiment))].sort();
  const experiments = ids.map((id): ExperimentReadout => {
    const rows = agg.cells.filter((c) => c.experiment === id);
    const byRevision = agg.periods.filter((p) => p.experiment === id);
    const latest = Math.max(0, ...byRevision.map((p) => p.revision ?? 0));
    const fromRevision = latest > 0 ? weightsOf?.(latest)?.get(id) : undefined;
    const fromConfig = configured.get(id);
    // Cells in declared order (the first is the control), then any not declared, by name.
    const declared = fromRevision ?? fromConfig?.map(([name, weight]) => [name, weight] as const);
    const order = [
      ...(declared ?? []).map(([name]) => name),
      ...[...new Set([...rows.map((r) => r.cell), ...byRevision.map((p) => p.cell)])]
        .filter((c) => !declared?.some(([n]) => n === c))
        .sort(),
    ];
    const srm = sampleRatio(
      id,
      order,
      byRevision,
      weightsOf,
      fromConfig && Object.fromEntries(fromConfig.map(([name, weight]) => [name, weight])),
    );
    const lastWeights = srm.periods.at(-1)?.weights ?? null;
    const cells = order.map((cell): CellReadout => {
      const r = rows.find((x) => x.cell === cell);
      return {
        cell,
        target: r?.target ?? null,
        // The log says which balancer served the cell; a log from before `balance` was written, the config.
        balance: r?.balance ?? fromConfig?.find(([n]) => n === cell)?.[2] ?? null,
        weight: lastWeights?.[cell] ?? null,
        units: r?.units ?? 0,
        exposures: r?.exposures ?? 0,
        errorRate: r && r.served > 0 ? r.errors / r.served : null,
        latencyMs: { p50: r?.p50Ms ?? null, p99: r?.p99Ms ?? null },
        ttftMs: { p50: r?.ttftP50Ms ?? null, p99: r?.ttftP99Ms ?? null },
      };
    });
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
      srm,
      unitsInSeveralCells: agg.unitsInSeveralCells.get(id) ?? 0,
      metrics,
    };
  });
  return { version: READOUT_VERSION, methods: METHODS, experiments };
}
