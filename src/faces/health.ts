// Liveness and readiness (SPEC §2.4). Ready = a config is loaded and every
// objective has a healthy backend for its default or one of its fallbacks.
import { junctionFace } from './objectives.js';
import type { Revision } from '../runtime/revision.js';
import { writeJson } from '../http/reply.js';
import type { Route } from './types.js';

/** A discovered name that stopped resolving: its target keeps the last good set of replicas (SPEC §14). */
export interface StaleDiscovery {
  target: string;
  name: string;
  error: string;
  /** Wall-clock ms of the last good answer, null if none ever came. */
  resolvedAt: number | null;
}

export function readiness(rev: Revision | undefined): {
  ready: boolean;
  revision: number | null;
  unready: string[];
  discovery?: StaleDiscovery[];
} {
  if (!rev) return { ready: false, revision: null, unready: [] };
  const unready: string[] = [];
  for (const { compiled: o } of rev.objectives.values()) {
    const candidates = [o.default.target.id, ...o.config.policy.fallback];
    const ok = o.config.policy.static !== undefined || candidates.some((id) => rev.backends.get(id)?.healthy());
    if (!ok) unready.push(o.name);
  }
  // Names that stopped resolving do not make Junction unready (their last good set serves), but they are said.
  const stale: StaleDiscovery[] = [];
  for (const [target, backend] of rev.backends) {
    for (const d of backend.discovery?.() ?? []) {
      if (d.error !== undefined) stale.push({ target, name: d.name, error: d.error, resolvedAt: d.resolvedAt ?? null });
    }
  }
  return {
    ready: unready.length === 0,
    revision: rev.number,
    unready,
    ...(stale.length > 0 ? { discovery: stale } : {}),
  };
}

export const healthRoutes: Route[] = [
  {
    methods: ['GET', 'HEAD'],
    pattern: '/healthz',
    face: junctionFace,
    admission: 'open',
    handle: ({ res }) => writeJson(res, 200, { status: 'ok' }),
  },
  {
    methods: ['GET', 'HEAD'],
    pattern: '/readyz',
    face: junctionFace,
    admission: 'open',
    handle: ({ dp, res }) => {
      const r = readiness(dp.runtime.current);
      writeJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
    },
  },
];
