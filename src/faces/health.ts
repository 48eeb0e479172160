// Liveness and readiness (SPEC §2.4). Ready = a config is loaded and every
// objective has a healthy backend for its default or one of its fallbacks.
import type { Revision } from '../runtime/revision.js';
import { writeJson } from './reply.js';
import type { Route } from './route.js';

export function readiness(rev: Revision | undefined): { ready: boolean; revision: number | null; unready: string[] } {
  if (!rev) return { ready: false, revision: null, unready: [] };
  const unready: string[] = [];
  for (const { compiled: o } of rev.objectives.values()) {
    const candidates = [o.default.target.id, ...o.config.policy.fallback];
    const ok = o.config.policy.static !== undefined || candidates.some((id) => rev.backends.get(id)?.healthy());
    if (!ok) unready.push(o.name);
  }
  return { ready: unready.length === 0, revision: rev.number, unready };
}

export const healthRoutes: Route[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: '/healthz',
    face: 'junction',
    admission: 'open',
    handle: ({ res }) => writeJson(res, 200, { status: 'ok' }),
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: '/readyz',
    face: 'junction',
    admission: 'open',
    handle: ({ dp, res }) => {
      const r = readiness(dp.runtime.current);
      writeJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
    },
  },
];
