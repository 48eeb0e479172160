import type { Outcome, Step, Target } from './types.js';

/** Builds a precomputed Outcome, with its x-decision header strings (SPEC §2.1). */
export function makeOutcome(
  objective: string,
  revision: number,
  target: Target,
  step: Step,
  rule: string,
  experiment?: string,
  cell?: string,
): Outcome {
  const header = `rule=${rule}${cell === undefined ? '' : ` cell=${cell}`} revision=${revision}`;
  return Object.freeze({
    objective,
    target,
    step,
    rule,
    experiment,
    cell,
    revision,
    header,
    headerNoUnit: `${header} unit=none`,
  });
}
