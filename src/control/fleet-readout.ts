// The fleet readout (issue 28, item 2; SPEC §19): the same readout as the
// decision-log one (readout/readout.ts, the same statistics), computed from
// the tables every replica writes (fleet-readout-writer.ts). PostgreSQL does
// the aggregation and returns per-cell sums: a few rows, never a row per unit.
// The cell weights come from the revisions the exposures were logged under,
// read from the same store.
import pg from 'pg';
import type { Config } from '../config/schema.js';
import type { Aggregates, CellRow, MetricRow, PeriodRow } from '../readout/query.js';
import { addBuckets, bucketQuantile, LATENCY_BUCKETS } from '../readout/latency-buckets.js';
import { buildReadout, type Readout } from '../readout/readout.js';
import { experimentCells, type RevisionCells } from '../readout/weights.js';
import { fleetSchema } from './fleet-readout-schema.js';

/** Reads fleet readouts from one store (its own small pool). */
export class FleetReadoutReader {
  private readonly pool: pg.Pool;
  private readonly q: string;

  constructor(storeUrl: string) {
    const { url, schema } = fleetSchema(storeUrl);
    this.q = `"${schema}"`;
    // A readout hashes every exposed unit of the experiment: memory enough to do it in one pass
    // (the default 4 MB splits 10M units into hundreds of batches), and no JIT compile for a query run once.
    this.pool = new pg.Pool({ connectionString: url, max: 2, options: '-c work_mem=256MB -c jit=off' });
    this.pool.on('error', () => undefined);
  }

  /** Readouts running, by experiment: callers asking for the same one meanwhile share its run (a readout scans every unit). */
  private readonly running = new Map<string, Promise<Readout>>();

