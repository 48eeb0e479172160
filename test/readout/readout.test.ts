// The readout end to end on generated logs with known truth: DuckDB reads the
// JSON lines, the statistics are cross-checked against values computed here
// from the simulated data, and coverage / false-positive rates are measured
// over many simulated experiments read in one pass.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Z_95 } from '../../src/stats/distributions.js';
import { srmPValue } from '../../src/stats/srm.js';
import { readExperiments, type Readout } from '../../src/readout/readout.js';
import { formatReadout } from '../../src/readout/format.js';
import { validateConfig } from '../../src/config/load.js';
import { gaussian, seeded } from '../support/seeded.js';

interface Sim {
  decisions: string[];
  feedback: string[];
  /** Per experiment and cell, each unit's summed metric value (the truth the readout must reproduce). */
  values: Map<string, Map<string, number[]>>;
}

const T0 = Date.parse('2026-11-01T00:00:00Z');

function decisionLine(o: {
  t: number;
  id: string;
  experiment: string;
  cell: string;
  unit: string | null;
  trafficClass?: string;
  status?: number;
  latencyMs?: number;
  via?: string;
}): string {
  return JSON.stringify({
    time: new Date(T0 + o.t).toISOString(),
    requestId: o.id,
    via: o.via ?? 'invoke',
    objective: 'rank',
    unit: o.unit,
    context: { country: 'BR' },
    rule: `experiment:${o.experiment}`,
    experiment: o.experiment,
    cell: o.cell,
    target: `m@${o.cell}`,
    revision: 1,
    client: null,
    trafficClass: o.trafficClass ?? 'live',
    status: o.status ?? 200,
    error: null,
    latencyMs: o.via === 'decide' ? null : (o.latencyMs ?? 10),
    fallback: null,
    shadows: [{ target: 'x@1', result: 'agree', agreement: 1 }],
  });
}

/** One experiment: units split by `split` (share in "a"), metric ~ N(mean, sd) per unit with a known effect in "b". */
function simulate(
  sim: Sim,
  id: string,
  seed: number,
  opts: { units: number; split: number; effect: number; sd?: number },
): void {
  const r = seeded(seed);
  const normal = gaussian(r);
  const perCell = new Map<string, number[]>([
    ['a', []],
    ['b', []],
  ]);
  sim.values.set(id, perCell);
  for (let u = 0; u < opts.units; u++) {
    const unit = `${id}-u${u}`;
    const cell = r() < opts.split ? 'a' : 'b';
    const exposures = 1 + Math.floor(r() * 3);
    for (let k = 0; k < exposures; k++) {
      const rid = `${unit}-r${k}`;
      sim.decisions.push(
        decisionLine({
          t: u * 10 + k,
          id: rid,
          experiment: id,
          cell,
          unit,
          latencyMs: cell === 'a' ? 10 + k : 20 + k,
          status: cell === 'b' && k === 2 ? 503 : 200,
        }),
      );
    }
    const value = 5 + (cell === 'b' ? opts.effect : 0) + (opts.sd ?? 1) * normal();
    // Half the units report by request id, half by objective + unit; the value is split over two lines.
    if (u % 2 === 0) {
      sim.feedback.push(
        JSON.stringify({
          time: new Date(T0).toISOString(),
          requestId: `${unit}-r0`,
          objective: null,
          unit: null,
          metric: 'score',
          value: value / 2,
        }),
      );
      sim.feedback.push(
        JSON.stringify({
          time: new Date(T0).toISOString(),
          requestId: `${unit}-r0`,
          objective: null,
          unit: null,
          metric: 'score',
          value: value / 2,
        }),
      );
    } else {
      sim.feedback.push(
        JSON.stringify({
          time: new Date(T0).toISOString(),
          requestId: null,
          objective: 'rank',
          unit,
          metric: 'score',
          value: value / 2,
        }),
      );
      sim.feedback.push(
        JSON.stringify({
          time: new Date(T0).toISOString(),
          requestId: null,
          objective: 'rank',
          unit,
          metric: 'score',
          value: value / 2,
        }),
      );
    }
    perCell.get(cell)!.push(value);
  }
}

