// Gradual rollout (SPEC §3 step 4): buckets below percent × 100 go to the
// candidate, so raising the percent only ever adds units.
import { bucketOf } from './bucket.js';
import type { BucketMemo } from './bucket-memo.js';
import type { CompiledRollout, Outcome, RoutingRequest, TrailEntry } from './types.js';

/** `candidate`: the arm's label (config/arm.ts), `model@version` or `model@version balance=prefix`. */
export function compileRollout(
  objective: string,
  candidate: string,
  percent: number,
  salt: string | undefined,
  outcome: Outcome,
): CompiledRollout {
  return { salt: salt ?? `${objective}:${candidate}`, percent, upper: percent * 100, outcome };
}

export function assignRollout(
  r: CompiledRollout,
  _req: RoutingRequest,
  unit: string,
  trail: TrailEntry[] | undefined,
  memo?: BucketMemo,
): Outcome | undefined {
  if (r.upper <= 0) {
    trail?.push({ step: 'rollout', id: 'rollout', matched: false, reason: 'percent is 0' });
    return undefined;
  }
  const bucket = memo === undefined ? bucketOf(r.salt, unit) : memo.bucketOf(r.salt, unit);
  const hit = bucket < r.upper;
  trail?.push({
    step: 'rollout',
    id: 'rollout',
    matched: hit,
    target: hit ? r.outcome.target.id : undefined,
    reason: `bucket ${bucket} ${hit ? '<' : '>='} ${r.upper} (${r.percent}% to ${r.outcome.target.id}${r.outcome.balance === undefined ? '' : ` balance=${r.outcome.balance}`})`,
  });
  return hit ? r.outcome : undefined;
}
