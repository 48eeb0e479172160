import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { newRecord } from '../observe/record.js';
import { compileRouting } from '../routing/compile.js';
import { TrafficStats } from './traffic-stats.js';

const config = validateConfig({
  models: {
    m: {
      class: 'scorer',
      versions: {
        '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } },
        '2': { backend: { type: 'http', endpoints: ['http://127.0.0.1:9'] } },
      },
    },
  },
  objectives: {
    cw: {
      default: 'm@1',
      experiments: [
        { id: 'e', population: 1, cells: { A: { weight: 25, use: 'm@1' }, B: { weight: 75, use: 'm@2' } } },
      ],
    },
  },
});
const cw = compileRouting(config, 1).objectives.get('cw')!;
const [cellA, cellB] = cw.experiments[0]!.cells.map((c) => c.outcome);

// Records' times are on the clock's scale (origin 0): the request ended at `now`.
let now = 0;
const clock = { origin: 0, now: () => now };

function served(stats: TrafficStats, outcome = cw.default, ms = 10, status = 200, fallback?: string) {
  const r = newRecord('id', 'POST', '/v1/objectives/cw', now - ms);
  r.outcome = outcome;
  r.end = now;
  r.status = status;
  r.fallback = fallback;
  stats.observe(r);
}

describe('TrafficStats', () => {
  it('groups requests per target with error rate, fallbacks and latency quantiles', () => {
    now = 1_000_000;
    const stats = new TrafficStats(clock);
    now += 60_000;
    for (let i = 0; i < 98; i++) served(stats, cw.default, 15);
    served(stats, cw.default, 400, 502);
    served(stats, cw.default, 40, 200, 'm@2');
    const [t] = stats.snapshot(config, 1).objectives.cw!.targets;
    expect(t).toMatchObject({
      target: 'm@1',
      requests: 100,
      errors: 1,
      errorRate: 0.01,
      fallbacks: 1,
      p50Ms: 20,
      p99Ms: 50,
    });
    expect(t!.rps).toBeCloseTo(100 / 60, 3);
  });

  it('forgets what is older than the window and checks the cells against their weights', () => {
    now = 0;
    const stats = new TrafficStats(clock);
    now = 600_000;
    for (let i = 0; i < 50; i++) served(stats, cellA);
    now += 4 * 60_000; // still inside a 5-minute window
    for (let i = 0; i < 50; i++) served(stats, cellB);
    let [e] = stats.snapshot(config, 5).objectives.cw!.experiments;
    expect(e!.cells.map((c) => c.exposures)).toEqual([50, 50]);
    expect(e!.srmPValue).toBeLessThan(1e-6); // 50/50 where 25/75 was asked
    expect(stats.snapshot(config, 1).objectives.cw!.experiments[0]!.cells.map((c) => c.exposures)).toEqual([0, 50]);
    now += 2 * 60_000; // cell A's slot has left the ring's window
    [e] = stats.snapshot(config, 5).objectives.cw!.experiments;
    expect(e!.cells.map((c) => c.exposures)).toEqual([0, 50]);
    now += 10 * 60_000; // everything old; a new request reuses a slot and starts it afresh
    served(stats, cellB);
    expect(stats.snapshot(config, 5).objectives.cw!.targets).toMatchObject([{ target: 'm@2', requests: 1 }]);
  });

  it('exposures reported with an Outcome object each count per decision, in one entry of their slot', () => {
    now = 2_000_000;
    const stats = new TrafficStats(clock);
    for (let i = 0; i < 1000; i++) {
      const r = newRecord(`x${i}`, 'POST', '/v1/exposures', now);
      r.via = 'sdk';
      r.end = now;
      r.outcome = { ...cellB! }; // a fresh object per item, as POST /v1/exposures makes them
      stats.observe(r);
    }
    const [e] = stats.snapshot(config, 1).objectives.cw!.experiments;
    expect(e!.cells.map((c) => c.exposures)).toEqual([0, 1000]);
    const slots = (stats as unknown as { slots: Array<{ byOutcome: Map<unknown, unknown> }> }).slots;
    expect(slots.reduce((n, s) => n + s.byOutcome.size, 0)).toBe(1); // not one entry per exposure
  });
});
