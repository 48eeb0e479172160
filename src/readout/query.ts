// The readout's aggregation, in DuckDB reading the JSON-lines logs directly
// (SPEC §12: fast on 100 million decision lines on one machine). DuckDB scans
// the files in parallel, keeps only the columns named here and spills to disk
// when the units do not fit in memory; this file only says what to count.
// The statistics (stats/) run on the few numbers it returns.
import type { DuckDBConnection } from '@duckdb/node-api';

export interface LogFiles {
  decisions: readonly string[];
  feedback: readonly string[];
  /** Only this experiment (else every experiment in the log). */
  experiment?: string | undefined;
}

export interface CellRow {
  experiment: string;
  objective: string;
  cell: string;
  target: string | null;
  /** The balancer the cell names with its target (`use: { target, balance }`), from the log's `balance`. */
  balance: string | null;
  units: number;
  exposures: number;
  /** Requests Junction served (via invoke) in the cell: the denominator of the error rate. */
  served: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Time to first byte (first token of a stream) of served requests, from the log's `ttftMs`. */
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
}

export interface PeriodRow {
  experiment: string;
  /** null for log lines written without a revision. */
  revision: number | null;
  cell: string;
  units: number;
}

export interface MetricRow {
  experiment: string;
  cell: string;
  metric: string;
  /** Σ and Σ² over the cell's units of each unit's summed feedback value (units without feedback count 0). */
  sum: number;
  sumSq: number;
}

