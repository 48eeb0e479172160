// The readout runner (issue 22, finding 9: eight concurrent readouts took the
// serving process from 322 MB to 4.4 GB): DuckDB's memory limit, threads and
// spill folder are applied; readouts run one at a time behind a bounded queue
// (503 overloaded with Retry-After past it); identical requests share one run;
// a run past its time limit is interrupted. Then the same over HTTP on a real
// Junction's GET /admin/experiments/{id}/results. No assertion depends on timing:
// runs are held open by the test until it releases them.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { JunctionError } from '../../src/errors.js';
import { startJunction, type Junction } from '../../src/app.js';
import { ReadoutRunner, SERVING_READOUT_LIMITS } from '../../src/readout/runner.js';

/** A run the test holds open until it calls release(). */
function held() {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  return { gate, release };
}

/** Polls (bounded) until `ok()`: waiting for the server to have received requests, not for time to pass. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

describe('ReadoutRunner', () => {
  it('applies the memory limit, threads, spill folder and insertion order to DuckDB', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'junction-spill-'));
    const runner = new ReadoutRunner({ memoryLimit: '128MiB', threads: 1, tempDirectory: temp });
    try {
      expect(await runner.settings()).toEqual({
        memoryLimit: '128.0 MiB',
        threads: 1,
        tempDirectory: temp,
        preserveInsertionOrder: false,
      });
    } finally {
      await runner.close();
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('serves on one thread in 256 MiB by default, spilling to a folder of its own that close() removes', async () => {
    const runner = new ReadoutRunner(SERVING_READOUT_LIMITS);
    const s = await runner.settings();
    expect(s).toMatchObject({ memoryLimit: '256.0 MiB', threads: 1, preserveInsertionOrder: false });
    expect(existsSync(s.tempDirectory)).toBe(true);
    await runner.close();
    expect(existsSync(s.tempDirectory)).toBe(false);
    expect(SERVING_READOUT_LIMITS).toMatchObject({ concurrency: 1, queue: 4 });
  });

  it('runs 8 concurrent readouts one at a time, queues 2 and refuses the rest with 503 overloaded', async () => {
    const runner = new ReadoutRunner({ threads: 1, concurrency: 1, queue: 2 });
    const holds = Array.from({ length: 8 }, () => held());
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const outcomes = holds.map((h, i) =>
      runner
        .run(`experiment-${i}`, async (db) => {
          started.push(i);
          running++;
          most = Math.max(most, running);
          await h.gate;
          const threads = Number(
            (await db.runAndReadAll("SELECT current_setting('threads')::INTEGER AS t")).getRowObjectsJS()[0]!.t,
          );
          running--;
          return `done ${i} on ${threads} thread`;
        })
        .then(
          (v) => v,
          (e: unknown) => e,
        ),
    );
    expect(runner.stats()).toMatchObject({ running: 1, waiting: 2, refused: 5 });
    await until(() => started.length === 1, 'the first run starts');
    for (const h of holds) h.release();
    const results = await Promise.all(outcomes);
    expect(results.slice(0, 3)).toEqual(['done 0 on 1 thread', 'done 1 on 1 thread', 'done 2 on 1 thread']);
    for (const r of results.slice(3)) {
      expect(r).toBeInstanceOf(JunctionError);
      expect(r).toMatchObject({ code: 'overloaded', status: 503 });
      expect((r as JunctionError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(started).toEqual([0, 1, 2]);
    expect(most).toBe(1);
    expect(runner.stats()).toMatchObject({ runs: 3, maxRunning: 1, running: 0, waiting: 0 });
    await runner.close();
  });

  it('lets identical requests share one run, and answers the same key from its cache for cacheMs', async () => {
    const runner = new ReadoutRunner({ threads: 1, concurrency: 1, queue: 1, cacheMs: 60_000 });
    const hold = held();
    const blocker = runner.run('other', () => hold.gate);
    let runs = 0;
    const same = Array.from({ length: 8 }, () =>
      runner.run('cw-42', async () => {
        runs++;
        return { readout: runs };
      }),
    );
    // One waits in the queue (its bound is 1) and seven share it: none is refused.
    expect(runner.stats()).toMatchObject({ running: 1, waiting: 1, coalesced: 7, refused: 0 });
    hold.release();
    await blocker;
    const results = await Promise.all(same);
    expect(runs).toBe(1);
    for (const r of results) expect(r).toBe(results[0]);
    // Within cacheMs: the same answer, no run; past it: a new run.
    expect(await runner.run('cw-42', async () => ({ readout: ++runs }))).toBe(results[0]);
    expect(runner.stats().cached).toBe(1);
    expect(await runner.run('cw-42', async () => ({ readout: ++runs }), Date.now() + 61_000)).toEqual({ readout: 2 });
    await runner.close();
  });

  it('interrupts a readout past its time limit: 504 deadline_exceeded, and the next one runs', async () => {
    const runner = new ReadoutRunner({ threads: 1, timeoutMs: 200 });
    const err = await runner
      .run('slow', (db) => db.run('SELECT count(*) FROM range(1000000000000)'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'deadline_exceeded', status: 504 });
    expect((err as Error).message).toMatch(/ran past its limit of 200 ms and was cancelled/);
    expect(runner.stats()).toMatchObject({ timedOut: 1, running: 0 });
    expect(await runner.settings()).toMatchObject({ threads: 1 });
    await runner.close();
  });

  it('close() refuses what waits and interrupts what runs', async () => {
    const runner = new ReadoutRunner({ threads: 1, concurrency: 1, queue: 1 });
    const running = runner
      .run('long', (db) => db.run('SELECT count(*) FROM range(1000000000000)'))
      .then(
        () => 'finished',
        () => 'interrupted',
      );
    const waiting = runner.run('next', async () => 'ran').catch((e: JunctionError) => e.code);
    await until(() => runner.stats().runs === 1, 'the first run starts');
    await runner.close();
    expect(await running).toBe('interrupted');
    expect(await waiting).toBe('not_ready');
  });
});

describe('GET /admin/experiments/{id}/results on a Junction', () => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-readout-runner-'));
  const decisions = join(dir, 'decisions.jsonl');
  const runner = new ReadoutRunner({ ...SERVING_READOUT_LIMITS, queue: 1 });
  let j: Junction;

  beforeAll(async () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        time: new Date(Date.UTC(2026, 10, 1, 0, 0, i)).toISOString(),
        requestId: `r-${i}`,
        via: 'invoke',
        objective: 'cw',
        unit: `u-${i % 20}`,
        experiment: 'cw-42',
        cell: i % 2 === 0 ? 'A' : 'B',
        target: i % 2 === 0 ? 'ranker@6' : 'ranker@7',
        trafficClass: 'live',
        status: 200,
        latencyMs: 10,
        fallback: null,
      }),
    );
    writeFileSync(decisions, `${lines.join('\n')}\n`);
    const backend = { type: 'http', endpoints: ['http://127.0.0.1:9'] };
    j = await startJunction({
      port: 0,
      listen: false,
      config: {
        models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
        objectives: {
          cw: {
            default: 'ranker@6',
            experiments: [
              {
                id: 'cw-42',
                population: 1,
                cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
              },
            ],
          },
        },
      },
      control: {
        data: ':memory:',
        admin: { port: 0, insecure: true },
        readouts: { decisions: [decisions], feedback: [], runner },
      },
      log: { error() {}, warn() {}, info() {} },
    });
  });
  afterAll(async () => {
    await j?.close();
    await runner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const results = async (id = 'cw-42') => {
    const res = await request(`${j.control!.adminUrl!}/admin/experiments/${id}/results`);
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: await res.body.text() };
  };

  it('8 identical concurrent requests share one run; past the queue bound a readout is refused with 503 and Retry-After', async () => {
    const hold = held();
    const blocker = runner.run('held by the test', () => hold.gate);
    const before = runner.stats();
    const eight = Array.from({ length: 8 }, () => results());
    // One waits (the queue holds 1) and seven share its run.
    await until(() => runner.stats().coalesced - before.coalesced === 7, 'eight requests arrived');
    expect(runner.stats()).toMatchObject({ running: 1, waiting: 1 });
    const refused = await results('another-experiment');
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'overloaded' });
    hold.release();
    await blocker;
    const answers = await Promise.all(eight);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    const body = JSON.parse(answers[0]!.body);
    expect(body.experiment.cells.map((c: { units: number }) => c.units)).toEqual([10, 10]);
    expect(runner.stats()).toMatchObject({ runs: before.runs + 1, maxRunning: 1 });
  });
});
