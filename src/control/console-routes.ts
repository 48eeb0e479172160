// Admin API routes the console reads (SPEC §11), documented in
// docs/admin-api.md like every other route: anything the console shows, a
// script can fetch.
import { JunctionError } from '../errors.js';
import { armBalance, armTarget, type ObjectiveConfig, type TargetUse } from '../config/schema.js';
import { explainQuery, targetReplicas } from '../runtime/explain.js';
import { overridableTargets } from '../routing/override.js';
import { writeJson } from '../http/reply.js';
import type { AdminContext, AdminRoute } from './admin-route.js';
import { rolloutAnswer } from './rollout-guard.js';

const DEFAULT_MINUTES = 5;

function liveOf(ctx: AdminContext) {
  const live = ctx.control.runtime.current;
  if (!live) throw new JunctionError('not_ready', 'no config loaded yet; apply one first: junction apply FILE');
  return live;
}

export const consoleRoutes: AdminRoute[] = [
  {
    // Every objective as the live config has it after defaults, in the order of SPEC §3.
    method: 'GET',
    pattern: '/admin/objectives',
    async handle(ctx) {
      const live = liveOf(ctx);
      const objectives = Object.entries(live.config.objectives).map(([name, o]) => ({
        name,
        interface: o.interface,
        description: o.description ?? null,
        default: o.default,
        allowOverride: o.allowOverride,
        pins: o.pins,
        rules: o.rules,
        experiments: o.experiments,
        // The config, with `warnings` (reaches no units, no health gate) for the console's badges, and `reach`.
        rollout: rolloutAnswer(name, o),
        shadow: o.shadow,
        fallback: o.policy.fallback,
      }));
      writeJson(ctx.res, 200, { revision: live.number, objectives });
    },
  },
  {
    // One objective (SPEC §14): its config after defaults, and every target it routes to, shadows or
    // falls back to, each with the arms that name it, its backend's balancer and its replicas now.
    method: 'GET',
    pattern: '/admin/objectives/:objective',
    async handle(ctx) {
      const live = liveOf(ctx);
      const name = ctx.params.objective!;
      const o = live.config.objectives[name];
      if (!o)
        throw new JunctionError('objective_not_found', `no objective "${name}" in the live config`, {
          objective: name,
        });
      const arms = armsOf(o);
      const targets = [...overridableTargets(o)].map((target) => {
        const t = live.routing.targets.get(target);
        const b = t?.backend;
        const backend = live.backends.get(target);
        return {
          target,
          backend:
            b === undefined ? null : b.type === 'http' ? { type: b.type, protocol: b.protocol } : { type: b.type },
          healthy: backend?.healthy() ?? null,
          arms: arms.filter((a) => a.target === target).map(({ as, balance }) => ({ as, balance })),
          ...targetReplicas(live, target),
        };
      });
      writeJson(ctx.res, 200, { revision: live.number, objective: name, config: o, targets });
    },
  },
  {
    method: 'GET',
    pattern: '/admin/traffic',
    async handle(ctx) {
      if (!ctx.traffic) throw new JunctionError('not_found', 'traffic statistics are not kept by this process');
      const minutes = Number(ctx.query.get('minutes') ?? DEFAULT_MINUTES);
      if (!(minutes > 0 && minutes <= 5))
        throw new JunctionError('invalid_request', `minutes must be in (0, 5] (got "${ctx.query.get('minutes')}")`);
      const live = ctx.control.runtime.current;
      // The fleet's sum (SPEC §19): this process's slots and every reporting process's, with who reports.
      const snapshot = await ctx.traffic.snapshot(live?.config, minutes);
      writeJson(ctx.res, 200, { revision: live?.number ?? 0, ...snapshot });
    },
  },
  {
    method: 'GET',
    pattern: '/admin/objectives/:objective/explain',
    async handle(ctx) {
      writeJson(ctx.res, 200, explainQuery(liveOf(ctx), ctx.params.objective!, ctx.query));
    },
  },
];

/** Where an objective names each target, with the balancer the cell or candidate gives it (null: the backend's own). */
function armsOf(o: ObjectiveConfig): Array<{ target: string; as: string; balance: string | null }> {
  const out: Array<{ target: string; as: string; balance: string | null }> = [];
  const add = (use: TargetUse, as: string) =>
    out.push({ target: armTarget(use), as, balance: armBalance(use) ?? null });
  add(o.default, 'default');
  for (const [unit, t] of Object.entries(o.pins)) add(t, `pin ${unit}`);
  o.rules.forEach((r, i) => add(r.use, `rule ${r.id ?? i}`));
  for (const e of o.experiments)
    for (const [cell, c] of Object.entries(e.cells)) add(c.use, `experiment ${e.id} cell ${cell}`);
  if (o.rollout) add(o.rollout.candidate, `rollout ${o.rollout.percent}%`);
  for (const s of o.shadow) add(s.use, `shadow ${s.percent}%`);
  o.policy.fallback.forEach((t, i) => add(t, `fallback[${i}]`));
  return out;
}
