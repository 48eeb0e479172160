// `junction logs export --parquet OUT [--from T] [--to T] [--kind decisions|feedback] FILE|GLOB…`
// (SPEC §19): the JSON-lines logs as one Parquet file a warehouse loads
// (BigQuery, Snowflake, Athena, Spark, DuckDB itself). DuckDB reads the lines
// (every file a glob matches, each log file with its rotated files) and writes
// the Parquet; the columns are the log's contract (docs/observability.md,
// docs/experiments.md) with fixed types, so every export has the same schema
// whatever the lines held: `time` a UTC timestamp, `context` a string map,
// `shadows` and `usage` JSON.
import { closeSync, openSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { expandLogFiles } from '../readout/log-files.js';
import { UserError } from './user-error.js';

const USAGE = `usage: junction logs export --parquet OUT [--from T] [--to T] [--kind decisions|feedback] FILE|GLOB…
  --parquet  the Parquet file to write (replaced if it exists)
  --from/--to  only lines with from <= time < to (a date or an ISO time, UTC unless it says otherwise)
  --kind     which log the files are (default: read from the first line: feedback lines have a metric)
  FILE|GLOB  log files, or quoted globs ('logs/*/decisions.jsonl'); a log file brings the files it was rotated into
  Lines that are not the kind's (rollout events in the decision log, a torn last line) are left out.
`;

type Kind = 'decisions' | 'feedback';

/** The columns of each log with the types they are read as; `time` is read as text and converted, so a bad one is null, not an error. */
const COLUMNS: Readonly<Record<Kind, Readonly<Record<string, string>>>> = {
  decisions: {
    time: 'VARCHAR',
    requestId: 'VARCHAR',
    via: 'VARCHAR',
    objective: 'VARCHAR',
    unit: 'VARCHAR',
    context: 'MAP(VARCHAR, VARCHAR)',
    rule: 'VARCHAR',
    experiment: 'VARCHAR',
    cell: 'VARCHAR',
    target: 'VARCHAR',
    balance: 'VARCHAR',
    revision: 'INTEGER',
    client: 'VARCHAR',
    trafficClass: 'VARCHAR',
    status: 'INTEGER',
    error: 'VARCHAR',
    latencyMs: 'DOUBLE',
    ttftMs: 'DOUBLE',
    fallback: 'VARCHAR',
    shadows: 'JSON',
    usage: 'JSON',
    endpoint: 'VARCHAR',
    pick: 'VARCHAR',
    cost: 'DOUBLE',
    currency: 'VARCHAR',
    estimated: 'BOOLEAN',
    cache: 'VARCHAR',
  },
  feedback: {
    time: 'VARCHAR',
    requestId: 'VARCHAR',
    objective: 'VARCHAR',
    unit: 'VARCHAR',
    metric: 'VARCHAR',
    value: 'DOUBLE',
  },
};

/** What makes a line one of the kind's: a decision has a requestId (rollout events do not), feedback a metric. */
const KEY: Readonly<Record<Kind, string>> = { decisions: 'requestId', feedback: 'metric' };

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function logsCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== 'export') throw new UserError(`logs knows one verb, export (got ${verb ?? 'none'}):\n${USAGE}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      parquet: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      kind: { type: 'string' },
    },
  });
  if (values.parquet === undefined)
    throw new UserError('give the file to write: --parquet OUT (Parquet is the one format for now)');
  if (positionals.length === 0)
    throw new UserError('give the log files to export: FILE or a quoted GLOB, after the flags');
  const { files, unmatched } = expandLogFiles(positionals);
  if (unmatched.length > 0) throw new UserError(`no such file: ${unmatched.join(', ')}`);
  const kind = values.kind === undefined ? kindOf(files[0]!) : kindFlag(values.kind);
  const from = instant(values.from, '--from');
  const to = instant(values.to, '--to');
  if (from !== undefined && to !== undefined && from >= to)
    throw new UserError(`--from must be before --to (got ${values.from} and ${values.to})`);

  const columns = COLUMNS[kind];
  const spec = `{${Object.entries(columns)
    .map(([name, type]) => `${name}: ${sqlString(type)}`)
    .join(', ')}}`;
  const select = Object.keys(columns)
    .map((name) => (name === 'time' ? 'TRY_CAST(time AS TIMESTAMPTZ) AS time' : `"${name}"`))
    .join(', ');
  const where = [`"${KEY[kind]}" IS NOT NULL`];
  if (from !== undefined) where.push(`TRY_CAST(time AS TIMESTAMPTZ) >= ${sqlString(from)}::TIMESTAMPTZ`);
  if (to !== undefined) where.push(`TRY_CAST(time AS TIMESTAMPTZ) < ${sqlString(to)}::TIMESTAMPTZ`);
  const sql = `COPY (SELECT ${select}
      FROM read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', ignore_errors = true, columns = ${spec})
      WHERE ${where.join(' AND ')})
    TO ${sqlString(values.parquet)} (FORMAT parquet, COMPRESSION zstd)`;

  // Loaded here: the engine is a large native library no other command should pay for.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const db = await instance.connect();
    try {
      const result = await db.runAndReadAll(sql);
      const rows = Number((result.getRowObjectsJS()[0] as { Count?: bigint } | undefined)?.Count ?? 0);
      process.stdout.write(
        `junction: ${rows} ${kind === 'decisions' ? 'decision' : 'feedback'} lines from ${files.length} file(s) written to ${values.parquet}\n`,
      );
    } finally {
      db.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  return 0;
}

function kindFlag(value: string): Kind {
  if (value === 'decisions' || value === 'feedback') return value;
  throw new UserError(`--kind must be decisions or feedback (got "${value}")`);
}

/** The kind of the log `file` is, from its first line: a feedback line has a metric and no via. */
function kindOf(file: string): Kind {
  // The first 64 KiB hold the first line (a decision line is a few hundred bytes): a log may be gigabytes.
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(65_536);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const first = head.subarray(0, n).toString('utf8').split('\n', 1)[0]!;
  try {
    const line = JSON.parse(first) as Record<string, unknown>;
    return 'metric' in line && !('via' in line) ? 'feedback' : 'decisions';
  } catch {
    return 'decisions';
  }
}

/** `--from`/`--to`: a date or an ISO time, as an ISO instant (a date alone is midnight UTC). */
function instant(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms))
    throw new UserError(
      `${flag} must be a date or an ISO time such as 2026-12-01 or 2026-12-01T10:00:00Z (got "${value}")`,
    );
  return new Date(ms).toISOString();
}
