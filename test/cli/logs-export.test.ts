// `junction logs export --parquet`: a real Junction's rotated decision log (and
// its feedback log) read back from the Parquet with DuckDB: one row per logged
// line, the fields as logged, `time` a UTC timestamp; --from/--to; globs over
// several replicas' folders; one-line errors.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../support/output.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const io = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'junction-logs-export-'));
const decisions = join(dir, 'decisions.jsonl');
const feedback = join(dir, 'feedback.jsonl');
const N = 300;
let upstream: Upstream;

async function parquetRows(
  file: string,
  sql = 'SELECT * FROM t ORDER BY requestId',
): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`CREATE VIEW t AS SELECT * FROM read_parquet('${file}')`);
    return (await db.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  const backend = { type: 'http', endpoints: [upstream.url] };
  const junction = await startJunction({
    listen: false,
    decisionLog: decisions,
    feedbackLog: feedback,
    logRotation: { maxBytes: 16 * 1024 },
    config: {
      models: { ranker: { versions: { '6': { backend } } } },
      // A rule on country: the decision log writes the context keys routing reads.
      objectives: {
        cw: { default: 'ranker@6', rules: [{ id: 'br', when: { context: { country: ['BR'] } }, use: 'ranker@6' }] },
      },
    },
  });
  for (let i = 0; i < N; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        junction.inject({
          method: 'POST',
          url: '/v1/objectives/cw',
          headers: {
            'x-request-id': `req-${String(i + k).padStart(4, '0')}`,
            'x-unit-id': `u-${i + k}`,
            'x-context-country': 'BR',
          },
          body: '{}',
        }),
      ),
    );
  }
  const fb = await junction.inject({
    method: 'POST',
    url: '/v1/feedback',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      feedback: [
        { requestId: 'req-0001', metric: 'click', value: 1 },
        { requestId: 'req-0002', metric: 'click', value: 0.5 },
      ],
    }),
  });
  expect(fb.status).toBe(202);
  await junction.close();
}, 120_000); // hundreds of requests through real Junctions, on a loaded machine
afterAll(async () => {
  await upstream?.close();
});

describe('junction logs export --parquet', () => {
  it('writes every line of the rotated decision log, as logged', async () => {
    expect(readdirSync(dir).filter((n) => n.startsWith('decisions.jsonl.')).length).toBeGreaterThan(3);
    const out = join(dir, 'decisions.parquet');
    expect(await main(['logs', 'export', '--parquet', out, decisions])).toBe(0);
    expect(io.out).toMatch(new RegExp(`${N} decision lines from \\d+ file\\(s\\) written to`));
    const rows = await parquetRows(out);
    expect(rows).toHaveLength(N);
    const logged = readdirSync(dir)
      .filter((n) => n.startsWith('decisions.jsonl'))
      .flatMap((n) =>
        readFileSync(join(dir, n), 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      )
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .sort((a, b) => String(a.requestId).localeCompare(String(b.requestId)));
    for (const i of [0, 137, N - 1]) {
      const row = rows[i]!;
      const line = logged[i]!;
      expect(row.requestId).toBe(line.requestId);
      expect(row.unit).toBe(line.unit);
      expect(row.objective).toBe('cw');
      expect(row.target).toBe('ranker@6');
      expect(row.status).toBe(200);
      expect(row.latencyMs).toBe(line.latencyMs);
      expect((row.time as Date).toISOString()).toBe(line.time);
    }
    const [types] = await parquetRows(out, 'SELECT typeof(time) AS time, typeof(context) AS context FROM t LIMIT 1');
    expect(types).toEqual({ time: 'TIMESTAMP WITH TIME ZONE', context: 'MAP(VARCHAR, VARCHAR)' });
    const [br] = await parquetRows(out, "SELECT count(*)::INTEGER AS n FROM t WHERE context['country'] = 'BR'");
    expect(br!.n).toBe(N);
  });

  it('tells a feedback log by its lines and writes its columns', async () => {
    const out = join(dir, 'feedback.parquet');
    expect(await main(['logs', 'export', '--parquet', out, feedback])).toBe(0);
    const rows = await parquetRows(out);
    expect(rows.map((r) => [r.requestId, r.metric, r.value])).toEqual([
      ['req-0001', 'click', 1],
      ['req-0002', 'click', 0.5],
    ]);
  });

  it('--from/--to keep the lines of a window; a glob reads several replicas, rollout events are left out', async () => {
    const root = mkdtempSync(join(tmpdir(), 'junction-logs-window-'));
    const line = (id: string, time: string) =>
      JSON.stringify({ time, requestId: id, via: 'invoke', objective: 'cw', unit: null, context: {}, status: 200 });
    for (const replica of ['r1', 'r2']) {
      mkdirSync(join(root, replica));
      writeFileSync(
        join(root, replica, 'decisions.jsonl'),
        [
          line(`${replica}-early`, '2026-11-30T23:59:59.999Z'),
          line(`${replica}-in`, '2026-12-01T10:00:00.000Z'),
          JSON.stringify({ time: '2026-12-01T11:00:00.000Z', event: 'rollout', objective: 'cw', action: 'advance' }),
          line(`${replica}-late`, '2026-12-02T00:00:00.000Z'),
        ].join('\n') + '\n',
      );
      writeFileSync(
        join(root, replica, 'decisions.jsonl.20261201T000000Z'),
        `${line(`${replica}-rotated`, '2026-12-01T00:00:00.000Z')}\n`,
      );
    }
    const out = join(root, 'window.parquet');
    expect(
      await main([
        'logs',
        'export',
        '--parquet',
        out,
        '--from',
        '2026-12-01',
        '--to',
        '2026-12-02',
        join(root, '*/decisions.jsonl'),
      ]),
    ).toBe(0);
    expect((await parquetRows(out)).map((r) => r.requestId)).toEqual(['r1-in', 'r1-rotated', 'r2-in', 'r2-rotated']);
  });

  it('refuses, in one line, a pattern that matches nothing, a missing --parquet and a bad --from', async () => {
    expect(await main(['logs', 'export', '--parquet', join(dir, 'x.parquet'), join(dir, 'nope-*.jsonl')])).toBe(1);
    expect(io.err).toContain('no such file: ');
    expect(await main(['logs', 'export', decisions])).toBe(1);
    expect(io.err).toContain('--parquet OUT');
    expect(await main(['logs', 'export', '--parquet', join(dir, 'x.parquet'), '--from', 'yesterday', decisions])).toBe(
      1,
    );
    expect(io.err).toContain('--from must be a date or an ISO time');
    expect(await main(['logs', 'import'])).toBe(1);
    expect(io.err).toContain('logs knows one verb, export');
  });
});
