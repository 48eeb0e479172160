// GET /admin/budgets (SPEC §16): every budget of the live config with its
// current window (in `timeZone`), what the spend ledger says it used, and
// when it resets. The ledger is the durable count: this process flushes its
// own batch first; other replicas' last few seconds arrive with their next
// flush, so a budget the hot counters (tenancy/budgets.ts) just refused may
// show a little under its max here for a few seconds.
import { writeJson } from '../http/reply.js';
import { allBudgets, amount } from '../tenancy/budgets.js';
import { windowAt } from '../tenancy/budget-window.js';
import type { AdminContext, AdminRoute } from './admin-route.js';

async function budgets(ctx: AdminContext): Promise<void> {
  const { control, res } = ctx;
  const config = control.runtime.current?.config;
  const timeZone = config?.timeZone ?? 'UTC';
  const now = Date.now();
  await ctx.spend?.flush();
  const rows = await Promise.all(
    (config === undefined ? [] : allBudgets(config)).map(async (b) => {
      const w = windowAt(b.per, now, timeZone);
      const [total] = await control.store.sumSpend({
        from: new Date(w.start),
        to: new Date(w.end),
        client: b.client,
        tags: b.tags,
      });
      const used =
        total === undefined
          ? 0
          : b.unit === 'tokens'
            ? total.tokens.prompt + total.tokens.completion
            : (total.cost[b.unit] ?? 0);
      const ratio = b.max === 0 ? 1 : used / b.max;
      return {
        name: b.name,
        ...(b.client !== undefined ? { client: b.client } : { tags: b.tags }),
        per: b.per,
        unit: b.unit,
        max: b.max,
        used: Number(amount(used, b.unit)),
        ratio,
        warnAt: b.warnAt,
        state: used >= b.max ? 'exceeded' : used >= b.warnAt * b.max ? 'warning' : 'ok',
        window: w.key,
        from: new Date(w.start).toISOString(),
        resetsAt: new Date(w.end).toISOString(),
      };
    }),
  );
  writeJson(res, 200, { timeZone, budgets: rows });
}

export const budgetsRoutes: AdminRoute[] = [{ method: 'GET', pattern: '/admin/budgets', handle: budgets }];
