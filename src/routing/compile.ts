// Config → RoutingTable, once per revision, so that a request's routing cost
// depends on its own objective only, never on how many objectives exist.
import {
  armBalance,
  armLabel,
  armTarget,
  type Config,
  type ObjectiveConfig,
  type TargetUse,
} from '../config/schema.js';
import { compileExperiment } from './experiments.js';
import { makeOutcome } from './outcome.js';
import { compileRollout } from './rollout.js';
import type { CompiledObjective, Outcome, RoutingTable, Step, Target } from './types.js';
import { buildRuleIndex } from './rule-index.js';
import { compileWhen } from './when.js';

export function compileTargets(config: Config): Map<string, Target> {
  const targets = new Map<string, Target>();
  for (const [model, m] of Object.entries(config.models)) {
    for (const [version, v] of Object.entries(m.versions)) {
      const id = `${model}@${version}`;
      targets.set(
        id,
        Object.freeze({
          id,
          model,
          version,
          modelClass: m.class,
          backend: v.backend,
          metadata: v.metadata,
          price: v.price,
        }),
      );
    }
  }
  return targets;
}

export function compileRouting(config: Config, revision: number): RoutingTable {
  const targets = compileTargets(config);
  const objectives = new Map<string, CompiledObjective>();
  for (const [name, o] of Object.entries(config.objectives)) {
    objectives.set(name, compileObjective(name, o, revision, targets));
  }
  return { revision, objectives, targets };
}

function compileObjective(
  name: string,
  o: ObjectiveConfig,
  revision: number,
  targets: Map<string, Target>,
): CompiledObjective {
  const target = (ref: string): Target => {
    const t = targets.get(ref);
    // validate.ts guarantees this; a miss here is a bug, not a user error.
    if (t === undefined) throw new Error(`compile: unknown target ${ref} in objective ${name}`);
    return t;
  };
  const outcome = (ref: string, step: Step, rule: string, experiment?: string, cell?: string): Outcome =>
    makeOutcome(name, revision, target(ref), step, rule, experiment, cell);
  /** A cell's or candidate's outcome: its target, and the balancer it names (frozen with the outcome). */
  const armOutcome = (use: TargetUse, step: Step, rule: string, experiment?: string, cell?: string): Outcome =>
    makeOutcome(name, revision, target(armTarget(use)), step, rule, experiment, cell, armBalance(use));

  const pins = new Map<string, Outcome>();
  const pinOutcomes = new Map<string, Outcome>();
  for (const [unit, ref] of Object.entries(o.pins)) {
    let shared = pinOutcomes.get(ref);
    if (shared === undefined) pinOutcomes.set(ref, (shared = outcome(ref, 'pin', 'pin')));
    pins.set(unit, shared);
  }

  const rules = o.rules.map((r, i) => {
    const id = r.id ?? String(i);
    return { id, when: compileWhen(r.when), outcome: outcome(r.use, 'rule', `rule:${id}`) };
  });

  const experiments = o.experiments.map((e) =>
    compileExperiment(e, (use, cell) => armOutcome(use, 'experiment', `experiment:${e.id}`, e.id, cell)),
  );

  const rollout =
    o.rollout === undefined
      ? undefined
      : compileRollout(
          name,
          armLabel(o.rollout.candidate),
          o.rollout.percent,
          o.rollout.salt,
          armOutcome(o.rollout.candidate, 'rollout', 'rollout'),
        );

  return {
    name,
    interface: o.interface,
    config: o,
    revision,
    allowOverride: o.allowOverride,
    pins,
    rules,
    ruleIndex: buildRuleIndex(rules),
    experiments,
    rollout,
    default: outcome(o.default, 'default', 'default'),
    overrides: new Map(),
  };
}
