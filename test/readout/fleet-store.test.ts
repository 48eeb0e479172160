// The fleet readout's store on the real PostgreSQL, with Junctions in this
// process sharing one schema: what each writes (exposures, cell counts,
// feedback by unit and by a request another replica served) reads back as the
// readout the test computes from what it sent; a batch sent twice counts once;
// weights come from the revisions (30/70 not flagged, a change of weights read
// per period); SQL metacharacters in an experiment id are data; PostgreSQL out
// of reach keeps serving, with the writer bounded and its drops counted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { ReadoutBatch } from '../../src/control/fleet-readout-batch.js';
import { applyBatch } from '../../src/control/fleet-readout-sql.js';
import { FleetReadoutReader } from '../../src/control/fleet-readout.js';
import { FleetReadoutWriter } from '../../src/control/fleet-readout-writer.js';
import { main } from '../../src/cli/main.js';
import type { Readout } from '../../src/readout/readout.js';
import { srmPValue } from '../../src/stats/srm.js';
import { captureOutput } from '../support/output.js';
import { dropSchema, postgresSkipReason, PGURL, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const skip = await postgresSkipReason();
const schema = uniqueSchema('jfleet');
const url = storeUrl(schema);
const quiet = { error() {}, warn() {}, info() {} };
const io = captureOutput();
let upstream: Upstream;
const replicas: Junction[] = [];

function configWith(weights: [number, number]) {
  const backend = { type: 'http', endpoints: [upstream.url] };
  return {
    models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
    objectives: {
      cw: {
        default: 'ranker@6',
        experiments: [
          {
            id: 'cw-42',
            population: 1,
            cells: { A: { weight: weights[0], use: 'ranker@6' }, B: { weight: weights[1], use: 'ranker@7' } },
          },
        ],
      },
    },
  };
}

async function call(j: Junction, unit: string, requestId: string): Promise<string> {
  const res = await request(`${j.url}/v1/objectives/cw`, {
    method: 'POST',
    headers: { 'x-unit-id': unit, 'x-request-id': requestId },
    body: '{}',
  });
  await res.body.text();
  expect(res.statusCode).toBe(200);
  return /cell=(\w+)/.exec(String(res.headers['x-decision']))![1]!;
}

async function feedback(j: Junction, items: unknown[]): Promise<void> {
  const res = await request(`${j.url}/v1/feedback`, { method: 'POST', body: JSON.stringify({ feedback: items }) });
  expect(res.statusCode).toBe(202);
  await res.body.text();
}

/** Every replica's batch in the store, and each one's parked feedback resolved (a second flush picks up what the first parked). */
async function flushAll(): Promise<void> {
  for (let round = 0; round < 2; round++) for (const j of replicas) await j.control!.readoutWriter!.flush();
}

describe.skipIf(skip !== undefined)('fleet readout store (PostgreSQL)', () => {
  beforeAll(async () => {
    upstream = await startUpstream('ranker');
    for (let i = 0; i < 2; i++)
      replicas.push(
        await startJunction({
          port: 0,
          config: configWith([30, 70]),
          control: { store: url, admin: { port: 0, insecure: true }, readoutFlushMs: 60_000 },
          log: quiet,
        }),
      );
  }, 60_000);
  afterAll(async () => {
    for (const j of replicas) await j.close();
    await upstream?.close();
    await dropSchema(schema);
  });

  it('reads back what two replicas saw: units, exposures, feedback by unit and by request, 30/70 not flagged', async () => {
    const cellOf = new Map<string, string>();
    const value = new Map<string, number>();
    let exposures = 0;
    for (let u = 0; u < 200; u++) {
      const unit = `user-${u}`;
      // Each unit calls a replica or both; its first cell is what counts (decisions are sticky).
      const calls = 1 + (u % 3);
      for (let k = 0; k < calls; k++) {
        cellOf.set(unit, await call(replicas[(u + k) % 2]!, unit, `req-${u}-${k}`));
        exposures++;
      }
      if (u % 2 === 0) {
        // By request id, sent to the other replica than served it: parked in the store, resolved by the one that served it.
        await feedback(replicas[(u + 1) % 2]!, [{ requestId: `req-${u}-0`, metric: 'click', value: 1 }]);
        value.set(unit, 1);
      }
      if (u % 5 === 0) {
        await feedback(replicas[u % 2]!, [
          { objective: 'cw', unit, metric: 'click', value: 2 },
          { objective: 'cw', unit, metric: 'click', value: 0.5 },
        ]);
        value.set(unit, (value.get(unit) ?? 0) + 2.5);
      }
    }
    await flushAll();
    const reader = new FleetReadoutReader(url);
    try {
      const readout = await reader.read('cw-42');
      const e = readout.experiments[0]!;
      const truth = { A: [] as number[], B: [] as number[] };
      for (const [unit, cell] of cellOf) truth[cell as 'A' | 'B'].push(value.get(unit) ?? 0);
      expect(e.cells.map((c) => [c.cell, c.units, c.weight])).toEqual([
        ['A', truth.A.length, 30],
        ['B', truth.B.length, 70],
      ]);
      expect(e.cells[0]!.exposures + e.cells[1]!.exposures).toBe(exposures);
      expect(e.cells.every((c) => c.errorRate === 0 && c.latencyMs.p50 !== null)).toBe(true);
      expect(e.srm.weights).toBe('revisions');
      expect(e.srm.weightsChanged).toBe(false);
      expect(e.srm.pValue).toBeCloseTo(srmPValue([truth.A.length, truth.B.length], [30, 70]), 12);
      expect(e.srm.flagged).toBe(false);
      const click = e.metrics.find((m) => m.metric === 'click')!;
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      expect(click.cells[0]!.mean).toBeCloseTo(mean(truth.A), 12);
      expect(click.cells[1]!.mean).toBeCloseTo(mean(truth.B), 12);
      expect(click.cells[1]!.difference!.estimate).toBeCloseTo(mean(truth.B) - mean(truth.A), 12);
      // The admin API of either replica answers the same, from the store.
      const res = await request(`${replicas[1]!.control!.adminUrl}/admin/experiments/cw-42/results`);
      const body = (await res.body.json()) as { experiment: typeof e };
      expect(body.experiment.cells.map((c) => c.units)).toEqual([truth.A.length, truth.B.length]);
    } finally {
      await reader.close();
    }
  }, 120_000);

  it('applies a batch sent again under the same (process, seq) once', async () => {
    const pool = new pg.Pool({ connectionString: PGURL, max: 1 });
    try {
      const batch = new ReadoutBatch();
      batch.addFeedback('cw', 'dup-unit', 'dup-metric', 3);
      expect(await applyBatch(pool, `"${schema}"`, 'retrying-process', 1, batch)).toBe(true);
      expect(await applyBatch(pool, `"${schema}"`, 'retrying-process', 1, batch)).toBe(false);
      const { rows } = await pool.query<{ sum: number; count: string }>(
        `SELECT sum, count FROM "${schema}".readout_feedback WHERE unit = 'dup-unit'`,
      );
      expect(rows).toEqual([{ sum: 3, count: '1' }]);
    } finally {
      await pool.end();
    }
  });

  it('keeps SQL metacharacters in an experiment id as data', async () => {
    const evil = `x'); DROP TABLE readout_exposures; --"\\`;
    const res = await request(`${replicas[0]!.url}/v1/exposures`, {
      method: 'POST',
      body: JSON.stringify({
        exposures: [
          {
            objective: 'cw',
            target: 'ranker@7',
            revision: 1,
            rule: `experiment:${evil}`,
            experiment: evil,
            cell: "B'",
            unit: 'u;1',
          },
        ],
      }),
    });
    expect(res.statusCode).toBe(202);
    await res.body.text();
    await flushAll();
    const reader = new FleetReadoutReader(url);
    try {
      const e = (await reader.read(evil)).experiments[0]!;
      expect(e.experiment).toBe(evil);
      expect(e.cells.map((c) => [c.cell, c.units])).toEqual([["B'", 1]]);
      // The cell is in no revision's experiment: its weight is unknown, and so is the test.
      expect(e.srm.pValue).toBeNull();
      expect((await reader.read('cw-42')).experiments[0]!.cells.length).toBe(2);
      const admin = await request(
        `${replicas[0]!.control!.adminUrl}/admin/experiments/${encodeURIComponent(evil)}/results`,
      );
      expect(admin.statusCode).toBe(200);
      expect(((await admin.body.json()) as { experiment: { experiment: string } }).experiment.experiment).toBe(evil);
    } finally {
      await reader.close();
    }
  });

  it('reads an experiment whose weights changed per weight period, and flags the change', async () => {
    const res = await request(`${replicas[0]!.control!.adminUrl}/admin/config?acknowledge=cw-42&message=weights`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(configWith([50, 50])),
    });
    expect(res.statusCode).toBeLessThan(300);
    await res.body.text();
    for (const j of replicas) await j.control!.plane.sync();
    for (let u = 1000; u < 1200; u++) await call(replicas[u % 2]!, `user-${u}`, `late-${u}`);
    await flushAll();
    const reader = new FleetReadoutReader(url);
    try {
      const e = (await reader.read('cw-42')).experiments[0]!;
      expect(e.srm.weights).toBe('revisions');
      expect(e.srm.weightsChanged).toBe(true);
      expect(e.srm.periods.map((p) => p.weights)).toEqual([
        { A: 30, B: 70 },
        { A: 50, B: 50 },
      ]);
      expect(e.srm.periods.map((p) => p.revisions)).toEqual([[1], [2]]);
      expect(e.srm.periods[1]!.units.A! + e.srm.periods[1]!.units.B!).toBe(200);
      // Each period against its own split: a clean allocation in both is not a mismatch.
      expect(e.srm.flagged).toBe(false);
      expect(e.cells.map((c) => c.weight)).toEqual([50, 50]);
    } finally {
      await reader.close();
    }
  }, 120_000);
});