const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const varOf = (xs: number[]) => {
  const m = meanOf(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};

let dir: string;
let sim: Sim;
let readout: Readout;
const RUNS = 100;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'junction-readout-'));
  sim = { decisions: [], feedback: [], values: new Map() };
  simulate(sim, 'main', 1, { units: 4000, split: 0.5, effect: 0.1 });
  simulate(sim, 'skewed', 2, { units: 4000, split: 0.55, effect: 0 });
  for (let i = 0; i < RUNS; i++) simulate(sim, `effect-${i}`, 100 + i, { units: 300, split: 0.5, effect: 0.3, sd: 2 });
  for (let i = 0; i < RUNS; i++) simulate(sim, `null-${i}`, 1000 + i, { units: 300, split: 0.5, effect: 0 });
  // Noise the readout must ignore or report: test traffic, a unit that later saw the other cell, a decide-only exposure.
  sim.decisions.push(
    decisionLine({ t: 1, id: 'test-1', experiment: 'main', cell: 'b', unit: 'tester', trafficClass: 'test' }),
  );
  sim.decisions.push(
    decisionLine({
      t: 999_999,
      id: 'switch-1',
      experiment: 'main',
      cell: 'b',
      unit: `main-u${firstUnitIn('a')}`,
      latencyMs: 10,
    }),
  );
  sim.decisions.push(
    decisionLine({ t: 999_999, id: 'decide-1', experiment: 'main', cell: 'a', unit: 'decide-only', via: 'decide' }),
  );
  const half = Math.floor(sim.decisions.length / 2);
  writeFileSync(join(dir, 'd1.jsonl'), `${sim.decisions.slice(0, half).join('\n')}\n`);
  writeFileSync(join(dir, 'd2.jsonl'), `${sim.decisions.slice(half).join('\n')}\n`);
  writeFileSync(join(dir, 'f.jsonl'), `${sim.feedback.join('\n')}\n`);
  const config = validateConfig({
    models: {
      m: {
        class: 'scorer',
        versions: {
          a: { backend: { type: 'http', endpoints: ['http://127.0.0.1:9001'] } },
          b: { backend: { type: 'http', endpoints: ['http://127.0.0.1:9002'] } },
        },
      },
    },
    objectives: {
      rank: {
        default: 'm@a',
        experiments: [
          { id: 'main', population: 1, cells: { a: { weight: 50, use: 'm@a' }, b: { weight: 50, use: 'm@b' } } },
        ],
      },
    },
  });
  readout = await readExperiments(
    { decisions: [join(dir, 'd1.jsonl'), join(dir, 'd2.jsonl')], feedback: [join(dir, 'f.jsonl')] },
    config,
  );
}, 120_000);

