import type { Balance } from '../config/schema.js';
import type { Outcome, Step, Target } from './types.js';

/**
 * Builds a precomputed Outcome, with its x-decision header strings (SPEC §2.1).
 * `balance`: the balancer a cell or rollout candidate names with its target
 * (`use: { target, balance }`); it shows in the header (`cell=B balance=prefix`).
 */
export function makeOutcome(
  objective: string,
  revision: number,
  target: Target,
  step: Step,
  rule: string,
  experiment?: string,
  cell?: string,
  balance?: Balance,
): Outcome {
  const header =
    `rule=${rule}${cell === undefined ? '' : ` cell=${cell}`}` +
    `${balance === undefined ? '' : ` balance=${balance}`} revision=${revision}`;
  return Object.freeze({
    objective,
    target,
    step,
    rule,
    experiment,
    cell,
    revision,
    // Always present (undefined when the backend picks with its own): one object shape for every outcome.
    balance,
    header,
    headerNoUnit: `${header} unit=none`,
  });
}
