// The fleet readout with real parts (issue 28, item 5): three `junction serve`
// processes on the real PostgreSQL, one 30/70 experiment whose traffic and
// feedback (by unit, and by a request another replica served) are spread
// across them. One replica is SIGKILLed mid-run: what it loses is only what
// it gathered after its last batch began, and it comes back and catches up.
// The readout `junction analyze --store` prints, and every replica's admin
// API answers, equals the truth this test computes from everything it sent
// (less the killed replica's lost batch, which the test bounds).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ExperimentReadout, Readout } from '../../src/readout/readout.js';
import { srmPValue } from '../../src/stats/srm.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { dropSchema, PGURL, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const skip = await postgresSkipReason();
const TOKEN = 'fleet-readout-token';
const CLI = fileURLToPath(new URL('../support/junction-cli.ts', import.meta.url));
/** The writer's flush period (fleet-readout-writer.ts default). */
const FLUSH_MS = 2000;
/** A request's record reaches the writer as its response ends; its batch is taken a moment before the batch's transaction begins. */
const SLACK_MS = 500;

interface Sent {
  cell: string;
  /** Exposures answered (200), each counted by the replica that served it. */
  exposures: number;
  /** The unit's summed feedback value for "click". */
  click: number;
}

describe.skipIf(skip !== undefined)('fleet readout over three replicas on PostgreSQL', () => {
  const schema = uniqueSchema('jfleetrd');
  const url = storeUrl(schema);
  let dir: string;
  let upstream: Upstream;
  let args: string[];
  const replicas: JunctionProcess[] = [];
  const units = new Map<string, Sent>();
  /** The units only the killed replica served, with when their answer came back (ms since the epoch). */
  const atRisk = new Map<string, number>();
  let killedAt = 0;
  let seq = 0;

  async function call(r: JunctionProcess, unit: string): Promise<string> {
    const requestId = `rq-${seq++}`;
    const res = await request(`${r.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { 'x-unit-id': unit, 'x-request-id': requestId },
      body: '{}',
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    const cell = /cell=(\w+)/.exec(String(res.headers['x-decision']))![1]!;
    const sent = units.get(unit) ?? { cell, exposures: 0, click: 0 };
    expect(sent.cell).toBe(cell); // sticky in every replica
    sent.exposures++;
    units.set(unit, sent);
    return requestId;
  }

  async function feedback(r: JunctionProcess, unit: string, item: Record<string, unknown>, value: number) {
    const res = await request(`${r.url}/v1/feedback`, {
      method: 'POST',
      body: JSON.stringify({ ...item, metric: 'click', value }),
    });
    await res.body.text();
    expect(res.statusCode).toBe(202);
    units.get(unit)!.click += value;
  }

  /** Units u-from … u-to: calls on one or two replicas, feedback by unit or by request id to another replica. */
  async function traffic(from: number, to: number, live: JunctionProcess[]) {
    for (let start = from; start < to; start += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, to - start) }, async (_, i) => {
          const u = start + i;
          const unit = `u-${u}`;
          const first = live[u % live.length]!;
          const requestId = await call(first, unit);
          if (u % 3 === 0) await call(live[(u + 1) % live.length]!, unit);
          if (u % 2 === 0) await feedback(live[(u + 2) % live.length]!, unit, { requestId }, 1); // parked, resolved by `first`
          if (u % 5 === 0) await feedback(live[(u + 1) % live.length]!, unit, { objective: 'cw', unit }, 2.5);
        }),
      );
    }
  }

  async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: PGURL });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /**
   * Polls (bounded) until the store holds `n` exposed units and no parked
   * feedback: every replica flushed, and each resolved the feedback by request
   * id that others parked for the requests it served.
   */
  async function storeHolds(n: number, timeoutMs = 20_000): Promise<void> {
    const start = Date.now();
    for (;;) {
      const [row] = await query<{ n: string; parked: string }>(
        `SELECT (SELECT count(*) FROM "${schema}".readout_exposures) AS n,
           (SELECT count(*) FROM "${schema}".readout_feedback_pending) AS parked`,
      );
      if (Number(row!.n) >= n && Number(row!.parked) === 0) return;
      if (Date.now() - start > timeoutMs)
        throw new Error(`the store holds ${row!.n} units (expected ${n}) and ${row!.parked} parked feedback rows`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    upstream = await startUpstream('ranker');
    dir = mkdtempSync(join(tmpdir(), 'junction-fleet-readout-'));
    const file = join(dir, 'junction.yaml');
    const backend = { type: 'http', endpoints: [upstream.url] };
    writeFileSync(
      file,
      stringify({
        models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
        objectives: {
          cw: {
            default: 'ranker@6',
            experiments: [
              {
                id: 'cw-42',
                population: 1,
                cells: { A: { weight: 30, use: 'ranker@6' }, B: { weight: 70, use: 'ranker@7' } },
              },
            ],
          },
        },
      }),
    );
    args = ['serve', '--config', file, '--store', url, '--port', '0', '--admin-port', '0', '--host', '127.0.0.1'];
    for (let i = 0; i < 3; i++) replicas.push(await spawnJunction(args, { JUNCTION_ADMIN_TOKEN: TOKEN }, 90_000));
  }, 300_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('equals the truth of what was sent, loses at most the killed replica’s last batch, and catches up', async () => {
    // Phase 1: every replica serves; the store catches up with all of it.
    await traffic(0, 600, replicas);
    await storeHolds(600);

    // Phase 2: units only replica 2 serves, while the others keep serving; replica 2 is killed mid-run.
    const victim = replicas[2]!;
    const others = replicas.slice(0, 2);
    for (let k = 0; k < 300; k++) {
      const unit = `k-${k}`;
      if (k === 200) {
        victim.child.kill('SIGKILL');
        await new Promise((r) => victim.child.once('exit', r));
        killedAt = Date.now();
      }
      if (k < 200) {
        await call(victim, unit);
        atRisk.set(unit, Date.now());
      } else {
        await call(others[k % 2]!, unit);
      }
      // Its feedback goes to a replica that lives: only the victim's own batch is at risk.
      if (k % 2 === 0) await feedback(others[k % 2]!, unit, { objective: 'cw', unit }, 1);
      await call(others[k % 2]!, `o-${k}`);
    }

    // It comes back (a new process) and serves again; phase 3 spreads over all three.
    replicas[2] = await spawnJunction(args, { JUNCTION_ADMIN_TOKEN: TOKEN }, 90_000);
    await traffic(600, 900, replicas);
    const exposedUnits = [...units.keys()].filter((u) => !atRisk.has(u)).length;
    await storeHolds(exposedUnits);
    // SIGTERM: each replica flushes its last batch as it closes.
    await Promise.all(replicas.map((r) => r.stop()));

    // What the victim lost: units it alone served that the store does not have.
    const stored = new Set(
      (await query<{ unit: string }>(`SELECT unit FROM "${schema}".readout_exposures WHERE unit LIKE 'k-%'`)).map(
        (r) => r.unit,
      ),
    );
    const lost = [...atRisk.keys()].filter((u) => !stored.has(u));
    // Its last applied batch began at lastBatch: everything it answered before then is in the store.
    const batches = await query<{ process: string; last: Date }>(
      `SELECT process, max(applied_at) AS last FROM "${schema}".readout_batches GROUP BY process`,
    );
    const lastBatch = Math.max(...batches.map((b) => b.last.getTime()).filter((t) => t <= killedAt));
    for (const u of lost) expect(atRisk.get(u)!).toBeGreaterThan(lastBatch - SLACK_MS);
    // That is what it answered in its last flush period (2 s, stretched only when the machine is loaded).
    const answeredSince = [...atRisk.values()].filter((t) => t > lastBatch - SLACK_MS).length;
    expect(lost.length).toBeLessThanOrEqual(answeredSince);
    console.log(
      `killed replica lost ${lost.length} of ${atRisk.size} units it alone served: its last batch began ${killedAt - lastBatch} ms before the kill (flush period ${FLUSH_MS} ms)`,
    );

    // The truth, from what was sent: lost units (and their feedback, which has no exposure to join) left out.
    for (const u of lost) units.delete(u);
    const truth = { A: [] as number[], B: [] as number[] };
    const exposures = { A: 0, B: 0 };
    for (const s of units.values()) {
      truth[s.cell as 'A' | 'B'].push(s.click);
      exposures[s.cell as 'A' | 'B'] += s.exposures;
    }
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const check = (e: ExperimentReadout) => {
      expect(e.cells.map((c) => [c.cell, c.weight, c.units, c.exposures])).toEqual([
        ['A', 30, truth.A.length, exposures.A],
        ['B', 70, truth.B.length, exposures.B],
      ]);
      expect(e.srm).toMatchObject({ weights: 'revisions', weightsChanged: false, flagged: false });
      expect(e.srm.pValue).toBeCloseTo(srmPValue([truth.A.length, truth.B.length], [30, 70]), 12);
      const click = e.metrics.find((m) => m.metric === 'click')!;
      expect(click.cells[0]!.mean).toBeCloseTo(mean(truth.A), 12);
      expect(click.cells[1]!.mean).toBeCloseTo(mean(truth.B), 12);
      expect(click.cells[1]!.difference!.estimate).toBeCloseTo(mean(truth.B) - mean(truth.A), 12);
      expect(e.cells.every((c) => c.errorRate === 0 && c.latencyMs.p50 !== null)).toBe(true);
    };

    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, 'analyze', '--store', url, '--experiment', 'cw-42', '--json'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const readout = JSON.parse(stdout) as Readout;
    check(readout.experiments[0]!);

    // Any replica's admin API answers the same readout from the store.
    const replica = await spawnJunction(args, { JUNCTION_ADMIN_TOKEN: TOKEN }, 90_000);
    replicas.push(replica);
    const res = await request(`${replica.adminUrl}/admin/experiments/cw-42/results`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    check(((await res.body.json()) as { experiment: ExperimentReadout }).experiment);
  }, 400_000);
});