export interface Aggregates {
  cells: CellRow[];
  /** Units per experiment, cell and the revision of their first exposure (the sample-ratio test's weight periods). */
  periods: PeriodRow[];
  metrics: MetricRow[];
  /** Per experiment: units exposed to more than one of its cells (counted in their first). */
  unitsInSeveralCells: Map<string, number>;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const fileList = (files: readonly string[]) => `[${files.map(sqlString).join(', ')}]`;

// A malformed line (the last one of a log still being written) is skipped, not fatal: ignore_errors.
// Only these keys are read; the rest of each line (context, shadows, …) is skipped by the scanner.
// `time` stays text: Junction writes fixed-width ISO 8601 UTC, which sorts as the instant does, and skipping the parse is cheaper.
const DECISION_COLUMNS = `{time: 'VARCHAR', requestId: 'VARCHAR', objective: 'VARCHAR', unit: 'VARCHAR',
  experiment: 'VARCHAR', cell: 'VARCHAR', revision: 'INTEGER', target: 'VARCHAR', balance: 'VARCHAR', trafficClass: 'VARCHAR', status: 'INTEGER', latencyMs: 'DOUBLE', ttftMs: 'DOUBLE',
  fallback: 'VARCHAR'}`;
const FEEDBACK_COLUMNS = `{requestId: 'VARCHAR', objective: 'VARCHAR', unit: 'VARCHAR', metric: 'VARCHAR', value: 'DOUBLE'}`;

/**
 * The aggregates of the logs, on `db` (a connection of the caller's DuckDB:
 * runner.ts sets its memory limit, threads and spill folder). Its temp tables
 * are the connection's own and dropped with it.
 */
export async function aggregate(db: DuckDBConnection, files: LogFiles): Promise<Aggregates> {
  if (files.decisions.length === 0) throw new Error('aggregate: no decision log given');
  const only = files.experiment === undefined ? '' : `AND experiment = ${sqlString(files.experiment)}`;
  // Live exposures to an experiment; a request without a unit is its own unit.
  await db.run(`CREATE TEMP TABLE ex AS
      SELECT experiment, objective, cell, revision, target, balance, requestId, time, status, latencyMs, ttftMs, fallback,
             coalesce(unit, 'request:' || requestId) AS unitKey
      FROM read_json(${fileList(files.decisions)}, format = 'newline_delimited', ignore_errors = true, columns = ${DECISION_COLUMNS})
      WHERE experiment IS NOT NULL AND cell IS NOT NULL AND trafficClass = 'live' ${only}`);
  // Each unit once, in the cell it saw first.
  await db.run(`CREATE TEMP TABLE units AS
      SELECT experiment, any_value(objective) AS objective, unitKey, arg_min(cell, time) AS cell,
             arg_min(revision, time) AS revision, count(DISTINCT cell) AS cells
      FROM ex GROUP BY experiment, unitKey`);
  const cells = await rows<CellRow>(
    db,
    `
      WITH u AS (SELECT experiment, cell, count(*) AS units FROM units GROUP BY ALL),
      e AS (SELECT experiment, any_value(objective) AS objective, cell, any_value(target) AS target,
              any_value(balance) AS balance, count(*) AS exposures,
              count(latencyMs) AS served,
              count_if(latencyMs IS NOT NULL AND (status >= 500 OR fallback IS NOT NULL)) AS errors,
              quantile_cont(latencyMs, 0.5) AS p50Ms, quantile_cont(latencyMs, 0.99) AS p99Ms,
              quantile_cont(ttftMs, 0.5) AS ttftP50Ms, quantile_cont(ttftMs, 0.99) AS ttftP99Ms
            FROM ex GROUP BY experiment, cell)
      SELECT e.experiment, e.objective, e.cell, e.target, e.balance, coalesce(u.units, 0)::DOUBLE AS units,
             e.exposures::DOUBLE AS exposures, e.served::DOUBLE AS served, e.errors::DOUBLE AS errors, e.p50Ms, e.p99Ms,
             e.ttftP50Ms, e.ttftP99Ms
      FROM e LEFT JOIN u USING (experiment, cell) ORDER BY e.experiment, e.cell`,
  );
  const several = await rows<{ experiment: string; n: number }>(
    db,
    'SELECT experiment, count(*)::DOUBLE AS n FROM units WHERE cells > 1 GROUP BY experiment',
  );
  const periods = await rows<PeriodRow>(
    db,
    'SELECT experiment, revision, cell, count(*)::DOUBLE AS units FROM units GROUP BY ALL ORDER BY 1, 2, 3',
  );
  let metrics: MetricRow[] = [];
  if (files.feedback.length > 0) {
    await db.run(`CREATE TEMP TABLE fb AS
        SELECT requestId, objective, unit, metric, value
        FROM read_json(${fileList(files.feedback)}, format = 'newline_delimited', ignore_errors = true, columns = ${FEEDBACK_COLUMNS})
        WHERE metric IS NOT NULL AND value IS NOT NULL`);
    // Feedback reaches a unit by the request it answered, or by objective + unit; its cell is the unit's first.
    metrics = await rows<MetricRow>(
      db,
      `
        WITH byRequest AS (
          SELECT DISTINCT ex.experiment, ex.unitKey, fb.metric, fb.value, fb.rowid AS fid
          FROM fb JOIN (SELECT DISTINCT requestId, experiment, unitKey FROM ex) ex ON fb.requestId = ex.requestId),
        byUnit AS (
          SELECT units.experiment, units.unitKey, fb.metric, fb.value, fb.rowid AS fid
          FROM fb JOIN units ON fb.requestId IS NULL AND fb.objective = units.objective AND fb.unit = units.unitKey),
        perUnit AS (
          SELECT experiment, unitKey, metric, sum(value) AS v FROM (SELECT * FROM byRequest UNION ALL SELECT * FROM byUnit) GROUP BY ALL)
        SELECT units.experiment, units.cell, perUnit.metric, sum(v)::DOUBLE AS sum, sum(v * v)::DOUBLE AS sumSq
        FROM perUnit JOIN units USING (experiment, unitKey)
        GROUP BY ALL ORDER BY 1, 3, 2`,
    );
  }
  return { cells, periods, metrics, unitsInSeveralCells: new Map(several.map((r) => [r.experiment, r.n])) };
}

async function rows<T>(db: DuckDBConnection, sql: string): Promise<T[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as unknown as T[];
}
