// The gated rollout controller over real traffic: a healthy candidate is walked
// through its steps and promoted; a failing one is rolled back with the broken
// gate named in the revision. Time is an injected clock; steps are driven by tick().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { LATENCY_BUCKETS } from '../../src/observe/metrics.js';
import { bucketOf } from '../../src/routing/bucket.js';
import { inLanes } from '../support/lanes.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

let stable: Upstream;
let candidate: Upstream;
let j: Junction;
let clock = 0;

beforeEach(async () => {
  stable = await startUpstream('stable');
  candidate = await startUpstream('candidate');
  clock = 1_000_000;
  j = await withGates({ minRequests: 10, maxErrorRate: 0.05 });
});

/** A Junction rolling m@2 out on cw (50 % → 100 %, 60 s holds) under these gates, its controller ticked by hand. */
function withGates(gates: Record<string, number>, extra: { metrics?: false } = {}): Promise<Junction> {
  return startJunction({
    config: twoTargets(stable.url, candidate.url, 'm@1', {
      rollout: { candidate: 'm@2', percent: 50, steps: [50, 100], holdSeconds: 60, gates },
    }),
    port: 0,
    log: { error() {}, warn() {}, info() {} },
    control: {
      data: ':memory:',
      rolloutController: { intervalMs: 60_000, now: () => clock },
      admin: { port: 0, insecure: true },
    },
    ...extra,
  });
}
afterEach(async () => {
  await j.close();
  await stable.close();
  await candidate.close();
});

const pgSkip = await postgresSkipReason();

/** `n` requests (units user-0 … user-n-1), `concurrency` at a time. */
function traffic(n: number, trafficClass = 'live', url = j.url, concurrency = 1): Promise<void> {
  return inLanes(n, concurrency, async (i) => {
    const res = await request(`${url}/v1/objectives/cw`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-unit-id': `user-${i}`, 'x-traffic-class': trafficClass },
    });
    await res.body.text();
  });
}

const rollout = () => j.runtime.current!.config.objectives.cw!.rollout;

describe('rollout controller', () => {
  it('walks a healthy candidate through its steps and promotes it', async () => {
    const c = j.control!.controller!;
    await c.tick(); // the step begins
    await traffic(60);
    await c.tick();
    expect(rollout()!.percent).toBe(50); // gates pass but the hold is not over
    const status = await request(`${j.control!.adminUrl}/admin/objectives/cw/rollout`);
    expect(((await status.body.json()) as { controller: unknown }).controller).toMatchObject({
      kind: 'hold',
      reason: expect.stringMatching(/^holding 0\/60 s at 50%$/),
    });
    clock += 61_000;
    await c.tick();
    expect(rollout()!.percent).toBe(100);
    const advanced = await j.control!.plane.store.latest();
    expect(advanced).toMatchObject({ author: 'rollout-controller' });
    expect(advanced!.message).toMatch(/advanced m@2 on cw: gates passed on \d+ requests: error rate 0; 50% → 100%/);

    await c.tick(); // the 100% step begins
    clock += 61_000;
    await c.tick();
    expect(rollout()!.percent).toBe(100); // not enough requests at this step yet
    await traffic(20);
    await c.tick();
    expect(j.runtime.current!.config.objectives.cw!.default).toBe('m@2');
    expect(rollout()).toBeUndefined();
    expect((await j.control!.plane.store.latest())!.message).toMatch(/promoted m@2 on cw: .*last step 100% held 60 s/);
  });

  it('rolls back a candidate that breaks a gate; test traffic does not count', async () => {
    candidate.handle((_req, res) => {
      res.writeHead(500);
      res.end('broken');
    });
    const c = j.control!.controller!;
    await c.tick();
    await traffic(60, 'test');
    await c.tick();
    expect(rollout()).toBeDefined(); // failures on test traffic are not judged
    await traffic(60);
    await c.tick();
    expect(rollout()).toBeUndefined();
    expect(j.runtime.current!.config.objectives.cw!.default).toBe('m@1');
    expect((await j.control!.plane.store.latest())!.message).toMatch(
      /rolled back m@2 on cw: error rate 1 > maxErrorRate 0\.05/,
    );
  });
});

