// Where a readout's expected split comes from (issue 28, item 3). Every
// exposure names the revision it was decided under, and a revision's config
// says each experiment's cell weights; so the sample-ratio test compares each
// cell's units with the weights they were actually allocated by, not with an
// assumed equal split. Revisions whose weights are the same for an experiment
// form one weight period; an experiment whose weights changed is tested per
// period (each unit counted in the period of its first exposure) and flagged.
// A revision the readout cannot see leaves the test `unknown`.

/** An experiment's cells in config order (the first is the control), with their weights. */
export type ExperimentCells = ReadonlyArray<readonly [cell: string, weight: number]>;

/** Each experiment id's cells in one revision. */
export type RevisionCells = ReadonlyMap<string, ExperimentCells>;

/** The cells of an experiment under a revision; undefined when the revision is not known to the reader. */
export type WeightsOf = (revision: number) => RevisionCells | undefined;

/**
 * The experiments of a config source (the plain value a revision stores), read
 * structurally: a stored revision was valid when applied, and the weights are
 * all a readout needs of it (no secrets resolved, no backends built).
 */
export function experimentCells(source: unknown): Map<string, ExperimentCells> {
  const out = new Map<string, ExperimentCells>();
  const objectives = field(source, 'objectives');
  if (!isRecord(objectives)) return out;
  for (const objective of Object.values(objectives)) {
    const experiments = field(objective, 'experiments');
    if (!Array.isArray(experiments)) continue;
    for (const e of experiments) {
      const id = field(e, 'id');
      const cells = field(e, 'cells');
      if (typeof id !== 'string' || !isRecord(cells)) continue;
      const list: Array<readonly [string, number]> = [];
      for (const [name, c] of Object.entries(cells)) {
        const w = field(c, 'weight');
        if (typeof w === 'number' && Number.isFinite(w)) list.push([name, w]);
      }
      out.set(id, list);
    }
  }
  return out;
}

/** A run of revisions over which an experiment's weights stayed the same. */
export interface WeightPeriod {
  /** The revisions of the period that exposures were logged under, ascending. */
  revisions: number[];
  /** Weight per cell in this period; null when some revision of it is unknown. */
  weights: Record<string, number> | null;
}

/**
 * Groups the revisions an experiment's units were first exposed under into
 * weight periods: consecutive revisions (in number order) with equal weights
 * share one. An unknown revision is a period of its own with null weights.
 */
export function weightPeriods(experiment: string, revisions: readonly number[], weightsOf: WeightsOf): WeightPeriod[] {
  const periods: WeightPeriod[] = [];
  let lastKey: string | undefined;
  for (const revision of [...new Set(revisions)].sort((a, b) => a - b)) {
    const cells = weightsOf(revision)?.get(experiment);
    const weights = cells === undefined ? null : Object.fromEntries(cells);
    const key = weights === null ? undefined : proportionKey(weights);
    const last = periods.at(-1);
    if (last !== undefined && key !== undefined && key === lastKey) last.revisions.push(revision);
    else periods.push({ revisions: [revision], weights });
    lastKey = key;
  }
  return periods;
}

/** Weights compared as proportions, so 30/70 and 3/7 are the same split. */
function proportionKey(weights: Record<string, number>): string {
  const total = Object.values(weights).reduce((s, w) => s + w, 0);
  return JSON.stringify(
    Object.entries(weights)
      .filter(([, w]) => w > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([c, w]) => [c, Number((w / total).toPrecision(12))]),
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined;
}
