// The difference between two cells' means with a 95 % confidence interval
// (Welch: unequal variances, normal approximation, which the readout's unit
// counts justify). A fixed-horizon interval: valid when read once, at a sample
// size chosen in advance; the always-valid p-value (msprt.ts) is the one to peek at.
import { Z_95 } from './distributions.js';

/** Sufficient statistics of one cell for one metric: units, sum and sum of squares of their values. */
export interface Moments {
  n: number;
  sum: number;
  sumSq: number;
}

export function mean(m: Moments): number {
  return m.n === 0 ? NaN : m.sum / m.n;
}

/** Unbiased sample variance (0 with fewer than two units). */
export function variance(m: Moments): number {
  if (m.n < 2) return 0;
  return Math.max(0, (m.sumSq - (m.sum * m.sum) / m.n) / (m.n - 1));
}

export interface Difference {
  /** mean(treatment) − mean(control). */
  estimate: number;
  /** Standard error of the estimate. */
  se: number;
  ci95: [number, number];
}

export function meanDifference(control: Moments, treatment: Moments): Difference | undefined {
  if (control.n < 2 || treatment.n < 2) return undefined;
  const estimate = mean(treatment) - mean(control);
  const se = Math.sqrt(variance(control) / control.n + variance(treatment) / treatment.n);
  return { estimate, se, ci95: [estimate - Z_95 * se, estimate + Z_95 * se] };
}
