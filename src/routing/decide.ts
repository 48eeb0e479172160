// The routing decision (SPEC §3). Pure: no clock, no randomness it did not
// receive, no I/O. `explain` is this same function with a trail to record into.
import type { BucketMemo } from './bucket-memo.js';
import { assignExperiment } from './experiments.js';
import { resolveOverride, resolvePin } from './override.js';
import { assignRollout } from './rollout.js';
import type { CompiledObjective, Outcome, RoutingRequest, RoutingTable, TrailEntry } from './types.js';
import { firstMatchingRule } from './rule-index.js';
import { mismatch } from './when.js';

/**
 * `memo`: where the caller keeps buckets of units it sees again (the SDK, the
 * data plane); a bucket is a pure function of salt and unit, so the outcome is
 * the same with or without it. A request without a unit (a random one) never
 * repeats, so it goes past the memo: remembering it would only evict units
 * that come back.
 */
export function decide(
  table: RoutingTable,
  o: CompiledObjective,
  req: RoutingRequest,
  trail?: TrailEntry[],
  memo?: BucketMemo,
): Outcome {
  if (req.unit === undefined) memo = undefined;
  // 1. override, then pins
  if (req.override !== undefined) return resolveOverride(table, o, req, req.override, trail);
  const pinned = resolvePin(o, req.unit, trail);
  if (pinned !== undefined) return pinned;

  // 2. rules, first match
  const first = firstMatchingRule(o.ruleIndex, req);
  if (trail) {
    const considered = first === -1 ? o.rules.length : first;
    for (let i = 0; i < considered; i++) {
      trail.push({ step: 'rule', id: o.rules[i]!.id, matched: false, reason: mismatch(o.rules[i]!.when, req) });
    }
    if (first !== -1)
      trail.push({
        step: 'rule',
        id: o.rules[first]!.id,
        matched: true,
        target: o.rules[first]!.outcome.target.id,
        reason: 'matched',
      });
  }
  if (first !== -1) return o.rules[first]!.outcome;

  // 3. experiments, 4. rollout: both allocate by unit
  const unit = req.unit ?? req.randomUnit ?? '';
  for (let i = 0; i < o.experiments.length; i++) {
    const assigned = assignExperiment(o.experiments[i]!, req, unit, trail, memo);
    if (assigned !== undefined) return assigned;
  }
  if (o.rollout !== undefined) {
    const assigned = assignRollout(o.rollout, req, unit, trail, memo);
    if (assigned !== undefined) return assigned;
  }

  // 5. default
  trail?.push({
    step: 'default',
    id: 'default',
    matched: true,
    target: o.default.target.id,
    reason: 'nothing earlier decided',
  });
  return o.default;
}

/** The decision plus the ordered trail of every step considered. */
export function explain(
  table: RoutingTable,
  o: CompiledObjective,
  req: RoutingRequest,
): { outcome: Outcome; trail: TrailEntry[] } {
  const trail: TrailEntry[] = [];
  const outcome = decide(table, o, req, trail);
  return { outcome, trail };
}
