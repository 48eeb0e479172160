// The experiment readout on a large decision log (SPEC §12: fast on 100
// million lines on one machine): a generated log of `lines` decision lines
// (the real line shape: context, shadows and all) and a tenth as many
// feedback lines, read by the same code `junction analyze` runs. Reports
// decision lines per second of readout (generation is not timed).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { readExperiments } from '../src/readout/readout.js';
import type { BenchSection } from './report.js';

/** Writes `lines` decision lines (1 in `every` in experiment "bench-exp", 4 cells, ~lines/3 units) and lines/10 feedback lines. */
export async function generate(
  dir: string,
  lines: number,
  every = 5,
): Promise<{ decisions: string; feedback: string }> {
  const decisions = join(dir, 'decisions.jsonl');
  const feedback = join(dir, 'feedback.jsonl');
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  await db.run(`COPY (
    SELECT strftime(TIMESTAMP '2026-11-01' + to_milliseconds(i), '%Y-%m-%dT%H:%M:%S.%gZ') AS time, 'req-' || i AS requestId, 'invoke' AS via,
      'continue-watching-ranking' AS objective, 'user-' || (hash(i) % ${Math.max(1, Math.floor(lines / 3))}) AS unit,
      {'country': 'BR', 'device': 'tv'} AS context,
      CASE WHEN i % ${every} = 0 THEN 'experiment:bench-exp' ELSE 'default' END AS rule,
      CASE WHEN i % ${every} = 0 THEN 'bench-exp' END AS experiment,
      CASE WHEN i % ${every} = 0 THEN 'cell-' || (hash('user-' || (hash(i) % ${Math.max(1, Math.floor(lines / 3))})) % 4) END AS cell,
      'ranker@7' AS target, 12 AS revision, 'web' AS client, CASE WHEN i % 100 = 0 THEN 'test' ELSE 'live' END AS trafficClass,
      CASE WHEN i % 97 = 0 THEN 503 ELSE 200 END AS status, NULL::VARCHAR AS error, round(5 + (hash(i) % 5000) / 100.0, 3) AS latencyMs,
      NULL::VARCHAR AS fallback, [{'target': 'ranker@8', 'result': 'agree'}] AS shadows
    FROM range(${lines}) t(i)) TO '${decisions}' (FORMAT JSON)`);
  await db.run(`COPY (
    SELECT strftime(TIMESTAMP '2026-11-01', '%Y-%m-%dT%H:%M:%SZ') AS time, 'req-' || (i * ${every}) AS requestId, NULL::VARCHAR AS objective, NULL::VARCHAR AS unit,
      'click' AS metric, (hash(i) % 2)::DOUBLE AS value
    FROM range(${Math.floor(lines / 10)}) t(i)) TO '${feedback}' (FORMAT JSON)`);
  db.closeSync();
  return { decisions, feedback };
}

export async function benchReadout(lines: number): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-readout-bench-'));
  try {
    const files = await generate(dir, lines);
    const gib = (statSync(files.decisions).size / 2 ** 30).toFixed(2);
    const started = performance.now();
    const readout = await readExperiments({ decisions: [files.decisions], feedback: [files.feedback] });
    const seconds = (performance.now() - started) / 1000;
    const e = readout.experiments[0];
    return {
      name: 'readout (junction analyze)',
      rows: [
        {
          'decision lines': lines,
          'log size GiB': gib,
          'feedback lines': Math.floor(lines / 10),
          seconds: seconds.toFixed(1),
          'decision lines/s': Math.round(lines / seconds),
          units: e?.cells.reduce((s, c) => s + c.units, 0) ?? 0,
        },
      ],
      notes: [
        'DuckDB (@duckdb/node-api) reading the JSON lines directly, all cores; generation not timed',
        `at this rate 100 million lines take about ${Math.round(1e8 / (lines / seconds) / 60)} min`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
