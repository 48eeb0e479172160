// The always-valid p-value (SPEC §12): a p-value that may be read at any
// time, as often as one likes, without inflating false positives. Method: the
// mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis
// and Walsh ("Always valid inference", Operations Research 2022), with a
// normal mixture over the effect θ ~ N(θ0, τ²) on the normal approximation of
// the difference of two means.
//
// With θ̂ the observed difference and V its variance (σ₁²/n₁ + σ₂²/n₂), the
// mixture likelihood ratio is
//   Λ = sqrt(V / (V + τ²)) · exp( τ² (θ̂ − θ0)² / (2 V (V + τ²)) )
// and 1/Λ is an always-valid p-value: under H0 the chance that it ever falls
// below α is at most α. The p-value at a moment is the smallest 1/Λ seen so
// far; a readout that only sees the data once reports the current 1/Λ, which
// is never smaller, so it errs on the safe side.
//
// Mixing parameter: τ = MIXING_SD_FACTOR × the pooled standard deviation of one
// unit's value. The test is most powerful for effects near τ (a tenth of a
// standard deviation: the size online experiments usually look for); larger
// effects are still found quickly, much smaller ones need more data.
import { variance, mean, type Moments } from './mean-difference.js';

/** τ as a multiple of the pooled per-unit standard deviation. */
export const MIXING_SD_FACTOR = 0.1;

/** The mixture likelihood ratio Λ for an estimate with variance `v`, mixing variance `tau2`, around `theta0`. */
export function mixtureLikelihoodRatio(estimate: number, v: number, tau2: number, theta0 = 0): number {
  if (!(v > 0) || !(tau2 > 0)) return 1;
  const d = estimate - theta0;
  const logLambda = 0.5 * Math.log(v / (v + tau2)) + (tau2 * d * d) / (2 * v * (v + tau2));
  return Math.exp(logLambda);
}

/** Always-valid two-sided p-value for "the means differ", from the two cells' moments. 1 without enough data. */
export function alwaysValidPValue(control: Moments, treatment: Moments, sdFactor = MIXING_SD_FACTOR): number {
  if (control.n < 2 || treatment.n < 2) return 1;
  const v = variance(control) / control.n + variance(treatment) / treatment.n;
  const pooledSd = Math.sqrt(
    ((control.n - 1) * variance(control) + (treatment.n - 1) * variance(treatment)) / (control.n + treatment.n - 2),
  );
  const tau = sdFactor * pooledSd;
  return Math.min(1, 1 / mixtureLikelihoodRatio(mean(treatment) - mean(control), v, tau * tau));
}
