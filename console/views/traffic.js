// Live traffic per target (the fleet's sum when the admin API gives it, this
// process's counts otherwise: said on the page) with a uPlot chart of the
// requests in each slot, and the experiment cells with their sample-ratio check.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html, pct, ms } from '../util.js';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];
/** Below this the split is broken: the usual sample-ratio-mismatch threshold. */
export const SRM_ALPHA = 0.001;

/**
 * The one definition of a rate in the console: requests per second averaged
 * over the last RATE_MINUTES (the admin API's `rps` for `?minutes=5`, shorter
 * only while a process has not yet counted that long). The objectives list,
 * the per-target table and the chart's legend all read it from the same call,
 * so the same objective shows the same number everywhere, with the window said.
 */
export const RATE_MINUTES = 5;
export const RATE_WINDOW = `last ${RATE_MINUTES} min`;
export const TRAFFIC_PATH = `/admin/traffic?minutes=${RATE_MINUTES}`;

/** An objective's request rate: the sum of its targets' (each already over the window). */
export const objectiveRate = (targets) => targets.reduce((a, t) => a + t.rps, 0);
export const rate = (rps) => rps.toFixed(2);

/** A stale process as the fleet view names it: `host:pid:… (silent since 12:00:01)` or `(clock 7.2 s off)`. */
const staleText = (p) =>
  typeof p === 'string'
    ? p
    : `${p.name} (${p.reason === 'clock-skew' ? `clock ${(Math.abs(p.skewMs ?? 0) / 1000).toFixed(1)} s off` : `silent since ${new Date(p.lastSeen).toLocaleTimeString()}`})`;

/** Whose traffic the numbers are: the fleet's (processes reporting, stale ones named) or this process's. */
export function ScopeNote({ traffic, at }) {
  if (!traffic) return null;
  const f = traffic.fleet;
  const stale = f?.stale ?? [];
  const whose = f
    ? html`fleet total: <strong data-testid="fleet">${f.processes} process${f.processes === 1 ? '' : 'es'} reporting${
        stale.length ? ` (${stale.length} stale: ${stale.map(staleText).join(', ')})` : ''
      }</strong>${f.storeError ? html` <span class="error">(the store did not answer: this process's numbers only; ${f.storeError})</span>` : ''}`
    : html`traffic counted by this process (${traffic.scope.host}, pid ${traffic.scope.pid}), not merged across workers or replicas`;
  return html`<p class="muted small" data-testid="scope">
    Live · ${whose}; req/s is the mean over the ${RATE_WINDOW}; rollout gate values are merged from every replica.
    Updated ${at ? at.toLocaleTimeString() : '–'}.</p>`;
}

export function TargetTable({ targets }) {
  if (!targets.length) return html`<p class="muted">No requests in this window yet.</p>`;
  return html`
    <table class="traffic" aria-label="Traffic per target">
      <thead><tr><th scope="col">Target</th><th scope="col" class="num">req/s <span class="muted">(${RATE_WINDOW})</span></th><th scope="col" class="num">requests</th>
        <th scope="col" class="num">error rate</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th>
        <th scope="col" class="num">fallbacks</th></tr></thead>
      <tbody>${targets.map(
        (t) => html`<tr data-target=${t.target}>
        <th scope="row"><code>${t.target}</code></th><td class="num rps">${rate(t.rps)}</td><td class="num requests">${t.requests}</td>
        <td class="num">${pct(t.errorRate, 2)}</td><td class="num">${ms(t.p50Ms)}</td><td class="num">${ms(t.p99Ms)}</td>
        <td class="num">${t.fallbacks}</td></tr>`,
      )}</tbody>
    </table>`;
}

/**
 * Requests in each slot over the same window as the table. The chart plots
 * counts per slot, not a second kind of rate: the only req/s on the page is
 * the window's mean, shown in the legend and the table.
 */
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
          label: `${t.target} (${rate(t.rps)} req/s)`,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          value: (u, v) => (v == null ? '–' : `${v} req`),
        })),
      ],
      axes: [{}, { label: `requests per ${slotSeconds} s`, size: 50 }],
      scales: { x: { time: true } },
    };
    plot.current = new uPlot(opts, data(targets), box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [names]);
  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    // The legend carries each target's rate over the window; keep it current with the table's.
    targets.forEach((t, i) => {
      const label = p.root.querySelectorAll('.u-legend .u-series')[i + 1]?.querySelector('.u-label');
      if (label) label.textContent = `${t.target} (${rate(t.rps)} req/s)`;
    });
    p.setData(data(targets));
  }, [targets]);
  return html`<figure class="chart-figure">
    <div class="chart" ref=${box} role="img" aria-label=${`Requests per ${slotSeconds}-second slot per target over the ${RATE_WINDOW}; mean rates: ${targets.map((t) => `${t.target} ${rate(t.rps)} req/s`).join(', ')}`}></div>
    <figcaption class="muted small">Requests per ${slotSeconds}-second slot, ${RATE_WINDOW}; the legend's req/s is the mean over the window, as in the table.</figcaption>
  </figure>`;
}

function data(targets) {
  const xs = targets[0].series.map((p) => p.t / 1000);
  return [xs, ...targets.map((t) => t.series.map((p) => p.requests))];
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