/** A unit of experiment main that was assigned to `cell`. */
function firstUnitIn(cell: string): number {
  const line = sim.decisions.find((l) => l.includes('"experiment":"main"') && l.includes(`"cell":"${cell}"`))!;
  return Number(/"unit":"main-u(\d+)"/.exec(line)![1]);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('experiment readout', () => {
  it('counts units once, in their first cell, live traffic only, and reports units seen in two cells', () => {
    const main = readout.experiments.find((e) => e.experiment === 'main')!;
    const truth = sim.values.get('main')!;
    expect(main.cells.map((c) => c.cell)).toEqual(['a', 'b']);
    // +1 in a: the decide-only unit (a real exposure, no request served); the switching unit stays in a.
    expect(main.cells[0]!.units).toBe(truth.get('a')!.length + 1);
    expect(main.cells[1]!.units).toBe(truth.get('b')!.length);
    expect(main.unitsInSeveralCells).toBe(1);
    const exposuresB = sim.decisions.filter(
      (l) => l.includes('"experiment":"main"') && l.includes('"cell":"b"') && l.includes('"trafficClass":"live"'),
    ).length;
    expect(main.cells[1]!.exposures).toBe(exposuresB);
    // Cell b answers 503 on every unit's third request; latency 10+k vs 20+k.
    const third = sim.decisions.filter(
      (l) => l.includes('"experiment":"main"') && l.includes('"cell":"b"') && l.includes('"status":503'),
    ).length;
    expect(main.cells[1]!.errorRate).toBeCloseTo(third / (exposuresB - 0), 10);
    expect(main.cells[0]!.errorRate).toBe(0);
    expect(main.cells[0]!.latencyMs.p50).toBeGreaterThanOrEqual(10);
    expect(main.cells[1]!.latencyMs.p99).toBeCloseTo(22, 5);
    expect(main.srm.weights).toBe('config');
    expect(main.srm.flagged).toBe(false);
  });

  it('reproduces means, the Welch CI and the SRM p-value computed independently', () => {
    const main = readout.experiments.find((e) => e.experiment === 'main')!;
    const a = [...sim.values.get('main')!.get('a')!, 0]; // the decide-only unit has no feedback: 0
    const b = sim.values.get('main')!.get('b')!;
    const score = main.metrics.find((m) => m.metric === 'score')!;
    expect(score.cells[0]!.mean).toBeCloseTo(meanOf(a), 9);
    expect(score.cells[1]!.mean).toBeCloseTo(meanOf(b), 9);
    const est = meanOf(b) - meanOf(a);
    const se = Math.sqrt(varOf(a) / a.length + varOf(b) / b.length);
    expect(score.cells[1]!.difference!.estimate).toBeCloseTo(est, 9);
    expect(score.cells[1]!.difference!.ci95[0]).toBeCloseTo(est - Z_95 * se, 9);
    expect(score.cells[1]!.difference!.ci95[1]).toBeCloseTo(est + Z_95 * se, 9);
    expect(score.cells[0]!.difference).toBeNull();
    expect(main.srm.pValue).toBeCloseTo(srmPValue([a.length, b.length], [50, 50]), 12);
  });

  it('reports the sample ratio unknown, not a mismatch, where no config or store gives the weights', () => {
    const skewed = readout.experiments.find((e) => e.experiment === 'skewed')!;
    expect(skewed.srm.weights).toBe('unknown');
    expect(skewed.srm.pValue).toBeNull();
    expect(skewed.srm.flagged).toBe(false);
    expect(formatReadout({ ...readout, experiments: [skewed] })).toMatch(/sample ratio: unknown/);
  });

  it('flags a known sample-ratio mismatch (55/45 read against the 50/50 its revision asked for)', async () => {
    const withStore = await readExperiments(
      { decisions: [join(dir, 'd1.jsonl'), join(dir, 'd2.jsonl')], feedback: [], experiment: 'skewed' },
      undefined,
      {},
      async () => (revision) =>
        revision === 1 ? new Map([['skewed', [['a', 50] as const, ['b', 50] as const]]]) : undefined,
    );
    const skewed = withStore.experiments[0]!;
    expect(skewed.srm.weights).toBe('revisions');
    expect(skewed.srm.flagged).toBe(true);
    expect(skewed.srm.pValue).toBeLessThan(0.001);
    expect(formatReadout(withStore)).toMatch(/MISMATCH/);
  });

  it('covers a known effect at the stated 95 % rate, and the always-valid p-value rarely dips under no effect', () => {
    let covered = 0;
    let falsePositives = 0;
    for (let i = 0; i < RUNS; i++) {
      const d = readout.experiments.find((e) => e.experiment === `effect-${i}`)!.metrics[0]!.cells[1]!.difference!;
      if (d.ci95[0] <= 0.3 && 0.3 <= d.ci95[1]) covered++;
      const n = readout.experiments.find((e) => e.experiment === `null-${i}`)!.metrics[0]!.cells[1]!.difference!;
      if (n.pValue < 0.05) falsePositives++;
    }
    // 95 of 100 expected; binomial sd ≈ 2.2.
    expect(covered).toBeGreaterThanOrEqual(88);
    expect(falsePositives).toBeLessThanOrEqual(5 + 7);
  });

  it('prints a readable table', () => {
    const text = formatReadout({ ...readout, experiments: readout.experiments.filter((e) => e.experiment === 'main') });
    expect(text).toMatch(/experiment main \(objective rank\)/);
    expect(text).toMatch(/cell\s+target\s+weight\s+units\s+exposures\s+error rate\s+p50 ms\s+p99 ms/);
    expect(text).toMatch(/metric score/);
    expect(text).toMatch(/1 units saw more than one cell/);
  });
});
