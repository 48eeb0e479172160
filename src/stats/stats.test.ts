// Known-truth checks for the statistics: values against independent
// computations (closed forms, textbook tables), and the stated error rates
// over repeated seeded simulations.
import { describe, expect, it } from 'vitest';
import { gaussian, seeded } from '../../test/support/seeded.js';
import { chiSquareSurvival, normalCdf } from './distributions.js';
import { meanDifference, type Moments } from './mean-difference.js';
import { alwaysValidPValue } from './msprt.js';
import { populationStabilityIndex, scoreBucket } from './psi.js';
import { errorRateIncrease } from './rate-increase.js';
import { srmPValue } from './srm.js';

const moments = (xs: readonly number[]): Moments => ({
  n: xs.length,
  sum: xs.reduce((s, x) => s + x, 0),
  sumSq: xs.reduce((s, x) => s + x * x, 0),
});

describe('distributions', () => {
  it('match closed forms and tables', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-2.326347874)).toBeCloseTo(0.01, 6);
    // df = 2: survival is exactly exp(-x/2).
    for (const x of [0.5, 3, 13.8155]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 9);
    // df = 1: P(X ≥ z²) = 2(1 − Φ(z)).
    expect(chiSquareSurvival(1.959963984540054 ** 2, 1)).toBeCloseTo(0.05, 6);
    // Tables: chi-square 0.999 quantiles.
    expect(chiSquareSurvival(10.828, 1)).toBeCloseTo(0.001, 5);
    expect(chiSquareSurvival(16.266, 3)).toBeCloseTo(0.001, 5);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });
});

describe('srmPValue', () => {
  it('is the chi-square goodness-of-fit p-value', () => {
    // 5,100 vs 4,900 on 50/50: chi2 = (100² + 100²) / 5000 = 4.
    expect(srmPValue([5100, 4900], [50, 50])).toBeCloseTo(chiSquareSurvival(4, 1), 12);
    expect(srmPValue([5100, 4900], [50, 50])).toBeCloseTo(0.0455, 4);
    // Weights of any scale, unequal splits, zero-weight cells left out.
    expect(srmPValue([900, 100, 7], [0.9, 0.1, 0])).toBe(1);
    expect(srmPValue([0, 0], [1, 1])).toBe(1);
  });

  it('flags a known mismatch and not a fair split, over seeds', () => {
    let flaggedFair = 0;
    let flaggedSkewed = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = seeded(seed);
      const fair = [0, 0];
      const skewed = [0, 0];
      for (let i = 0; i < 10_000; i++) {
        fair[r() < 0.5 ? 0 : 1]!++;
        skewed[r() < 0.53 ? 0 : 1]!++; // a 53/47 split reported as 50/50
      }
      if (srmPValue(fair, [1, 1]) < 0.001) flaggedFair++;
      if (srmPValue(skewed, [1, 1]) < 0.001) flaggedSkewed++;
    }
    expect(flaggedFair).toBeLessThanOrEqual(2); // expected 0.2
    expect(flaggedSkewed).toBeGreaterThanOrEqual(195); // power ≈ 0.998
  });
});

describe('meanDifference', () => {
  it('matches a hand computation', () => {
    const a = [1, 2, 3, 4, 5];
    const b = [2, 4, 6, 8, 10];
    // Means 3 and 6; sample variances 2.5 and 10: se = sqrt(2.5/5 + 10/5) = sqrt(2.5).
    const d = meanDifference(moments(a), moments(b))!;
    expect(d.estimate).toBeCloseTo(3, 12);
    expect(d.se).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(d.ci95[0]).toBeCloseTo(3 - 1.959964 * Math.sqrt(2.5), 5);
    expect(meanDifference(moments([1]), moments(b))).toBeUndefined();
  });

  it('covers a known effect at the stated 95 % rate over repeated seeds', () => {
    const runs = 400;
    let covered = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const normal = gaussian(seeded(seed));
      const control = Array.from({ length: 400 }, () => 10 + 2 * normal());
      const treatment = Array.from({ length: 400 }, () => 10.3 + 3 * normal());
      const d = meanDifference(moments(control), moments(treatment))!;
      if (d.ci95[0] <= 0.3 && 0.3 <= d.ci95[1]) covered++;
    }
    // 95 % of 400 = 380, binomial sd ≈ 4.4: within about three sd.
    expect(covered / runs).toBeGreaterThan(0.92);
    expect(covered / runs).toBeLessThan(0.98);
  });
});

