import { describe, expect, it } from 'vitest';
import { chiSquareSurvival } from './distributions.js';
import { srmPValue } from './srm.js';

describe('srmPValue', () => {
  it('matches the chi-square tables', () => {
    // 60/40 against 50/50: χ² = 4, df 1 → p = 0.0455003 (= erfc(√2)).
    expect(srmPValue([60, 40], [1, 1])).toBeCloseTo(0.04550026, 7);
    // The 5 % critical values: df 1 → 3.841459, df 3 → 7.814728, df 10 → 18.307038.
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(7.814728, 3)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(18.307038, 10)).toBeCloseTo(0.05, 6);
    // df 2 has a closed form: p = e^(−x/2).
    expect(chiSquareSurvival(13.8, 2)).toBeCloseTo(Math.exp(-6.9), 12);
  });

  it('takes weights at any scale and flags a broken split', () => {
    expect(srmPValue([500, 500], [50, 50])).toBe(1);
    expect(srmPValue([250, 750], [1, 3])).toBe(1);
    // 5 100 / 4 900 of 10 000 at 50/50: χ² = 4 again.
    expect(srmPValue([5100, 4900], [50, 50])).toBeCloseTo(0.04550026, 7);
    // 5 500 / 4 500: a sample-ratio mismatch no one should trust (χ² = 100).
    expect(srmPValue([5500, 4500], [1, 1])).toBeLessThan(1e-20);
  });

  it('has nothing to test without counts or with a single cell', () => {
    expect(srmPValue([0, 0], [1, 1])).toBe(1);
    expect(srmPValue([10], [1])).toBe(1);
    // A cell weighted 0 (being wound down) is left out of the test: one cell remains.
    expect(srmPValue([10, 5], [1, 0])).toBe(1);
    expect(() => srmPValue([1], [1, 1])).toThrow();
  });
});
