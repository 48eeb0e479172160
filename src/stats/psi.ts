// Population stability index: how far one distribution of scores has moved
// from another, Σ (p − q) · ln(p / q) over shared buckets. Used by the
// maxScoreDrift gate (candidate's output scores against the baseline's).
// Rule of thumb: < 0.1 stable, 0.1–0.25 some shift, > 0.25 a real shift.

/** Empty buckets get this share so the logarithm stays finite (a common convention). */
const FLOOR = 1e-4;

/** PSI of `actual` against `expected`, both counts over the same buckets. 0 when either is empty. */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new Error('populationStabilityIndex: bucket counts differ in length');
  const e = expected.reduce((s, x) => s + x, 0);
  const a = actual.reduce((s, x) => s + x, 0);
  if (e === 0 || a === 0) return 0;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = Math.max(actual[i]! / a, FLOOR);
    const q = Math.max(expected[i]! / e, FLOOR);
    psi += (p - q) * Math.log(p / q);
  }
  return psi;
}

/** Ten equal-width buckets over [0, 1] (probabilities and scores); values outside are clamped into the end buckets. */
export const SCORE_BUCKETS = 10;

export function scoreBucket(score: number): number {
  const i = Math.floor(score * SCORE_BUCKETS);
  return i < 0 ? 0 : i >= SCORE_BUCKETS ? SCORE_BUCKETS - 1 : i;
}
