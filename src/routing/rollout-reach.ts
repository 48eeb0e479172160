// Which live units a rollout can reach (SPEC §3: pins, rules, experiments,
// rollout, default), worked out from the config alone, so that a rollout
// shadowed by the steps before it is refused at start and flagged in the
// console instead of advancing on nobody's traffic.
//
// Only what holds for every live request counts as taking units: a rule or
// experiment `when` that constrains a context key never matches a request
// without that key, so rules on context can only ever take some requests,
// never all (they are listed, not counted). Pins take a finite list of units
// and do not matter. Experiments hash units independently (each its own
// salt), except that one salt shared by several takes the same low buckets,
// so their union is the largest population; the rollout shares those buckets
// too when its salt is the experiment's.
import { armLabel, type ObjectiveConfig, type WhenConfig } from '../config/schema.js';
import { BUCKETS } from './bucket.js';

export interface RolloutReach {
  /** Share of live units that get to the rollout step, for requests whose context no conditional rule or experiment matches. */
  share: number;
  /** Share of live units the candidate gets at the rollout's percent (the same bound). */
  candidateShare: number;
  /** What takes every live unit, or a share of them, before the rollout: `rule r0`, `experiment cw-42 (100% of units)`. */
  takenBy: string[];
  /** Rules and experiments that take units for some contexts only: the shares above are upper bounds when these match. */
  conditional: string[];
}

/** Whether `when` holds for every live request (no context key, and live among its traffic classes). */
function alwaysLive(when: WhenConfig | undefined): boolean {
  return when === undefined || (Object.keys(when.context ?? {}).length === 0 && takesLive(when));
}

/** Whether `when` can match live traffic at all. */
function takesLive(when: WhenConfig | undefined): boolean {
  const tc = when?.trafficClass;
  return tc === undefined || (Array.isArray(tc) ? tc.includes('live') : tc === 'live');
}

/** The reach of the objective's rollout at its current percent; undefined without a rollout. */
export function rolloutReach(objective: string, o: ObjectiveConfig): RolloutReach | undefined {
  const r = o.rollout;
  if (r === undefined) return undefined;
  const takenBy: string[] = [];
  const conditional: string[] = [];

  for (const [i, rule] of o.rules.entries()) {
    const name = `rule ${rule.id ?? i}`;
    if (alwaysLive(rule.when)) {
      // Every live request stops here: nothing after it is ever reached.
      return { share: 0, candidateShare: 0, takenBy: [name], conditional };
    }
    if (takesLive(rule.when)) conditional.push(name);
  }

  // Per salt, the largest population of an experiment taking every live request: bucket < that is taken.
  const taken = new Map<string, number>();
  for (const e of o.experiments) {
    if (!alwaysLive(e.when)) {
      if (takesLive(e.when)) conditional.push(`experiment ${e.id}`);
      continue;
    }
    const salt = e.salt ?? e.id;
    const upper = Math.min(e.population, 1) * BUCKETS;
    takenBy.push(`experiment ${e.id} (${percentText(upper / BUCKETS)} of units)`);
    taken.set(salt, Math.max(taken.get(salt) ?? 0, upper));
  }

  const rolloutSalt = r.salt ?? `${objective}:${armLabel(r.candidate)}`;
  const rolloutUpper = r.percent * 100;
  let share = 1;
  let candidateShare = rolloutUpper / BUCKETS;
  for (const [salt, upper] of taken) {
    share *= 1 - upper / BUCKETS;
    if (salt === rolloutSalt) {
      // The same buckets: the rollout's are [0, percent × 100), the experiment's [0, upper).
      candidateShare *= Math.max(0, rolloutUpper - upper) / Math.max(rolloutUpper, 1);
    } else candidateShare *= 1 - upper / BUCKETS;
  }
  return { share, candidateShare, takenBy, conditional };
}

/** `50%`, `0.5%`, `12.35%`: a share as people read it. */
export function percentText(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}
