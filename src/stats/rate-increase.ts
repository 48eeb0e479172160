// The maxErrorRateIncrease gate's test: is the candidate's error rate more
// than `margin` above the baseline's? A sequential test (msprt.ts, on the
// difference of two proportions, H0: increase ≤ margin), so the controller may
// look at it on every tick: on an equal candidate the chance that it ever
// signals is at most `alpha`, while a clearly worse one is caught within a few
// hundred requests rather than after a fixed sample size.
import { mixtureLikelihoodRatio, MIXING_SD_FACTOR } from './msprt.js';

export interface RateArm {
  requests: number;
  errors: number;
}

export interface RateIncrease {
  /** Candidate error rate − baseline error rate. */
  increase: number;
  /** Always-valid one-sided p-value for "the increase exceeds the margin". */
  pValue: number;
}

export function errorRateIncrease(candidate: RateArm, baseline: RateArm, margin: number): RateIncrease | undefined {
  if (candidate.requests === 0 || baseline.requests === 0) return undefined;
  const pc = candidate.errors / candidate.requests;
  const pb = baseline.errors / baseline.requests;
  const increase = pc - pb;
  // Half an error added to each arm keeps the variance positive when an arm has none (or only errors).
  const vc = smoothed(candidate);
  const vb = smoothed(baseline);
  const v = (vc * (1 - vc)) / candidate.requests + (vb * (1 - vb)) / baseline.requests;
  const pooled = (candidate.errors + baseline.errors + 0.5) / (candidate.requests + baseline.requests + 1);
  const tau = MIXING_SD_FACTOR * Math.sqrt(pooled * (1 - pooled));
  // One-sided: only an increase beyond the margin is evidence against the candidate.
  const pValue = increase <= margin ? 1 : Math.min(1, 1 / mixtureLikelihoodRatio(increase, v, tau * tau, margin));
  return { increase, pValue };
}

function smoothed(arm: RateArm): number {
  return (arm.errors + 0.5) / (arm.requests + 1);
}