describe("rollout gates count as the Junction's /metrics series do", () => {
  const series = async (name: string, target: string) =>
    sampleValue(parsePrometheus(await (await request(`${j.url}/metrics`)).body.text()), name, {
      objective: 'cw',
      target,
      traffic_class: 'live',
    });

  it('judges the requests and errors /metrics counts, and trips on the p99 of its histogram', async () => {
    await j.close();
    j = await withGates({ minRequests: 10, maxP99Ratio: 2 });
    let answered = 0;
    candidate.handle((_req, res) => {
      setTimeout(() => {
        // Every fifth answer fails: the errors the gates count must be /metrics' own.
        res.writeHead(++answered % 5 === 0 ? 500 : 200, { 'content-type': 'application/json' });
        res.end('{}');
      }, 300);
    });
    const c = j.control!.controller!;
    await traffic(8); // warm-up: a first request's connection setup is not the window's p99
    // The window is what /metrics counted after the step began.
    const counted = async () => ({
      candidate: await series('junction_request_duration_seconds_count', 'm@2'),
      baseline: await series('junction_request_duration_seconds_count', 'm@1'),
      failed: await series('junction_failed_requests_total', 'm@2'),
    });
    const before = await counted();
    await c.tick(); // the step begins
    await traffic(40, 'live', j.url, 10);
    await c.tick();
    const after = await counted();
    const window = c.lastWindow('cw', 'm@2');
    expect(window?.candidate.errors).toBeGreaterThan(0);
    expect(window?.candidate.requests).toBe(after.candidate - before.candidate);
    expect(window?.baseline.requests).toBe(after.baseline - before.baseline);
    expect(window?.candidate.errors).toBe(after.failed - before.failed);
    // 300 ms answers (against ~1 ms): at least /metrics' (250, 300] ms bucket, reported as a bound of /metrics' own buckets.
    expect(window?.candidate.p99Ms).toBeGreaterThanOrEqual(300);
    expect(LATENCY_BUCKETS.map((s) => Math.round(s * 1e6) / 1e3)).toContain(window?.candidate.p99Ms);
    expect(rollout()).toBeUndefined();
    expect((await j.control!.plane.store.latest())!.message).toMatch(/rolled back m@2 on cw: p99 .* > maxP99Ratio 2/);
  });

  it('with metrics off, the gates still count', async () => {
    await j.close();
    j = await withGates({ minRequests: 10, maxErrorRate: 0.05 }, { metrics: false });
    candidate.handle((_req, res) => {
      res.writeHead(500);
      res.end('broken');
    });
    const c = j.control!.controller!;
    await c.tick();
    await traffic(60);
    await c.tick();
    expect(rollout()).toBeUndefined();
    expect((await j.control!.plane.store.latest())!.message).toMatch(
      /rolled back m@2 on cw: error rate 1 > maxErrorRate 0\.05/,
    );
  });
});

