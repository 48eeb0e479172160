// The sample-ratio check of an experiment: did units land in its cells in the
// proportions the config asks for? A chi-square goodness-of-fit test of the
// observed counts against the configured weights. A tiny p-value (commonly
// < 0.001) means the split is broken (a bug in assignment, a cell that fails
// more often and loses its exposures, a bot) and the readout cannot be trusted.

/**
 * p-value of Pearson's chi-square test that `counts` were drawn in the
 * proportions of `weights` (any positive scale). 1 when there is nothing to
 * test (fewer than two cells with weight, or no counts).
 */
export function srmPValue(counts: readonly number[], weights: readonly number[]): number {
  if (counts.length !== weights.length) throw new RangeError('srmPValue: counts and weights differ in length');
  let total = 0;
  let weightSum = 0;
  let cells = 0;
  for (let i = 0; i < counts.length; i++) {
    if (weights[i]! > 0) {
      total += counts[i]!;
      weightSum += weights[i]!;
      cells++;
    } else if (counts[i]! > 0) {
      return 0; // units in a cell that should get none: as broken as a split can be
    }
  }
  if (cells < 2 || total === 0) return 1;
  let chi2 = 0;
  for (let i = 0; i < counts.length; i++) {
    if (!(weights[i]! > 0)) continue;
    const expected = (total * weights[i]!) / weightSum;
    const d = counts[i]! - expected;
    chi2 += (d * d) / expected;
  }
  return chiSquareSurvival(chi2, cells - 1);
}

/** P(X ≥ x) for X ~ χ²(df): the regularized upper incomplete gamma Q(df/2, x/2). */
export function chiSquareSurvival(x: number, df: number): number {
  if (x <= 0) return 1;
  return upperGammaQ(df / 2, x / 2);
}

// Q(a, x) by the series for P when x < a + 1, else by Lentz's continued
// fraction (Numerical Recipes §6.2); both converge fast in their regions.
function upperGammaQ(a: number, x: number): number {
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(logPrefix) * h);
}

// Lanczos approximation (g = 7, n = 9), accurate to ~15 digits for a > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

function logGamma(z: number): number {
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zz = z - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (zz + i);
  const t = zz + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(sum);
}
