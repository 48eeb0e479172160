// Manual rollout actions as pure edits of a config source (the document as its
// author wrote it, not the parsed config with defaults filled in), so the new
// revision reads like the old one with only the rollout changed.
//
// A candidate may be `{ target, balance }` (a balancer as a rollout arm, SPEC
// §14). Promoting it makes the target the default and writes the balancer
// onto the target's backend (`models.M.versions.V.backend.balance`): a
// balancer is a property of the replicas behind a target, so the promoted
// balancer is what every call to that target then uses, from every objective
// that routes to it (promotedBalance says which, for the revision's message).
import { armLabel, BALANCERS, type Balance, type TargetUse } from '../config/schema.js';
import { JunctionError } from '../errors.js';

export const ROLLOUT_ACTIONS = ['start', 'pause', 'resume', 'promote', 'abort'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

export interface RolloutOptions {
  /** For start when the objective has no rollout yet: `model@version` or `{ target, balance }`. */
  candidate?: TargetUse;
  steps?: number[];
  /** For start: the gates the controller judges each step on (replacing the rollout's; validation judges them). */
  gates?: Record<string, unknown>;
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
      const candidate = opts.candidate ?? (rollout?.candidate as TargetUse | undefined);
      if (candidate === undefined) {
        throw new JunctionError(
          'invalid_request',
          `objective "${objective}" has no rollout to start; name the candidate (CLI --candidate model@version, API {"candidate":"model@version"})`,
          { objective },
        );
      }
      const steps = opts.steps ?? (rollout?.steps as number[] | undefined);
      const next: Doc = {
        ...(rollout?.candidate !== undefined && sameArm(rollout.candidate, candidate) ? rollout : {}),
        candidate,
        percent: steps?.[0] ?? FIRST_STEP_DEFAULT,
        state: 'running',
      };
      if (steps) next.steps = steps;
      if (opts.gates) next.gates = opts.gates;
      o.rollout = next;
      break;
    }
    case 'pause':
      need().state = 'paused';
      break;
    case 'resume':
      need().state = 'running';
      break;
    case 'promote': {
      const candidate = need().candidate;
      if (isBalanceArm(candidate)) {
        setBackendBalance(doc, candidate.target, candidate.balance, objective);
        o.default = candidate.target;
      } else o.default = candidate;
      delete o.rollout;
      break;
    }
    case 'abort':
      need();
      delete o.rollout;
      break;
  }
  return doc;
}

/** Whether two candidates (as written) name the same arm. */
function sameArm(a: unknown, b: TargetUse): boolean {
  return (isBalanceArm(a) || typeof a === 'string') && armLabel(a) === armLabel(b);
}

function isBalanceArm(c: unknown): c is { target: string; balance: Balance } {
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof (c as Doc).target === 'string' &&
    (BALANCERS as readonly unknown[]).includes((c as Doc).balance)
  );
}

/** Writes `balance` onto the backend of `target` in the source document. */
function setBackendBalance(doc: Doc, target: string, balance: Balance, objective: string): void {
  const at = target.lastIndexOf('@');
  const models = doc.models as Record<string, Doc> | undefined;
  const versions = models?.[target.slice(0, at)]?.versions as Record<string, Doc> | undefined;
  const backend = versions?.[target.slice(at + 1)]?.backend as Doc | undefined;
  if (backend === undefined || typeof backend !== 'object')
    throw new JunctionError(
      'invalid_request',
      `cannot promote ${target} balance=${balance} on "${objective}": the config declares no backend for ${target} to set balance: ${balance} on`,
      { objective },
    );
  backend.balance = balance;
}

/**
 * What promoting a `{ target, balance }` candidate also changes: the balancer
 * of the target's backend, and so the other objectives routing to it. Undefined
 * for a plain candidate.
 */
export function promotedBalance(
  source: unknown,
  objective: string,
): { target: string; balance: Balance; alsoObjectives: string[] } | undefined {
  const objectives = (source as Doc | undefined)?.objectives as Record<string, Doc> | undefined;
  const candidate = (objectives?.[objective]?.rollout as Doc | undefined)?.candidate;
  if (!isBalanceArm(candidate)) return undefined;
  const alsoObjectives = Object.entries(objectives ?? {})
    .filter(([name, o]) => name !== objective && JSON.stringify(o).includes(`"${candidate.target}"`))
    .map(([name]) => name);
  return { target: candidate.target, balance: candidate.balance, alsoObjectives };
}

/** The controller's step: the same rollout at a new percent. */
export function setRolloutPercent(source: unknown, objective: string, percent: number): Doc {
  const doc = structuredClone(source) as Doc;
  const rollout = (doc.objectives as Record<string, Doc> | undefined)?.[objective]?.rollout as Doc | undefined;
  if (!rollout) throw new JunctionError('invalid_request', `objective "${objective}" has no rollout`, { objective });
  rollout.percent = percent;
  return doc;
}
