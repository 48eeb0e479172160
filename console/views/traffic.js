// Live traffic per target (this process's counts, said on the page) with a
// uPlot chart of requests/s per slot, and the experiment cells with their
// sample-ratio check.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html, pct, ms } from '../util.js';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];
/** Below this the split is broken: the usual sample-ratio-mismatch threshold. */
export const SRM_ALPHA = 0.001;

export function ScopeNote({ traffic, at }) {
  if (!traffic) return null;
  const s = traffic.scope;
  return html`<p class="muted small" data-testid="scope">
    Live · traffic counted by this process (${s.host}, pid ${s.pid}), not merged across workers or replicas;
    rollout gate values are merged from every replica. Updated ${at ? at.toLocaleTimeString() : '–'}.</p>`;
}

export function TargetTable({ targets }) {
  if (!targets.length) return html`<p class="muted">No requests in this window yet.</p>`;
  return html`
    <table class="traffic" aria-label="Traffic per target">
      <thead><tr><th scope="col">Target</th><th scope="col" class="num">req/s</th><th scope="col" class="num">requests</th>
        <th scope="col" class="num">error rate</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th>
        <th scope="col" class="num">fallbacks</th></tr></thead>
      <tbody>${targets.map(
        (t) => html`<tr data-target=${t.target}>
        <th scope="row"><code>${t.target}</code></th><td class="num">${t.rps.toFixed(2)}</td><td class="num requests">${t.requests}</td>
        <td class="num">${pct(t.errorRate, 2)}</td><td class="num">${ms(t.p50Ms)}</td><td class="num">${ms(t.p99Ms)}</td>
        <td class="num">${t.fallbacks}</td></tr>`,
      )}</tbody>
    </table>`;
}

export function RateChart({ targets, slotSeconds }) {
  const box = useRef(null);
  const plot = useRef(null);
  const names = targets.map((t) => t.target).join('|');
  useEffect(() => {
    if (!targets.length) return undefined;
    const opts = {
      width: Math.min(box.current.clientWidth || 640, 900),
      height: 200,
      series: [
        {},
        ...targets.map((t, i) => ({
          label: t.target,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          value: (u, v) => (v == null ? '–' : `${v.toFixed(2)}/s`),
        })),
      ],
      axes: [{}, { label: 'req/s', size: 50 }],
      scales: { x: { time: true } },
    };
    plot.current = new uPlot(opts, data(targets, slotSeconds), box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [names]);
  useEffect(() => {
    plot.current?.setData(data(targets, slotSeconds));
  }, [targets]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${`Requests per second per target over the last minutes: ${targets.map((t) => `${t.target} ${t.rps.toFixed(2)}/s`).join(', ')}`}></div>`;
}

function data(targets, slotSeconds) {
  const xs = targets[0].series.map((p) => p.t / 1000);
  return [xs, ...targets.map((t) => t.series.map((p) => p.requests / slotSeconds))];
}

export function ExperimentTable({ experiment }) {
  const total = experiment.cells.reduce((a, c) => a + c.exposures, 0);
  const weightSum = experiment.cells.reduce((a, c) => a + c.weight, 0);
  const broken = total > 0 && experiment.srmPValue < SRM_ALPHA;
  return html`
    <table class="cells" aria-label=${`Experiment ${experiment.id} cells`}>
      <thead><tr><th scope="col">Cell</th><th scope="col">Target</th><th scope="col" class="num">expected</th>
        <th scope="col" class="num">exposures</th><th scope="col" class="num">observed</th></tr></thead>
      <tbody>${experiment.cells.map(
        (c) => html`<tr>
        <th scope="row">${c.cell}</th><td><code>${c.target}${c.balance ? ` balance=${c.balance}` : ''}</code></td><td class="num">${pct(c.weight / weightSum)}</td>
        <td class="num">${c.exposures}</td><td class="num">${total ? pct(c.exposures / total) : '–'}</td></tr>`,
      )}</tbody>
    </table>
    <p class=${broken ? 'error' : 'ok'} data-testid=${`srm-${experiment.id}`}>
      Sample-ratio check: p = ${experiment.srmPValue < 1e-4 ? experiment.srmPValue.toExponential(1) : experiment.srmPValue.toFixed(4)}
      ${total === 0 ? ' (no exposures yet)' : broken ? ` < ${SRM_ALPHA}: the split does not match the weights; do not trust this experiment's readout` : ': the split matches the weights'}</p>`;
}