describe.skipIf(skip !== undefined)('junction analyze over decision logs with --store', () => {
  it('takes the weights of the revisions the lines name from the store', async () => {
    const store = uniqueSchema('jfleetcli');
    const dir = mkdtempSync(join(tmpdir(), 'junction-fleet-cli-'));
    try {
      const { PostgresStore } = await import('../../src/control/postgres-store.js');
      const s = await PostgresStore.open(storeUrl(store));
      const experiment = (a: number, b: number) => ({
        objectives: { cw: { experiments: [{ id: 'cw-42', cells: { A: { weight: a }, B: { weight: b } } }] } },
      });
      await s.append({ author: 't', message: '30/70', source: experiment(30, 70) });
      await s.append({ author: 't', message: '50/50', source: experiment(50, 50) });
      await s.close();
      const line = (i: number, cell: string, revision: number) =>
        JSON.stringify({
          time: `2026-11-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
          requestId: `r-${i}`,
          via: 'invoke',
          objective: 'cw',
          unit: `u-${i}`,
          experiment: 'cw-42',
          cell,
          target: 'm@1',
          revision,
          trafficClass: 'live',
          status: 200,
          latencyMs: 5,
        });
      const lines = [
        ...Array.from({ length: 100 }, (_, i) => line(i, i % 10 < 3 ? 'A' : 'B', 1)),
        ...Array.from({ length: 100 }, (_, i) => line(100 + i, i % 2 ? 'A' : 'B', 2)),
      ];
      const file = join(dir, 'decisions.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      expect(await main(['analyze', '--decisions', file, '--store', storeUrl(store), '--json'])).toBe(0);
      const srm = (JSON.parse(io.out) as Readout).experiments[0]!.srm;
      expect(srm).toMatchObject({ weights: 'revisions', weightsChanged: true, flagged: false });
      expect(srm.periods.map((p) => [p.revisions, p.weights, p.units])).toEqual([
        [[1], { A: 30, B: 70 }, { A: 30, B: 70 }],
        [[2], { A: 50, B: 50 }, { A: 50, B: 50 }],
      ]);
      // The same lines without a store or a config: unknown, not a mismatch against 50/50.
      io.out = '';
      expect(await main(['analyze', '--decisions', file])).toBe(0);
      expect(io.out).toMatch(/sample ratio: unknown/);
      expect(io.out).not.toMatch(/MISMATCH/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await dropSchema(store);
    }
  }, 60_000);
});

describe.skipIf(skip !== undefined)('fleet readout writer with PostgreSQL out of reach', () => {
  it('keeps at most its bound, counts what it drops, and never throws into the caller', async () => {
    let dropped = 0;
    let failures = 0;
    // A port nothing listens on: every flush fails at once.
    const writer = new FleetReadoutWriter({
      url: 'postgres://postgres@127.0.0.1:1/test?schema=nowhere',
      flushMs: 60_000,
      maxEntries: 50,
      onDropped: (n) => (dropped += n),
      onFlushError: () => failures++,
    });
    for (let i = 0; i < 200; i++)
      writer.feedback([{ requestId: null, objective: 'o', unit: `u${i}`, metric: 'm', value: 1 }]);
    expect(writer.size).toBe(50);
    expect(dropped).toBe(150);
    await writer.flush();
    expect(failures).toBe(1);
    // The failed batch waits to be sent again, still under the bound.
    writer.feedback([{ requestId: null, objective: 'o', unit: 'one-more', metric: 'm', value: 1 }]);
    expect(writer.size).toBe(50);
    expect(dropped).toBe(151);
    await writer.close();
    expect(dropped).toBe(201);
  });
});
