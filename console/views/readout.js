// One experiment's readout (GET /admin/experiments/{id}/results): per cell
// units, exposures, errors and latency; the sample-ratio check and where its
// weights came from; per metric the mean and the difference to the first
// cell. A readout can take seconds (DuckDB over the logs, or the fleet
// store's tables), so it runs once per click and is never polled.
import { useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { html, ErrorNote, pct, arm } from '../util.js';

const num = (x, digits = 4) => (x == null ? '–' : Number(x.toPrecision(digits)).toString());
const signed = (x) => (x == null ? '–' : `${x >= 0 ? '+' : ''}${num(x)}`);
const msOr = (x) => (x == null ? '–' : x.toFixed(1));

/** The error a reader can act on: no logs to read, busy, or too slow. */
function readable(error) {
  if (error.status === 503) return `The readout runner is busy (${error.message}); try again in a few seconds.`;
  if (error.status === 504)
    return `The readout took too long and was cancelled (${error.message}); run junction analyze on a copy of the logs.`;
  if (error.status === 404) return `No readout: ${error.message}`;
  return `Readout failed: ${error.message}`;
}

function CellTable({ cells }) {
  return html`<div class="scroll"><table class="readout-cells">
    <thead><tr><th>cell</th><th>target</th><th class="num">weight</th><th class="num">units</th><th class="num">exposures</th>
      <th class="num">error rate</th><th class="num">p50 ms</th><th class="num">p99 ms</th></tr></thead>
    <tbody>${cells.map(
      (c) => html`<tr data-cell=${c.cell}>
      <th>${c.cell}</th><td><code>${c.target == null ? '–' : arm(c.balance ? { target: c.target, balance: c.balance } : c.target)}</code></td>
      <td class="num">${c.weight ?? '–'}</td><td class="num units">${c.units}</td><td class="num exposures">${c.exposures}</td>
      <td class="num">${c.errorRate == null ? '–' : pct(c.errorRate, 2)}</td>
      <td class="num">${msOr(c.latencyMs?.p50)}</td><td class="num">${msOr(c.latencyMs?.p99)}</td></tr>`,
    )}</tbody></table></div>`;
}

function SampleRatio({ srm, several }) {
  const from = {
    revisions: 'the revisions the exposures were logged under',
    config: 'the live config',
    unknown: 'nowhere',
  }[srm.weights];
  return html`<p class=${srm.flagged ? 'srm flagged' : 'srm'}>
    <strong>Sample ratio:</strong> ${srm.pValue == null ? 'unknown' : html`p = <span class="srm-p">${num(srm.pValue)}</span>`}
    ${srm.flagged ? html` <span class="warn-badge">flagged (below ${srm.alpha})</span>` : srm.pValue != null && ' (not flagged)'}
    <span class="muted"> · weights from ${from ?? srm.weights}${srm.reason ? `: ${srm.reason}` : ''}</span>
    ${srm.weightsChanged && html`<span class="muted"> · the weights changed during the run (${srm.periods.length} periods)</span>`}
    ${several > 0 && html`<span class="muted"> · ${several} units saw more than one cell (counted in their first)</span>`}
  </p>`;
}

function MetricTable({ m, control }) {
  return html`<p>metric <strong>${m.metric}</strong> <span class="muted">(difference to ${control}, 95 % CI, always-valid p)</span></p>
    <div class="scroll"><table class="readout-metric" data-metric=${m.metric}>
    <thead><tr><th>cell</th><th class="num">units</th><th class="num">mean</th><th class="num">difference</th><th class="num">95 % CI</th><th class="num">p</th></tr></thead>
    <tbody>${m.cells.map(
      (c) => html`<tr data-cell=${c.cell}>
      <th>${c.cell}</th><td class="num">${c.units}</td><td class="num mean">${num(c.mean)}</td>
      <td class="num">${c.difference ? signed(c.difference.estimate) : '–'}</td>
      <td class="num">${c.difference ? `[${signed(c.difference.ci95[0])}, ${signed(c.difference.ci95[1])}]` : '–'}</td>
      <td class="num">${c.difference ? num(c.difference.pValue) : '–'}</td></tr>`,
    )}</tbody></table></div>`;
}

function Result({ answer }) {
  const x = answer.experiment;
  if (!x) return html`<p class="muted">No exposures logged for this experiment yet.</p>`;
  const source = answer.source ?? x.source; // shown only if the answer names it
  return html`
    ${source && html`<p class="muted">Read from ${source === 'fleet' ? 'the fleet store (every replica)' : "this process's logs"}.</p>`}
    <${CellTable} cells=${x.cells} />
    <${SampleRatio} srm=${x.srm} several=${x.unitsInSeveralCells} />
    ${x.metrics.length === 0 ? html`<p class="muted">No feedback metrics yet.</p>` : x.metrics.map((m) => html`<${MetricTable} m=${m} control=${x.cells[0]?.cell ?? 'the first cell'} />`)}`;
}

/** The readout of experiment `id`, fetched when the operator asks for it. */
export function ReadoutSection({ id }) {
  const [state, setState] = useState({ busy: false });
  const readOut = async () => {
    setState({ busy: true });
    try {
      setState({ busy: false, answer: await get(`/admin/experiments/${enc(id)}/results`), at: new Date() });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<section class="readout" aria-label=${`Readout of ${id}`}>
    <h4>Readout <button type="button" onClick=${readOut} disabled=${state.busy}>${state.answer || state.error ? 'Read out again' : 'Read out'}</button>
      ${state.busy && html`<span class="muted" aria-busy="true"> reading… (can take seconds)</span>`}
      ${state.at && html`<span class="muted"> as of ${state.at.toISOString().slice(11, 19)}Z</span>`}</h4>
    ${state.error && html`<${ErrorNote} error=${{ message: readable(state.error) }} />`}
    ${state.answer && html`<${Result} answer=${state.answer} />`}
  </section>`;
}