describe('a gate counts only the traffic the rollout routed (issue 27)', () => {
  it("an experiment's traffic to the candidate's target is not the rollout's: the window matches the x-decision headers", async () => {
    await j.close();
    // Half of the units are in an experiment whose cell B is the candidate's target, and it fails there.
    const config = twoTargets(stable.url, candidate.url, 'm@1', {
      experiments: [
        { id: 'e', population: 0.5, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
      ],
      rollout: {
        candidate: 'm@2',
        percent: 50,
        steps: [50, 100],
        holdSeconds: 60,
        gates: { minRequests: 5, maxErrorRate: 0.05 },
      },
    });
    // The experiment's failures must not eject the candidate's one endpoint: the rollout's calls would fail with it.
    Object.assign(config.models.m.versions['2'].backend, { ejection: { consecutiveFailures: 10_000 } });
    j = await startJunction({
      config,
      port: 0,
      log: { error() {}, warn() {}, info() {} },
      control: {
        data: ':memory:',
        rolloutController: { intervalMs: 60_000, now: () => clock },
        admin: { port: 0, insecure: true },
      },
    });
    // Only the experiment's calls fail (its units say so, by their bucket in it): the rollout's candidate is healthy.
    candidate.handle((req, res) => {
      res.writeHead(req.headers['x-test-fail'] === 'yes' ? 500 : 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const inCellB = (unit: string) => {
      const b = bucketOf('e', unit);
      return b >= 2500 && b < 5000;
    };
    const c = j.control!.controller!;
    await c.tick(); // the step begins
    const decided = new Map<string, number>();
    await inLanes(80, 4, async (i) => {
      const res = await request(`${j.url}/v1/objectives/cw`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-unit-id': `unit-${i}`, 'x-test-fail': inCellB(`unit-${i}`) ? 'yes' : 'no' },
      });
      const text = await res.body.text();
      const cell = /^rule=(\S+)(?: cell=(\w+))?/.exec(String(res.headers['x-decision']))!;
      expect(res.statusCode, text).toBe(cell[2] === 'B' ? 500 : 200);
      decided.set(cell[1]!, (decided.get(cell[1]!) ?? 0) + 1);
    });
    await c.tick();
    const window = c.lastWindow('cw', 'm@2');
    expect(decided.get('experiment:e')).toBeGreaterThan(10);
    expect(window?.candidate).toMatchObject({ requests: decided.get('rollout'), errors: 0 });
    expect(window?.baseline.requests).toBe(decided.get('default'));
    expect(rollout()!.percent).toBe(50); // not rolled back on the experiment's failures
    const status = await request(`${j.control!.adminUrl}/admin/objectives/cw/rollout`);
    const body = (await status.body.json()) as { gates: { candidate: { requests: number; errors: number } } };
    expect(body.gates.candidate).toMatchObject({ requests: decided.get('rollout'), errors: 0 });
  });
});

describe('a rollout that reaches no live unit (issue 27)', () => {
  it('is held at its step, not walked up on time, with the reason in status', async () => {
    await j.close();
    // The issue's config, applied as a whole (no start to refuse it): an experiment over every unit, steps, no gates.
    j = await startJunction({
      config: twoTargets(stable.url, candidate.url, 'm@1', {
        experiments: [
          { id: 'all', population: 1, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
        ],
        rollout: { candidate: 'm@2', percent: 5, steps: [5, 25, 50, 100], holdSeconds: 60 },
      }),
      port: 0,
      log: { error() {}, warn() {}, info() {} },
      control: {
        data: ':memory:',
        rolloutController: { intervalMs: 60_000, now: () => clock },
        admin: { port: 0, insecure: true },
      },
    });
    const c = j.control!.controller!;
    await c.tick(); // the step begins
    await traffic(20);
    clock += 61_000;
    await c.tick();
    expect(rollout()!.percent).toBe(5);
    expect(c.lastWindow('cw', 'm@2')?.candidate.requests).toBe(0); // the experiment's m@2 traffic is not the rollout's
    expect(c.lastJudgement('cw', 'm@2')).toMatchObject({
      kind: 'hold',
      reason: expect.stringMatching(/^held at 5%: no live unit reaches the rollout: experiment all \(100% of units\)/),
    });
    const status = await request(`${j.control!.adminUrl}/admin/objectives/cw/rollout`);
    const body = (await status.body.json()) as { rollout: { warnings: Array<{ code: string }> } };
    expect(body.rollout.warnings.map((w) => w.code)).toEqual(['reaches_no_units', 'no_gate']);
  });
});

describe.skipIf(pgSkip !== undefined)(
  `rollout controller with two replicas on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`,
  () => {
    it('judges the gates on the traffic of every replica', async () => {
      const schema = uniqueSchema('jgate');
      const config = twoTargets(stable.url, candidate.url, 'm@1', {
        rollout: { candidate: 'm@2', percent: 100, steps: [100], holdSeconds: 60, gates: { minRequests: 30 } },
      });
      const start = () =>
        startJunction({
          config,
          port: 0,
          log: { error() {}, warn() {}, info() {} },
          control: { store: storeUrl(schema), rolloutController: { intervalMs: 60_000, now: () => clock } },
        });
      const r1 = await start();
      const r2 = await start();
      try {
        await r1.control!.controller!.tick();
        await r2.control!.controller!.tick();
        await traffic(20, 'live', r1.url);
        await traffic(20, 'live', r2.url);
        clock += 61_000;
        await r1.control!.controller!.tick(); // publishes 20: not enough alone
        expect(r1.runtime.current!.config.objectives.cw!.rollout).toBeDefined();
        await r2.control!.controller!.tick(); // publishes 20 more and sees 40: promotes
        const latest = await r2.control!.plane.store.latest();
        expect(latest!.message).toMatch(/promoted m@2 on cw: gates passed on 40 requests/);
        expect(r2.runtime.current!.config.objectives.cw!.default).toBe('m@2');
      } finally {
        await r1.close();
        await r2.close();
        await dropSchema(schema);
      }
    });
  },
);
