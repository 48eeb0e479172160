// Experiments (SPEC §3 step 3): a unit in the population lands in one cell;
// cells split [0, population × 10000) into consecutive ranges in listed order.
import type { ExperimentConfig, TargetUse } from '../config/schema.js';
import { BUCKETS, bucketOf } from './bucket.js';
import type { BucketMemo } from './bucket-memo.js';
import type { CompiledExperiment, Outcome, RoutingRequest, TrailEntry } from './types.js';
import { compileWhen, matches, mismatch } from './when.js';

export function compileExperiment(
  e: ExperimentConfig,
  outcomeOf: (use: TargetUse, cell: string) => Outcome,
): CompiledExperiment {
  const populationUpper = e.population * BUCKETS;
  let cumulative = 0;
  const cells = Object.entries(e.cells).map(([name, c]) => {
    cumulative += c.weight;
    return { name, upper: (populationUpper * cumulative) / 100, outcome: outcomeOf(c.use, name) };
  });
  // Float rounding must never leave a sliver of the population without a cell.
  if (cells.length > 0) cells[cells.length - 1]!.upper = populationUpper;
  return { id: e.id, salt: e.salt ?? e.id, when: e.when ? compileWhen(e.when) : undefined, populationUpper, cells };
}

export function assignExperiment(
  e: CompiledExperiment,
  req: RoutingRequest,
  unit: string,
  trail: TrailEntry[] | undefined,
  memo?: BucketMemo,
): Outcome | undefined {
  if (e.when !== undefined && !matches(e.when, req)) {
    trail?.push({ step: 'experiment', id: e.id, matched: false, reason: mismatch(e.when, req) });
    return undefined;
  }
  const bucket = memo === undefined ? bucketOf(e.salt, unit) : memo.bucketOf(e.salt, unit);
  if (bucket < e.populationUpper) {
    for (let i = 0; i < e.cells.length; i++) {
      const cell = e.cells[i]!;
      if (bucket < cell.upper) {
        trail?.push({
          step: 'experiment',
          id: e.id,
          matched: true,
          target: cell.outcome.target.id,
          reason: `bucket ${bucket} < ${cell.upper}: cell ${cell.name}${cell.outcome.balance === undefined ? '' : ` (balance=${cell.outcome.balance})`}`,
        });
        return cell.outcome;
      }
    }
  }
  trail?.push({
    step: 'experiment',
    id: e.id,
    matched: false,
    reason: `bucket ${bucket} outside population [0, ${e.populationUpper})`,
  });
  return undefined;
}
