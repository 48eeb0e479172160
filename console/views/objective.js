// One objective: its routing as a picture, in the order of SPEC §3 (override
// and pins, rules, experiments, rollout, default; then shadows and the
// fallback chain), and its live traffic per target and per experiment cell.
import { get, enc } from '../api.js';
import { html, usePoll, ErrorNote, Loading, pct, arm } from '../util.js';
import { ReplicasSection } from './replicas.js';
import { TRAFFIC_POLL_MS } from './objectives.js';
import { ExperimentTable, RATE_WINDOW, RateChart, ScopeNote, TargetTable, TRAFFIC_PATH } from './traffic.js';
import { RolloutWarnings } from './warnings.js';
import { SpendSection } from './spend.js';
import { ReadoutSection } from './readout.js';

function when(w) {
  if (!w) return 'every unit';
  const parts = Object.entries(w.context ?? {}).map(([k, v]) => `${k} ∈ {${[].concat(v).join(', ')}}`);
  if (w.trafficClass) parts.push(`traffic class ∈ {${[].concat(w.trafficClass).join(', ')}}`);
  return parts.join(' and ') || 'every unit';
}

function Bar({ share, label }) {
  return html`<span class="bar" role="img" aria-label=${`${label}: ${pct(share)}`}><span style=${`width:${(share * 100).toFixed(1)}%`}></span></span>`;
}

/** Steps of SPEC §3 with the share of units (that match no rule) each one takes. */
export function RoutingPicture({ o }) {
  let rest = 1; // share of rule-free units still undecided
  const experiments = o.experiments.map((x) => {
    const weightSum = Object.values(x.cells).reduce((a, c) => a + c.weight, 0);
    const reach = x.when ? undefined : rest * x.population;
    if (!x.when) rest *= 1 - x.population;
    return { x, weightSum, reach };
  });
  const rolloutShare = o.rollout ? rest * (o.rollout.percent / 100) : 0;
  if (o.rollout) rest -= rolloutShare;
  const pins = Object.entries(o.pins);
  return html`
    <ol class="routing" aria-label="Routing, first matching step wins">
      <li class=${o.allowOverride || pins.length ? 'step' : 'step off'}>
        <h3>1 · Override and pins</h3>
        <p>${o.allowOverride ? 'x-model-override is honoured for callers allowed to override.' : 'x-model-override is not allowed.'}</p>
        ${pins.length > 0 && html`<ul>${pins.map(([u, t]) => html`<li>unit <code>${u}</code> → <code>${t}</code></li>`)}</ul>`}
      </li>
      <li class=${o.rules.length ? 'step' : 'step off'}>
        <h3>2 · Rules <span class="muted">(first match)</span></h3>
        ${
          o.rules.length === 0
            ? html`<p class="muted">none</p>`
            : html`<ul>${o.rules.map(
                (r) => html`
          <li><strong>${r.id}</strong>: ${when(r.when)} → <code>${r.use}</code></li>`,
              )}</ul>`
        }
      </li>
      <li class=${o.experiments.length ? 'step' : 'step off'}>
        <h3>3 · Experiments</h3>
        ${
          experiments.length === 0
            ? html`<p class="muted">none</p>`
            : experiments.map(
                ({ x, weightSum, reach }) => html`
          <div class="experiment">
            <p><strong>${x.id}</strong>: ${when(x.when)}, population ${pct(x.population, 0)}
              ${reach !== undefined && html`<span class="muted"> (≈ ${pct(reach)} of units that match no rule)</span>`}</p>
            <ul>${Object.entries(x.cells).map(
              ([name, c]) => html`
              <li><${Bar} share=${c.weight / weightSum} label=${`cell ${name}`} /> cell <strong>${name}</strong> ${c.weight}% → <code>${arm(c.use)}</code></li>`,
            )}</ul>
          </div>`,
              )
        }
      </li>
      <li class=${o.rollout ? 'step' : 'step off'}>
        <h3>4 · Rollout</h3>
        ${
          o.rollout
            ? html`<p><${Bar} share=${o.rollout.percent / 100} label="rollout" />
            <code>${arm(o.rollout.candidate)}</code> for ${o.rollout.percent}% of units (${o.rollout.state})
            <span class="muted"> ≈ ${pct(rolloutShare)} of units that match no rule</span>
            · <a href="#/rollouts">rollout details</a></p>`
            : html`<p class="muted">none</p>`
        }
      </li>
      <li class="step">
        <h3>5 · Default</h3>
        <p><${Bar} share=${rest} label="default" /> <code>${o.default}</code>
          <span class="muted"> ≈ ${pct(rest)} of units that match no rule</span></p>
      </li>
    </ol>
    <div class="aside">
      <p><strong>Shadows:</strong> ${o.shadow.length === 0 ? 'none' : o.shadow.map((s) => html`<span class="chip"><code>${s.use}</code> ${s.percent}%${s.compare ? `, compare ${s.compare}` : ''}</span>`)}</p>
      <p><strong>Fallback chain:</strong> ${o.fallback.length === 0 ? 'none' : o.fallback.map((t, i) => html`${i > 0 && ' → '}<code>${t}</code>`)}</p>
    </div>`;
}

