// Spend from the ledger (GET /admin/spend, SPEC §16): this month so far in the
// config's time zone, merged from every replica's flushed spend.
import { get, enc } from '../api.js';
import { html, usePoll, ErrorNote } from '../util.js';

export const SPEND_POLL_MS = 10_000;

/** `12.34 USD + 0.5000 EUR`, or – when nothing was priced. */
export const money = (cost) => {
  const parts = Object.entries(cost ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, amount]) => `${amount.toFixed(amount >= 100 ? 2 : 4)} ${currency}`);
  return parts.length ? parts.join(' + ') : '–';
};

/** The month's spend per key of one dimension (`by`), optionally of one objective. */
export function useSpend(by, objective) {
  const filter = objective ? `&objective=${enc(objective)}` : '';
  return usePoll(() => get(`/admin/spend?by=${by}${filter}`), SPEND_POLL_MS, [by, objective]);
}

export function SpendSection({ name }) {
  const spend = useSpend('target', name);
  const rows = spend.data?.rows ?? [];
  return html`<section aria-labelledby="spend-h">
    <h2 id="spend-h">Spend per target <span class="muted">(this month, ${spend.data?.timeZone ?? '…'})</span></h2>
    <${ErrorNote} error=${spend.error} />
    ${
      rows.length === 0
        ? html`<p class="muted">${spend.data ? 'Nothing spent this month.' : 'Loading spend…'}</p>`
        : html`<table class="spend" aria-label="Spend per target">
      <thead><tr><th scope="col">Target</th><th scope="col" class="num">cost</th><th scope="col" class="num">requests</th>
        <th scope="col" class="num">estimated</th><th scope="col" class="num">prompt tokens</th>
        <th scope="col" class="num">completion tokens</th><th scope="col" class="num">cached</th></tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr data-spend-target=${r.key}>
        <th scope="row"><code>${r.key}</code></th><td class="num cost">${money(r.cost)}</td><td class="num">${r.requests}</td>
        <td class="num">${r.estimatedRequests}</td><td class="num">${r.tokens.prompt}</td>
        <td class="num">${r.tokens.completion}</td><td class="num">${r.tokens.cached}</td></tr>`,
      )}</tbody>
    </table>`
    }
  </section>`;
}
