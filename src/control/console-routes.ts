// Admin API routes the console reads (SPEC §11), documented in
// docs/admin-api.md like every other route: anything the console shows, a
// script can fetch.
import { JunctionError } from '../errors.js';
import { explainQuery } from '../faces/decide-api.js';
import { writeJson } from '../faces/reply.js';
import type { AdminContext, AdminRoute } from './admin-routes.js';

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
        rollout: o.rollout ?? null,
        shadow: o.shadow,
        fallback: o.policy.fallback,
      }));
      writeJson(ctx.res, 200, { revision: live.number, objectives });
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
      writeJson(ctx.res, 200, { revision: live?.number ?? 0, ...ctx.traffic.snapshot(live?.config, minutes) });
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
