// GET /admin/models: every model version and everything that sends it traffic
// (default, pins, rules, experiment cells, rollouts, shadows, fallbacks), so a
// version is never retired while something still routes to it.
import { armBalance, armTarget, type Config, type TargetUse } from '../config/schema.js';
import { targetReplicas } from '../runtime/explain.js';
import type { Revision } from '../runtime/revision.js';

export type UsageKind = 'default' | 'pin' | 'rule' | 'experiment' | 'rollout' | 'shadow' | 'fallback';

export interface Usage {
  objective: string;
  as: UsageKind;
  /** Which rule, experiment cell, pin, …: enough to find it in the config. */
  detail?: string;
}

export interface ModelVersionUsage {
  target: string;
  model: string;
  version: string;
  class: string;
  backend: { type: string; protocol?: string; endpoints?: string[]; path?: string };
  usedBy: Usage[];
}

export function modelUsage(config: Config): ModelVersionUsage[] {
  const byTarget = new Map<string, ModelVersionUsage>();
  for (const [model, m] of Object.entries(config.models)) {
    for (const [version, v] of Object.entries(m.versions)) {
      const b = v.backend;
      byTarget.set(`${model}@${version}`, {
        target: `${model}@${version}`,
        model,
        version,
        class: m.class,
        backend:
          b.type === 'http'
            ? { type: b.type, protocol: b.protocol, endpoints: b.endpoints }
            : { type: b.type, path: b.path },
        usedBy: [],
      });
    }
  }
  const use = (target: string, u: Usage) => byTarget.get(target)?.usedBy.push(u);

  for (const [objective, o] of Object.entries(config.objectives)) {
    use(o.default, { objective, as: 'default' });
    for (const [unit, t] of Object.entries(o.pins)) use(t, { objective, as: 'pin', detail: unit });
    o.rules.forEach((r, i) => use(r.use, { objective, as: 'rule', detail: r.id ?? `rules[${i}]` }));
    for (const e of o.experiments) {
      for (const [cell, c] of Object.entries(e.cells))
        use(armTarget(c.use), { objective, as: 'experiment', detail: `${e.id} cell ${cell}${balanceNote(c.use)}` });
    }
    if (o.rollout)
      use(armTarget(o.rollout.candidate), {
        objective,
        as: 'rollout',
        detail: `${o.rollout.percent}% ${o.rollout.state}${balanceNote(o.rollout.candidate)}`,
      });
    for (const s of o.shadow) use(s.use, { objective, as: 'shadow', detail: `${s.percent}%` });
    o.policy.fallback.forEach((t, i) => use(t, { objective, as: 'fallback', detail: `fallback[${i}]` }));
  }
  return [...byTarget.values()];
}

/**
 * GET /admin/models: every version of a live revision with what uses it and
 * its replicas now (SPEC §14: in service or ejected and why, reported load,
 * adapters), as GET /admin/objectives/{o} shows them, so the Models page says
 * which versions have replicas out of service whatever routes to them.
 */
export function modelsOf(rev: Revision) {
  return modelUsage(rev.config).map((m) => ({ ...m, ...targetReplicas(rev, m.target) }));
}

/** ` balance=prefix` for an arm that names its balancer, '' otherwise. */
function balanceNote(use: TargetUse): string {
  const b = armBalance(use);
  return b === undefined ? '' : ` balance=${b}`;
}
