// The editor's Preview step (SPEC §18): the proposed config is replayed on
// logged decisions by POST /admin/config/preview, and the answer says, per
// objective, how many requests and units change target, traffic per target
// before and after, experiments whose exposed units would change cell (each
// must be acknowledged before Apply), rollouts that would move backwards and
// traffic to targets with no healthy replica.
import { ApiError, call } from '../api.js';
import { html, pct, time } from '../util.js';

/** What the operator may replay: a time window or the latest N decisions. */
export const PREVIEW_BASES = [
  ['window=15m', 'last 15 min'],
  ['window=1h', 'last hour'],
  ['window=24h', 'last 24 h'],
  ['sample=10000', 'latest 10,000 decisions'],
];

/**
 * Runs the preview. A Junction without the route (404 not_found, no such
 * admin route) answers `{ unavailable }`: the editor then applies as before,
 * saying no preview was possible.
 */
export async function runPreview(text, basis) {
  try {
    return await call('POST', `/admin/config/preview?${basis}`, { text });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && /no admin route/.test(err.message))
      return { unavailable: err.message };
    throw err;
  }
}

/** Experiments the preview says break, with the objective and units: one checkbox each. */
export const brokenExperiments = (p) => (p && !p.unavailable ? (p.breaks ?? []) : []);

function Source({ p }) {
  const skipped = p.skipped?.corrupt ? `; ${p.skipped.corrupt} unreadable log lines skipped` : '';
  const span = p.window
    ? `from ${time(p.window.from)} to ${time(p.window.to)}`
    : `of the latest ${p.sample} logged lines`;
  return html`<p class="small">Replayed ${p.decisions} decision${p.decisions === 1 ? '' : 's'} ${span} through
    revision ${p.revision} (live) and the proposed config${skipped}.</p>
    ${p.live !== undefined && p.live !== p.revision && html`<p class="error">Revision ${p.live} went live meanwhile: preview again.</p>`}`;
}

/** A rollout's move: `shapes@2 20% → 10%`, or to none. */
const rolloutMove = (r) =>
  `${r.candidate ?? 'no rollout'} ${r.from}% → ${r.candidateAfter === r.candidate ? '' : `${r.candidateAfter ?? 'no rollout'} `}${r.to}%`;

function ObjectiveImpact({ o }) {
  const notes = [
    ...(o.removed ? [html`<li class="error">removed from the config: every request to it would be refused</li>`] : []),
    ...o.rollouts
      .filter((r) => r.backwards)
      .map(
        (r) =>
          html`<li class="error">rollout moves backwards: ${rolloutMove(r)}${
            r.unitsBack ? ` (${r.unitsBack} unit${r.unitsBack === 1 ? '' : 's'} that had the candidate go back)` : ''
          }</li>`,
      ),
    ...o.unhealthy.map(
      (u) =>
        html`<li class="error"><code>${u.target}</code> has no healthy replica: ${u.requests} requests would go there</li>`,
    ),
    ...(o.unlogged?.length
      ? [
          html`<li class="muted">the decision log does not keep ${o.unlogged.join(', ')}: decisions on ${o.unlogged.length === 1 ? 'it' : 'them'} are replayed as if absent</li>`,
        ]
      : []),
    ...o.breaks.map(
      (
        b,
      ) => html`<li class="error">experiment <strong>${b.experiment}</strong>: ${b.units} exposed unit${b.units === 1 ? '' : 's'} change cell
        ${b.cells.length > 0 && html` (${b.cells.map((c, i) => html`${i > 0 && ', '}${c.from} → ${c.to ?? 'out of the experiment'}: ${c.units}`)})`}</li>`,
    ),
  ];
  return html`<section class="objective-impact" data-objective=${o.objective}>
    <h4><a href=${`#/objectives/${encodeURIComponent(o.objective)}`}>${o.objective}</a></h4>
    ${notes.length > 0 && html`<ul>${notes}</ul>`}
    <table aria-label=${`Traffic per target of ${o.objective}, before and after`}>
      <thead><tr><th scope="col">Target</th><th scope="col" class="num">requests before</th><th scope="col" class="num">after</th><th scope="col">healthy</th></tr></thead>
      <tbody>${o.targets.map(
        (
          t,
        ) => html`<tr data-target=${t.target}><th scope="row"><code>${t.target}</code></th><td class="num">${t.before}</td>
          <td class="num">${t.after}</td><td>${t.healthy === null ? html`<span class="muted">not running yet</span>` : t.healthy ? 'yes' : html`<span class="bad-text">no</span>`}</td></tr>`,
      )}</tbody>
    </table>
  </section>`;
}

/** The preview's answer, with a checkbox per broken experiment (`acks`: the ticked ids). */
export function PreviewReport({ preview: p, acks, onAck }) {
  if (p.unavailable)
    return html`<p class="muted" data-testid="preview">No impact preview: this Junction has no preview route (${p.unavailable}).</p>`;
  const touched = p.objectives.filter(
    (o) =>
      o.removed ||
      o.changedRequests > 0 ||
      o.breaks.length ||
      o.unhealthy.length ||
      o.rollouts.some((r) => r.backwards),
  );
  const breaks = brokenExperiments(p);
  return html`<div class="preview" data-testid="preview" aria-labelledby="preview-h">
    <h3 id="preview-h">Impact preview</h3>
    ${p.note && html`<p class="muted small">${p.note}</p>`}
    ${
      p.empty
        ? html`<p class="muted">Nothing to replay (${p.basis}): the preview cannot say which requests or units change,
            nor which experiments break.</p>`
        : html`<${Source} p=${p} />`
    }
    ${
      !p.empty &&
      html`<table class="impact" aria-label="Impact per objective">
      <thead><tr><th scope="col">Objective</th><th scope="col" class="num">requests</th><th scope="col" class="num">change target</th>
        <th scope="col" class="num">units</th><th scope="col" class="num">change target</th></tr></thead>
      <tbody>${p.objectives.map(
        (
          o,
        ) => html`<tr data-objective=${o.objective}><th scope="row">${o.objective}</th><td class="num">${o.requests}</td>
          <td class="num changed">${o.changedRequests} (${pct(o.shareRequestsChanged)})</td><td class="num">${o.units}</td>
          <td class="num">${o.changedUnits} (${pct(o.shareUnitsChanged)})</td></tr>`,
      )}</tbody>
    </table>`
    }
    ${touched.map((o) => html`<${ObjectiveImpact} o=${o} />`)}
    ${
      breaks.length > 0 &&
      html`<fieldset class="breaks">
      <legend class="error">This change breaks ${breaks.length} experiment${breaks.length > 1 ? 's' : ''}: units already exposed would change cell,
        so their readouts mix cells. Tick each to acknowledge it (recorded in the revision).</legend>
      ${breaks.map(
        (
          b,
        ) => html`<label><input type="checkbox" name="acknowledge" value=${b.experiment} checked=${acks.includes(b.experiment)}
          onChange=${(e) => onAck(b.experiment, e.currentTarget.checked)} />
          I accept that experiment <strong>${b.experiment}</strong> (${b.objective}) is broken: ${b.units} exposed unit${b.units === 1 ? '' : 's'} change cell</label>`,
      )}
    </fieldset>`
    }
  </div>`;
}
