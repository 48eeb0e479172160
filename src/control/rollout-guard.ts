// What makes a rollout unable to tell anyone anything (issue 27): one that
// reaches no live unit (the rules or experiments before it take every live
// request), or a stepped one with no gate on the candidate's errors (the
// controller would walk it up on time alone). Starting such a rollout is
// refused unless forced with a reason, which the revision records; the
// console shows the same findings, computed from the live config, as badges.
import { Objective, type ObjectiveConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { canonicalJson } from './store.js';
import { percentText, rolloutReach, type RolloutReach } from '../routing/rollout-reach.js';

export type RolloutWarningCode = 'no_gate' | 'reaches_no_units';

export interface RolloutWarning {
  code: RolloutWarningCode;
  message: string;
}

/** What the rollout's answers carry besides its config: how far it reaches, and what is wrong with it. */
export interface RolloutFindings {
  reach: RolloutReach;
  warnings: RolloutWarning[];
}

/** The findings on an objective's rollout (parsed config, defaults filled in); undefined without one. */
export function rolloutFindings(objective: string, o: ObjectiveConfig): RolloutFindings | undefined {
  const reach = rolloutReach(objective, o);
  if (reach === undefined || o.rollout === undefined) return undefined;
  const r = o.rollout;
  const warnings: RolloutWarning[] = [];
  if (reach.share === 0) {
    warnings.push({
      code: 'reaches_no_units',
      message:
        `no live unit reaches the rollout: ${reach.takenBy.join(', ')} ${reach.takenBy.length === 1 ? 'takes' : 'take'} every live request before it ` +
        '(rules, then experiments, then the rollout); give that rule a `when`, lower the population, or end the experiment first',
    });
  } else if (r.percent > 0 && reach.candidateShare === 0) {
    warnings.push({
      code: 'reaches_no_units',
      message:
        `at ${r.percent}% no live unit reaches the candidate: the rollout's salt is an experiment's, whose population holds all of the rollout's buckets; ` +
        'give the rollout a salt of its own',
    });
  }
  // Gates only move a stepped rollout (rollout-step.ts); a manual one moves when someone moves it.
  const gates = r.gates;
  if ((r.steps?.length ?? 0) > 0 && gates?.maxErrorRate === undefined && gates?.maxErrorRateIncrease === undefined) {
    warnings.push({
      code: 'no_gate',
      message:
        `no health gate: the controller would walk ${r.steps!.join('→')}% judging nothing of the candidate's errors; ` +
        'add gates.maxErrorRate (e.g. 0.01) or gates.maxErrorRateIncrease',
    });
  }
  return { reach, warnings };
}

/** The reach in words, for a start's answer and the CLI: only when something before the rollout takes units. */
export function describeReach(reach: RolloutReach): string | undefined {
  if (reach.share === 0) return undefined; // the warning says it
  const parts: string[] = [];
  if (reach.share < 1)
    parts.push(
      `reaches ${percentText(reach.share)} of live units (${reach.takenBy.join(', ')} before it); the candidate gets ${percentText(reach.candidateShare)}`,
    );
  const n = reach.conditional.length;
  if (n > 0)
    parts.push(
      `${reach.conditional.join(', ')} ${n === 1 ? 'takes' : 'take'} more for the contexts ${n === 1 ? 'it matches' : 'they match'}`,
    );
  return parts.length === 0 ? undefined : parts.join('; ');
}

/**
 * Refuses to start the rollout `doc` (the edited config source) gives
 * `objective` when it cannot fool anyone, unless `force` gives a reason.
 * Returns what the reason overrode (none: nothing to record).
 */
export function guardStart(doc: unknown, objective: string, force: string | undefined): RolloutWarning[] {
  const raw = (doc as { objectives?: Record<string, unknown> } | undefined)?.objectives?.[objective];
  const parsed = Objective.safeParse(raw);
  // An objective that does not parse is refused by validation, with the path and the fix; nothing to judge here.
  if (!parsed.success) return [];
  const warnings = rolloutFindings(objective, parsed.data)?.warnings ?? [];
  if (warnings.length === 0) return [];
  if (force !== undefined) return warnings;
  throw new JunctionError(
    'rollout_refused',
    `rollout on "${objective}" not started: ${warnings.map((w) => w.message).join('; and ')}. ` +
      `To start it anyway, say why: junction rollout ${objective} start --force "reason" (API: {"force": "reason"}); the revision records the reason`,
    { objective },
  );
}

/**
 * An objective's rollout as the admin API answers it (`/admin/objectives`,
 * `/admin/objectives/{o}/rollout`, a rollout action): its config, with
 * `warnings` (what the console shows as badges) and `reach` (with `text`, the
 * reach in words when something before the rollout takes units); null without one.
 */
export function rolloutAnswer(
  objective: string,
  o: ObjectiveConfig,
):
  | (NonNullable<ObjectiveConfig['rollout']> & {
      warnings: RolloutWarning[];
      reach: RolloutReach & { text: string | null };
    })
  | null {
  const findings = rolloutFindings(objective, o);
  if (o.rollout === undefined || findings === undefined) return null;
  return {
    ...o.rollout,
    warnings: findings.warnings,
    reach: { ...findings.reach, text: describeReach(findings.reach) ?? null },
  };
}

/**
 * A whole config applied (PUT /admin/config) starts a rollout too when it
 * brings one an objective did not have, or another candidate: refused on the
 * same grounds as `start`, unless `force` gives a reason. Rollouts the live
 * config already runs are not judged again (their steps, percent and state
 * move through edits like any other). Returns what the reason overrode.
 */
export function guardApply(
  live: { objectives: Record<string, ObjectiveConfig> } | undefined,
  next: { objectives: Record<string, ObjectiveConfig> },
  force: string | undefined,
): RolloutWarning[] {
  const overridden: RolloutWarning[] = [];
  const refusals: string[] = [];
  for (const [name, o] of Object.entries(next.objectives)) {
    if (o.rollout === undefined) continue;
    const before = live?.objectives[name]?.rollout;
    if (before !== undefined && canonicalJson(before.candidate) === canonicalJson(o.rollout.candidate)) continue;
    const warnings = rolloutFindings(name, o)?.warnings ?? [];
    if (warnings.length === 0) continue;
    overridden.push(...warnings);
    refusals.push(`objective "${name}": ${warnings.map((w) => w.message).join('; and ')}`);
  }
  if (refusals.length === 0 || force !== undefined) return overridden;
  throw new JunctionError(
    'rollout_refused',
    `this config starts a rollout that cannot tell anyone anything, so nothing was stored: ${refusals.join('. ')}. ` +
      'To apply it anyway, say why: junction apply FILE --force "reason" (API: ?force=reason); the revision records the reason',
    { objective: Object.keys(next.objectives).find((n) => refusals.some((r) => r.startsWith(`objective "${n}"`))) },
  );
}
