// The sample-ratio check of one experiment against the weights its units were
// allocated by (weights.ts): per weight period, and over the whole run
// against the mixture of the periods' splits (each period's units expected in
// its own proportions). Nothing is assumed: where a period's weights are not
// known the test is `unknown`, never a test against an equal split (issue 28:
// a clean 30/70 split read as p = 2e-217 against 50/50).
import { SRM_ALPHA, srmPValue } from '../stats/srm.js';
import { weightPeriods, type WeightsOf } from './weights.js';

export interface SrmPeriod {
  /** The revisions exposures of this period were logged under (units counted in the period of their first exposure). */
  revisions: number[];
  /** The cells' weights in these revisions; null when they are not known. */
  weights: Record<string, number> | null;
  units: Record<string, number>;
  pValue: number | null;
  flagged: boolean;
}

export interface SampleRatio {
  /** null: unknown (the weights of some exposures' revisions could not be read). */
  pValue: number | null;
  flagged: boolean;
  alpha: number;
  /** Where the expected split came from: the revisions the exposures were logged under, a config given to the readout, or nowhere. */
  weights: 'revisions' | 'config' | 'unknown';
  /** The weights changed during the run: read `periods`, and the differences between cells mix periods. */
  weightsChanged: boolean;
  periods: SrmPeriod[];
  /** Why the test is unknown, for a reader. */
  reason?: string;
}

/** Units first exposed under one revision, per cell (null revision: a log line without one). */
export interface RevisionUnits {
  revision: number | null;
  cell: string;
  units: number;
}

/**
 * The check for one experiment, its cells in readout order. `weightsOf`
 * (revisions from a store) wins; else `configured` (a config the caller gave)
 * applies to every exposure; else unknown.
 */
export function sampleRatio(
  experiment: string,
  cells: readonly string[],
  byRevision: readonly RevisionUnits[],
  weightsOf: WeightsOf | undefined,
  configured: Record<string, number> | undefined,
): SampleRatio {
  const revisions = byRevision.map((r) => r.revision);
  const numbered = revisions.filter((r): r is number => r !== null);
  let source: SampleRatio['weights'];
  let periods: Array<{ revisions: number[]; weights: Record<string, number> | null; unknownRevision: boolean }>;
  if (weightsOf !== undefined && numbered.length === revisions.length) {
    source = 'revisions';
    periods = weightPeriods(experiment, numbered, weightsOf).map((p) => ({
      ...p,
      unknownRevision: p.weights === null,
    }));
  } else if (configured !== undefined) {
    source = 'config';
    periods = [
      { revisions: [...new Set(numbered)].sort((a, b) => a - b), weights: configured, unknownRevision: false },
    ];
  } else {
    source = 'unknown';
    periods = [{ revisions: [...new Set(numbered)].sort((a, b) => a - b), weights: null, unknownRevision: false }];
  }
  const inPeriod = (p: { revisions: number[] }, r: RevisionUnits) =>
    source !== 'revisions' || (r.revision !== null && p.revisions.includes(r.revision));
  const out: SrmPeriod[] = periods.map((p) => {
    const units = Object.fromEntries(cells.map((c) => [c, 0]));
    for (const r of byRevision) if (inPeriod(p, r)) units[r.cell] = (units[r.cell] ?? 0) + r.units;
    const pValue = p.weights === null ? null : srmPValue(counts(cells, units), vector(cells, p.weights));
    return {
      revisions: p.revisions,
      weights: p.weights,
      units,
      pValue,
      flagged: pValue !== null && pValue < SRM_ALPHA,
    };
  });
  const known = out.every((p) => p.weights !== null);
  let pValue: number | null = null;
  if (known && out.length === 1) pValue = out[0]!.pValue;
  else if (known) pValue = srmPValue(counts(cells, total(cells, out)), mixture(cells, out));
  const result: SampleRatio = {
    pValue,
    flagged: (pValue !== null && pValue < SRM_ALPHA) || out.some((p) => p.flagged),
    alpha: SRM_ALPHA,
    weights: known ? source : 'unknown',
    weightsChanged: out.length > 1,
    periods: out,
  };
  if (!known) result.reason = reasonUnknown(source, periods);
  return result;
}

function reasonUnknown(
  source: SampleRatio['weights'],
  periods: Array<{ unknownRevision: boolean; revisions: number[] }>,
) {
  if (source === 'revisions') {
    const missing = periods.filter((p) => p.unknownRevision).flatMap((p) => p.revisions);
    return `the weights of revision${missing.length > 1 ? 's' : ''} ${missing.join(', ')} are not known to this readout`;
  }
  return 'the cell weights are not known: give the config (--config FILE) or read the store (--store URL)';
}

const counts = (cells: readonly string[], units: Record<string, number>) => cells.map((c) => units[c] ?? 0);
const vector = (cells: readonly string[], weights: Record<string, number>) => cells.map((c) => weights[c] ?? 0);

function total(cells: readonly string[], periods: readonly SrmPeriod[]): Record<string, number> {
  const sum = Object.fromEntries(cells.map((c) => [c, 0]));
  for (const p of periods) for (const c of cells) sum[c]! += p.units[c] ?? 0;
  return sum;
}

/** Expected units per cell over the run: each period's units split by that period's weights. */
function mixture(cells: readonly string[], periods: readonly SrmPeriod[]): number[] {
  const expected = cells.map(() => 0);
  for (const p of periods) {
    const w = vector(cells, p.weights!);
    const wSum = w.reduce((s, x) => s + x, 0);
    // Only cells with weight count towards the period's units: srmPValue leaves weight-0 cells out too.
    const n = cells.reduce((s, c, i) => s + (w[i]! > 0 ? (p.units[c] ?? 0) : 0), 0);
    if (wSum > 0) w.forEach((x, i) => (expected[i]! += (n * x) / wSum));
  }
  return expected;
}
