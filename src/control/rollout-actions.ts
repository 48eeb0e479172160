// Manual rollout actions as pure edits of a config source (the document as its
// author wrote it, not the parsed config with defaults filled in), so the new
// revision reads like the old one with only the rollout changed.
import { JunctionError } from '../errors.js';

export const ROLLOUT_ACTIONS = ['start', 'pause', 'resume', 'promote', 'abort'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export interface RolloutOptions {
  /** For start when the objective has no rollout yet. */
  candidate?: string;
  steps?: number[];
}

/** Percent a rollout starts at when it names no steps. */
const FIRST_STEP_DEFAULT = 1;

type Doc = Record<string, unknown>;

export function isRolloutAction(s: string): s is RolloutAction {
  return (ROLLOUT_ACTIONS as readonly string[]).includes(s);
}

/** Returns the edited copy of `source`; throws invalid_request when the action makes no sense here. */
export function applyRolloutAction(
  source: unknown,
  objective: string,
  action: RolloutAction,
  opts: RolloutOptions = {},
): Doc {
  const doc = structuredClone(source) as Doc;
  const objectives = doc.objectives as Record<string, Doc> | undefined;
  const o = objectives?.[objective];
  if (!o)
    throw new JunctionError('objective_not_found', `no objective "${objective}" in the live config`, { objective });
  const rollout = o.rollout as Doc | undefined;
  const need = (): Doc => {
    if (!rollout) {
      throw new JunctionError(
        'invalid_request',
        `objective "${objective}" has no rollout; start one first: junction rollout ${objective} start --candidate model@version`,
        { objective },
      );
    }
    return rollout;
  };

  switch (action) {
    case 'start': {
      const candidate = opts.candidate ?? (rollout?.candidate as string | undefined);
      if (candidate === undefined) {
        throw new JunctionError(
          'invalid_request',
          `objective "${objective}" has no rollout to start; name the candidate (CLI --candidate model@version, API {"candidate":"model@version"})`,
          { objective },
        );
      }
      const steps = opts.steps ?? (rollout?.steps as number[] | undefined);
      const next: Doc = {
        ...(rollout?.candidate === candidate ? rollout : {}),
        candidate,
        percent: steps?.[0] ?? FIRST_STEP_DEFAULT,
        state: 'running',
      };
      if (steps) next.steps = steps;
      o.rollout = next;
      break;
    }
    case 'pause':
      need().state = 'paused';
      break;
    case 'resume':
      need().state = 'running';
      break;
    case 'promote':
      o.default = need().candidate;
      delete o.rollout;
      break;
    case 'abort':
      need();
      delete o.rollout;
      break;
  }
  return doc;
}

/** The controller's step: the same rollout at a new percent. */
export function setRolloutPercent(source: unknown, objective: string, percent: number): Doc {
  const doc = structuredClone(source) as Doc;
  const rollout = (doc.objectives as Record<string, Doc> | undefined)?.[objective]?.rollout as Doc | undefined;
  if (!rollout) throw new JunctionError('invalid_request', `objective "${objective}" has no rollout`, { objective });
  rollout.percent = percent;
  return doc;
}