export function ObjectiveView({ name }) {
  const objectives = usePoll(() => get('/admin/objectives'), 5000, []);
  const traffic = usePoll(() => get(TRAFFIC_PATH), TRAFFIC_POLL_MS, []);
  if (!objectives.data)
    return objectives.error ? html`<${ErrorNote} error=${objectives.error} />` : html`<${Loading} what=${name} />`;
  const o = objectives.data.objectives.find((x) => x.name === name);
  if (!o)
    return html`<p class="error" role="alert">No objective "${name}" in revision ${objectives.data.revision}. <a href="#/objectives">All objectives</a></p>`;
  const t = traffic.data?.objectives?.[name];
  return html`
    <p class="crumbs"><a href="#/objectives">Objectives</a> /</p>
    <h1>${name} <span class="muted">${o.interface} · revision ${objectives.data.revision}</span></h1>
    ${o.description && html`<p>${o.description}</p>`}
    ${o.rollout?.warnings?.length > 0 && html`<p><${RolloutWarnings} o=${o} full /></p>`}
    <p><a href=${`#/explain/${enc(name)}`}>Explain a unit on this objective</a></p>
    <section aria-labelledby="routing-h"><h2 id="routing-h">Routing</h2><${RoutingPicture} o=${o} /></section>
    <section aria-labelledby="traffic-h">
      <h2 id="traffic-h">Live traffic per target <span class="muted">(${RATE_WINDOW})</span></h2>
      <${ErrorNote} error=${traffic.error} />
      ${
        t
          ? html`<${RateChart} targets=${t.targets} slotSeconds=${traffic.data.slotSeconds} /><${TargetTable} targets=${t.targets} />`
          : html`<${Loading} what="traffic" />`
      }
    </section>
    <${SpendSection} name=${name} />
    <${ReplicasSection} name=${name} />
    ${
      o.experiments.length > 0 &&
      html`<section aria-labelledby="cells-h">
      <h2 id="cells-h">Experiment cells <span class="muted">(exposures, ${RATE_WINDOW})</span></h2>
      ${(t?.experiments ?? []).map((x) => html`<h3>${x.id}</h3><${ExperimentTable} experiment=${x} />`)}
    </section>
    <section aria-labelledby="readouts-h">
      <h2 id="readouts-h">Experiment readouts <span class="muted">(whole run, on request)</span></h2>
      ${o.experiments.map((x) => html`<h3>${x.id}</h3><${ReadoutSection} id=${x.id} />`)}
    </section>`
    }
    <${ScopeNote} traffic=${traffic.data} at=${traffic.at} />`;
}
