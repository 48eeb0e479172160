// Every objective with its interface, default and what is active, searchable,
// with its live request rate and error rate over the console's one rate window
// (traffic.js), and its rollout's warnings as badges.
import { useState } from 'preact/hooks';
import { get } from '../api.js';
import { html, usePoll, ErrorNote, Loading, pct, arm } from '../util.js';
import { RATE_WINDOW, ScopeNote, TRAFFIC_PATH, objectiveRate, rate } from './traffic.js';
import { RolloutWarnings } from './warnings.js';
import { money, useSpend } from './spend.js';
import { BudgetBadges } from './budgets.js';

export const TRAFFIC_POLL_MS = 2000;

function active(o) {
  const parts = [];
  if (Object.keys(o.pins).length) parts.push(`${Object.keys(o.pins).length} pins`);
  if (o.rules.length) parts.push(`${o.rules.length} rule${o.rules.length > 1 ? 's' : ''}`);
  for (const x of o.experiments) parts.push(`experiment ${x.id}`);
  if (o.rollout) parts.push(`rollout ${arm(o.rollout.candidate)} ${o.rollout.percent}% (${o.rollout.state})`);
  for (const s of o.shadow) parts.push(`shadow ${s.use} ${s.percent}%`);
  return parts;
}

export function ObjectivesView() {
  const [q, setQ] = useState('');
  const objectives = usePoll(() => get('/admin/objectives'), 5000, []);
  const traffic = usePoll(() => get(TRAFFIC_PATH), TRAFFIC_POLL_MS, []);
  const spend = useSpend('objective');
  if (!objectives.data)
    return objectives.error ? html`<${ErrorNote} error=${objectives.error} />` : html`<${Loading} what="objectives" />`;
  const needle = q.trim().toLowerCase();
  const list = objectives.data.objectives.filter(
    (o) =>
      !needle ||
      [o.name, o.interface, o.default, o.description ?? '', ...active(o)].some((s) => s.toLowerCase().includes(needle)),
  );
  return html`
    <h1>Objectives <span class="muted">revision ${objectives.data.revision}</span></h1>
    <${BudgetBadges} />
    <div class="toolbar">
      <label for="search">Search objectives</label>
      <input id="search" type="search" placeholder="name, model, experiment…" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
    </div>
    <table class="objectives">
      <caption class="sr-only">Objectives</caption>
      <thead><tr><th scope="col">Objective</th><th scope="col">Interface</th><th scope="col">Default</th><th scope="col">Active</th>
        <th scope="col" class="num">req/s <span class="muted">(${RATE_WINDOW})</span></th><th scope="col" class="num">errors</th>
        <th scope="col" class="num">cost (month)</th></tr></thead>
      <tbody>
        ${list.map((o) => {
          const targets = traffic.data?.objectives?.[o.name]?.targets ?? [];
          const req = targets.reduce((a, t) => a + t.requests, 0);
          const err = targets.reduce((a, t) => a + t.errors, 0);
          return html`<tr>
            <th scope="row"><a href=${`#/objectives/${encodeURIComponent(o.name)}`}>${o.name}</a>
              ${o.description && html`<div class="muted small">${o.description}</div>`}</th>
            <td>${o.interface}</td><td><code>${o.default}</code></td>
            <td>${active(o).map((a) => html`<span class="chip">${a}</span>`)}<${RolloutWarnings} o=${o} /></td>
            <td class="num" data-testid=${`rps-${o.name}`}>${rate(objectiveRate(targets))}</td>
            <td class="num">${req ? pct(err / req) : '–'}</td>
            <td class="num" data-testid=${`cost-${o.name}`}>${money(spend.data?.rows.find((r) => r.key === o.name)?.cost)}</td>
          </tr>`;
        })}
        ${list.length === 0 && html`<tr><td colspan="7" class="muted">No objective matches "${q}".</td></tr>`}
      </tbody>
    </table>
    <${ScopeNote} traffic=${traffic.data} at=${traffic.at} />`;
}
