// GET /admin/spend (SPEC §16): the spend ledger summed over a window, by
// client, tag, objective or target. The store holds every replica's flushed
// spend; this process flushes its own first, so what it served is in the
// answer (other replicas' last few seconds arrive with their next flush).
import { JunctionError } from '../errors.js';
import { writeJson } from '../http/reply.js';
import type { AdminContext, AdminRoute } from './admin-route.js';
import { SPEND_DIMENSIONS, type SpendDimension, type SpendQuery } from './spend-types.js';
import { spendWindow } from './spend-window.js';

/** `tag=team=search` (repeatable): only clients carrying every one of these. */
function tagFilter(values: string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    if (at <= 0) throw new JunctionError('invalid_request', `tag must be NAME=VALUE (got "${v.slice(0, 64)}")`);
    tags[v.slice(0, at)] = v.slice(at + 1);
  }
  return tags;
}

async function spend(ctx: AdminContext): Promise<void> {
  const { control, query, res } = ctx;
  const by = (query.get('by') ?? 'client') as SpendDimension;
  if (!SPEND_DIMENSIONS.includes(by))
    throw new JunctionError('invalid_request', `by must be one of ${SPEND_DIMENSIONS.join(', ')} (got "${by}")`);
  const timeZone = control.runtime.current?.config.timeZone ?? 'UTC';
  const { from, to } = spendWindow(query, timeZone, new Date());
  const filters: SpendQuery = {
    from,
    to,
    client: query.get('client') ?? undefined,
    objective: query.get('objective') ?? undefined,
    target: query.get('target') ?? undefined,
    tags: tagFilter(query.getAll('tag')),
  };
  await ctx.spend?.flush();
  const [rows, [total]] = await Promise.all([
    control.store.sumSpend({ ...filters, by }),
    control.store.sumSpend(filters),
  ]);
  writeJson(res, 200, {
    by,
    from: from.toISOString(),
    to: to.toISOString(),
    timeZone,
    rows,
    total: total ?? {
      key: '',
      cost: {},
      tokens: { prompt: 0, completion: 0, cached: 0 },
      requests: 0,
      estimatedRequests: 0,
    },
  });
}

export const spendRoutes: AdminRoute[] = [{ method: 'GET', pattern: '/admin/spend', handle: spend }];
