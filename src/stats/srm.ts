// The sample-ratio-mismatch check (SPEC §11, §12): do the units that reached
// each cell match the weights the experiment asked for? A mismatch means the
// assignment or the logging is broken and no difference between the cells can
// be trusted. Pearson's chi-square goodness-of-fit test; readouts flag p < 0.001.
import { chiSquareSurvival } from './distributions.js';

/** Below this p-value a readout reports a sample-ratio mismatch. */
export const SRM_ALPHA = 0.001;

/**
 * P-value of the observed `counts` under the expected split `weights` (any
 * positive scale; they are normalized). Cells with weight 0 are left out.
 * Returns 1 when there is nothing to test (fewer than two cells or no units).
 */
export function srmPValue(counts: number[], weights: number[]): number {
  if (counts.length !== weights.length)
    throw new Error(`srmPValue: ${counts.length} counts but ${weights.length} weights`);
  const cells: Array<[number, number]> = [];
  for (let i = 0; i < counts.length; i++) if (weights[i]! > 0) cells.push([counts[i]!, weights[i]!]);
  const total = cells.reduce((s, [c]) => s + c, 0);
  const weightSum = cells.reduce((s, [, w]) => s + w, 0);
  if (cells.length < 2 || total === 0) return 1;
  let chi2 = 0;
  for (const [observed, w] of cells) {
    const expected = (total * w) / weightSum;
    chi2 += (observed - expected) ** 2 / expected;
  }
  return chiSquareSurvival(chi2, cells.length - 1);
}
