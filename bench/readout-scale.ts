// The fleet readout at scale (issue 28, item 6: 10M exposed units and 10M
// feedback events answered in ≤ 30 s): the tables of migration 7 filled in
// the real PostgreSQL by generate_series (a 30/70 experiment, one feedback row
// per unit and metric as the writers leave it), then the readout the admin
// API and `junction analyze --store` run, timed. Generation is not timed;
// the tables are vacuumed and analyzed first, as autovacuum leaves a table
// that has stopped growing. Also reports the tables' size per million units.
//
//   npx tsx bench/readout-scale.ts [units]      (default 10,000,000; PGURL as the tests read it)
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { FleetReadoutReader } from '../src/control/fleet-readout.js';
import { PostgresStore } from '../src/control/postgres-store.js';
import type { BenchSection } from './report.js';

const PGURL = process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function benchReadoutScale(units: number): Promise<BenchSection> {
  const schema = `jbench_${randomBytes(4).toString('hex')}`;
  const u = new URL(PGURL);
  u.searchParams.set('schema', schema);
  const url = u.toString();
  const store = await PostgresStore.open(url);
  const db = new pg.Client({ connectionString: PGURL });
  await db.connect();
  const q = `"${schema}"`;
  try {
    await store.append({
      author: 'bench',
      message: 'a 30/70 experiment',
      source: {
        objectives: {
          cw: {
            default: 'm@1',
            experiments: [
              {
                id: 'bench-exp',
                population: 1,
                cells: { A: { weight: 30, use: 'm@1' }, B: { weight: 70, use: 'm@2' } },
              },
            ],
          },
        },
      },
    });
    const generated = performance.now();
    await db.query(
      `INSERT INTO ${q}.readout_exposures (experiment, unit, objective, cell, revision, first_at, several)
       SELECT 'bench-exp', 'user-' || i, 'cw', CASE WHEN abs(hashint4(i)) % 100 < 30 THEN 'A' ELSE 'B' END, 1,
         now() - make_interval(secs => i % 86400), i % 1000 = 0
       FROM generate_series(1, $1::int) AS i`,
      [units],
    );
    // One feedback row per unit: the writers sum a unit's events into its row (10M events → up to 10M rows).
    await db.query(
      `INSERT INTO ${q}.readout_feedback (objective, unit, metric, sum, count)
       SELECT 'cw', 'user-' || i, 'click', (abs(hashint4(i + 7)) % 5)::float8, 1 FROM generate_series(1, $1::int) AS i`,
      [units],
    );
    await db.query(
      `INSERT INTO ${q}.readout_cells (experiment, objective, cell, revision, target, balance, exposures, served, errors, latency, ttft)
       SELECT 'bench-exp', 'cw', c, 1, 'm@1', '', $1::bigint, $1::bigint, 0, array_fill(1::bigint, ARRAY[322]), array_fill(1::bigint, ARRAY[322])
       FROM unnest(ARRAY['A', 'B']) AS c`,
      [units],
    );
    await db.query(`VACUUM ANALYZE ${q}.readout_exposures`);
    await db.query(`VACUUM ANALYZE ${q}.readout_feedback`);
    const generateSeconds = (performance.now() - generated) / 1000;
    const { rows: sizes } = await db.query<{ exposures: string; feedback: string }>(
      `SELECT pg_total_relation_size('${q}.readout_exposures') AS exposures, pg_total_relation_size('${q}.readout_feedback') AS feedback`,
    );
    const reader = new FleetReadoutReader(url);
    try {
      const runs: number[] = [];
      let total = 0;
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        const readout = await reader.read('bench-exp');
        runs.push((performance.now() - started) / 1000);
        total = readout.experiments[0]!.cells.reduce((s, c) => s + c.units, 0);
        if (total !== units) throw new Error(`the readout counted ${total} units, ${units} were generated`);
      }
      const perMillion = (bytes: string) => ((Number(bytes) / units) * 1e6) / 2 ** 20;
      return {
        name: 'fleet readout (PostgreSQL)',
        rows: [
          {
            'exposed units': units,
            'feedback rows': units,
            'first read s': runs[0]!.toFixed(1),
            'second read s': runs[1]!.toFixed(1),
            'exposures MiB / M units': perMillion(sizes[0]!.exposures).toFixed(0),
            'feedback MiB / M units·metric': perMillion(sizes[0]!.feedback).toFixed(0),
          },
        ],
        notes: [
          `generated with generate_series and vacuumed in ${generateSeconds.toFixed(0)} s (not timed); target ≤ 30 s`,
          'PostgreSQL aggregates (a parallel hash join of exposures and feedback sums); Node receives per-cell sums',
        ],
      };
    } finally {
      await reader.close();
    }
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`).catch(() => undefined);
    await db.end();
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const units = Number(process.argv[2] ?? 10_000_000);
  const { formatSection } = await import('./report.js');
  console.log(formatSection(await benchReadoutScale(units)));
}