  /** Every experiment's readout, or one's (an empty list when it has no exposures). */
  read(experiment?: string, config?: Config): Promise<Readout> {
    const key = JSON.stringify([experiment ?? null, config === undefined]);
    let run = this.running.get(key);
    if (run === undefined) {
      run = this.readNow(experiment, config).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  private async readNow(experiment: string | undefined, config: Config | undefined): Promise<Readout> {
    const agg = await this.aggregate(experiment);
    const revisions = [...new Set(agg.periods.map((p) => p.revision).filter((r): r is number => r !== null))];
    return buildReadout(agg, config, await this.weightsOf(revisions));
  }

  /** The cell weights of these revisions, from the store's revisions table (`junction analyze --decisions … --store …` too). */
  async weightsOf(revisions: readonly number[]): Promise<(n: number) => RevisionCells | undefined> {
    const weights = await this.revisionCells([...revisions]);
    return (n) => weights.get(n);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async aggregate(experiment: string | undefined): Promise<Aggregates> {
    const only = experiment === undefined ? '' : 'WHERE experiment = $1';
    const args = experiment === undefined ? [] : [experiment];
    const [units, cells, metrics] = await Promise.all([
      this.pool.query<{
        experiment: string;
        objective: string;
        cell: string;
        revision: number;
        units: string;
        several: string;
      }>(
        `SELECT experiment, min(objective) AS objective, cell, revision, count(*) AS units,
           count(*) FILTER (WHERE several) AS several
         FROM ${this.q}.readout_exposures ${only} GROUP BY experiment, cell, revision`,
        args,
      ),
      this.pool.query<CellsTableRow>(`SELECT * FROM ${this.q}.readout_cells ${only}`, args),
      // Each unit's value is its feedback sum (feedback_sums holds one row per unit and metric); units without feedback count 0.
      this.pool.query<{ experiment: string; cell: string; metric: string; sum: number; sumsq: number }>(
        `SELECT e.experiment, e.cell, f.metric, sum(f.sum) AS sum, sum(f.sum * f.sum) AS sumsq
         FROM ${this.q}.readout_exposures e
         JOIN ${this.q}.readout_feedback f ON f.objective = e.objective AND f.unit = e.unit
         ${experiment === undefined ? '' : 'WHERE e.experiment = $1'}
         GROUP BY e.experiment, e.cell, f.metric`,
        args,
      ),
    ]);
    const periods: PeriodRow[] = units.rows.map((r) => ({
      experiment: r.experiment,
      revision: r.revision,
      cell: r.cell,
      units: Number(r.units),
    }));
    const several = new Map<string, number>();
    for (const r of units.rows) several.set(r.experiment, (several.get(r.experiment) ?? 0) + Number(r.several));
    return {
      cells: cellRows(units.rows, cells.rows),
      periods,
      metrics: metrics.rows.map((r): MetricRow => ({
        experiment: r.experiment,
        cell: r.cell,
        metric: r.metric,
        sum: r.sum,
        sumSq: r.sumsq,
      })),
      unitsInSeveralCells: several,
    };
  }

  /** Each revision's experiments and cell weights, from the revisions table of the same store. */
  private async revisionCells(numbers: number[]): Promise<Map<number, RevisionCells>> {
    if (numbers.length === 0) return new Map();
    const { rows } = await this.pool.query<{ number: number; source_text: string }>(
      `SELECT number, source_text FROM ${this.q}.revisions WHERE number = ANY($1::int[])`,
      [numbers],
    );
    return new Map(rows.map((r) => [r.number, experimentCells(JSON.parse(r.source_text))]));
  }
}

interface CellSums {
  experiment: string;
  objective: string;
  cell: string;
  target: string | null;
  balance: string | null;
  revision: number;
  units: number;
  exposures: number;
  served: number;
  errors: number;
  latency: number[];
  ttft: number[];
}

/** A row of readout_cells as pg answers it (BIGINT and NUMERIC come back as strings). */
interface CellsTableRow {
  experiment: string;
  objective: string;
  cell: string;
  revision: number;
  target: string;
  balance: string;
  exposures: string;
  served: string;
  errors: string;
  latency: string[];
  ttft: string[];
}

/** Per experiment and cell: units from the exposures, counts and latency summed over revisions and replicas. */
function cellRows(
  units: ReadonlyArray<{ experiment: string; objective: string; cell: string; units: string }>,
  cells: readonly CellsTableRow[],
): CellRow[] {
  const out = new Map<string, CellSums>();
  const get = (experiment: string, objective: string, cell: string) => {
    const key = `${experiment}\u0001${cell}`;
    let s = out.get(key);
    if (s === undefined) {
      s = {
        experiment,
        objective,
        cell,
        target: null,
        balance: null,
        revision: -1,
        units: 0,
        exposures: 0,
        served: 0,
        errors: 0,
        latency: new Array<number>(LATENCY_BUCKETS).fill(0),
        ttft: new Array<number>(LATENCY_BUCKETS).fill(0),
      };
      out.set(key, s);
    }
    return s;
  };
  for (const u of units) get(u.experiment, u.objective, u.cell).units += Number(u.units);
  for (const c of cells) {
    const s = get(c.experiment, c.objective, c.cell);
    // The target of the latest revision names the cell.
    if (c.revision >= s.revision) {
      s.revision = c.revision;
      s.target = c.target;
      s.balance = c.balance === '' ? null : c.balance;
    }
    s.exposures += Number(c.exposures);
    s.served += Number(c.served);
    s.errors += Number(c.errors);
    addBuckets(s.latency, c.latency.map(Number));
    addBuckets(s.ttft, c.ttft.map(Number));
  }
  return [...out.values()]
    .sort((a, b) => cmp(a.experiment, b.experiment) || cmp(a.cell, b.cell))
    .map((s) => ({
      experiment: s.experiment,
      objective: s.objective,
      cell: s.cell,
      target: s.target,
      balance: s.balance,
      units: s.units,
      exposures: s.exposures,
      served: s.served,
      errors: s.errors,
      p50Ms: bucketQuantile(s.latency, 0.5),
      p99Ms: bucketQuantile(s.latency, 0.99),
      ttftP50Ms: bucketQuantile(s.ttft, 0.5),
      ttftP99Ms: bucketQuantile(s.ttft, 0.99),
    }));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
