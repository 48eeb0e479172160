// Budgets past their soft threshold (GET /admin/budgets, SPEC §16): a badge
// per budget in `warning` (past warnAt) or `exceeded` (calls it covers are
// refused until it resets), from the spend ledger of every replica.
import { get } from '../api.js';
import { html, usePoll } from '../util.js';

export const BUDGETS_POLL_MS = 10_000;

const shown = (n, unit) => (unit === 'tokens' ? String(Math.round(n)) : n.toFixed(2));

export function BudgetBadges() {
  const budgets = usePoll(() => get('/admin/budgets'), BUDGETS_POLL_MS, []);
  const hot = (budgets.data?.budgets ?? []).filter((b) => b.state !== 'ok');
  if (hot.length === 0) return null;
  return html`<p class="budgets" aria-label="Budgets past their warning threshold">
    ${hot.map(
      (b) => html`<span class="warn-badge" data-budget=${b.name} data-state=${b.state}
        title=${`${b.window}: resets at ${b.resetsAt}`}>
        ${`${b.state === 'exceeded' ? 'budget used up' : 'budget warning'}: ${b.name} ${shown(b.used, b.unit)}/${shown(b.max, b.unit)} ${b.unit}`}</span> `,
    )}
  </p>`;
}