describe('alwaysValidPValue (mSPRT)', () => {
  it('stays above 0.05 under no effect at the stated rate, peeked at every 50 units', () => {
    const runs = 200;
    let everBelow = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const normal = gaussian(seeded(1000 + seed));
      const c: Moments = { n: 0, sum: 0, sumSq: 0 };
      const t: Moments = { n: 0, sum: 0, sumSq: 0 };
      for (let i = 1; i <= 2000; i++) {
        for (const m of [c, t]) {
          const x = 5 + normal();
          m.n++;
          m.sum += x;
          m.sumSq += x * x;
        }
        if (i % 50 === 0 && alwaysValidPValue(c, t) < 0.05) {
          everBelow++;
          break;
        }
      }
    }
    // At most 5 % of runs may ever dip below 0.05, however often they are read (binomial slack: 3 sd).
    expect(everBelow / runs).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / runs));
  });

  it('finds a real effect and agrees with the closed form', () => {
    const normal = gaussian(seeded(7));
    const control = Array.from({ length: 3000 }, () => normal());
    const treatment = Array.from({ length: 3000 }, () => 0.2 + normal());
    const c = moments(control);
    const t = moments(treatment);
    const p = alwaysValidPValue(c, t);
    expect(p).toBeLessThan(0.001);
    // Independent computation of 1/Λ from its definition.
    const d = meanDifference(c, t)!;
    const v = d.se ** 2;
    const vc = (c.sumSq - c.sum ** 2 / c.n) / (c.n - 1);
    const vt = (t.sumSq - t.sum ** 2 / t.n) / (t.n - 1);
    const tau2 = 0.01 * ((vc + vt) / 2);
    const lambda = Math.sqrt(v / (v + tau2)) * Math.exp((tau2 * d.estimate ** 2) / (2 * v * (v + tau2)));
    expect(p).toBeCloseTo(Math.min(1, 1 / lambda), 12);
    expect(alwaysValidPValue(moments([1]), t)).toBe(1);
  });
});

describe('errorRateIncrease', () => {
  it('signals a clearly worse candidate and not an equal one', () => {
    expect(errorRateIncrease({ requests: 500, errors: 50 }, { requests: 5000, errors: 50 }, 0)!.pValue).toBeLessThan(
      1e-3,
    );
    expect(errorRateIncrease({ requests: 500, errors: 5 }, { requests: 5000, errors: 50 }, 0)!.pValue).toBe(1);
    expect(errorRateIncrease({ requests: 500, errors: 8 }, { requests: 5000, errors: 50 }, 0.01)!.pValue).toBe(1);
    expect(errorRateIncrease({ requests: 0, errors: 0 }, { requests: 5000, errors: 50 }, 0)).toBeUndefined();
  });

  it('rarely signals on an equal candidate read on every tick', () => {
    const runs = 200;
    let signalled = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const r = seeded(5000 + seed);
      const cand = { requests: 0, errors: 0 };
      const base = { requests: 0, errors: 0 };
      for (let tick = 0; tick < 40; tick++) {
        for (let i = 0; i < 50; i++) {
          cand.requests++;
          if (r() < 0.02) cand.errors++;
        }
        for (let i = 0; i < 200; i++) {
          base.requests++;
          if (r() < 0.02) base.errors++;
        }
        if (errorRateIncrease(cand, base, 0)!.pValue < 0.05) {
          signalled++;
          break;
        }
      }
    }
    expect(signalled / runs).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / runs));
  });
});

describe('populationStabilityIndex', () => {
  it('matches a hand computation and is 0 for equal distributions', () => {
    expect(populationStabilityIndex([10, 20, 70], [10, 20, 70])).toBe(0);
    const expected = (0.3 - 0.1) * Math.log(0.3 / 0.1) + (0.2 - 0.2) * 0 + (0.5 - 0.7) * Math.log(0.5 / 0.7);
    expect(populationStabilityIndex([10, 20, 70], [30, 20, 50])).toBeCloseTo(expected, 12);
    expect(populationStabilityIndex([0, 0], [1, 2])).toBe(0);
    expect([scoreBucket(-1), scoreBucket(0), scoreBucket(0.55), scoreBucket(1), scoreBucket(7)]).toEqual([
      0, 0, 5, 9, 9,
    ]);
  });
});
