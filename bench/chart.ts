// An SVG chart of the HTTP bench: throughput per target, and latency
// percentiles at the fixed rate, side by side. Plain SVG, no dependency.
import type { BenchSection } from './report.js';

const W = 760;
const H = 300;
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

function bars(
  x0: number,
  title: string,
  labels: string[],
  series: Array<{ name: string; values: number[] }>,
  unit: string,
): string {
  const width = 340;
  const top = 40;
  const height = 190;
  const max = Math.max(...series.flatMap((s) => s.values), 1e-9);
  const group = width / labels.length;
  const barW = (group - 16) / series.length;
  let out = `<text x="${x0 + width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`;
  out += `<line x1="${x0}" y1="${top + height}" x2="${x0 + width}" y2="${top + height}" stroke="#999"/>`;
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (v / max) * height;
      const x = x0 + i * group + 8 + j * barW;
      out += `<rect x="${x.toFixed(1)}" y="${(top + height - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${label} ${s.name}: ${v} ${unit}`)}</title></rect>`;
      out += `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(top + height - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v >= 100 ? Math.round(v) : v.toFixed(2)}</text>`;
    });
    out += `<text x="${(x0 + i * group + group / 2).toFixed(1)}" y="${top + height + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`;
  });
  series.forEach((s, j) => {
    if (series.length === 1) return;
    out += `<rect x="${x0 + j * 110}" y="${top + height + 26}" width="10" height="10" fill="${COLORS[j % COLORS.length]}"/><text x="${x0 + j * 110 + 14}" y="${top + height + 35}" font-size="10">${esc(s.name)}</text>`;
  });
  return out;
}

/** Renders the chart from the HTTP section's rows (see http.ts for the column names). */
export function httpChart(section: BenchSection): string {
  const rows = section.rows;
  const labels = rows.map((r) => String(r.target));
  const col = (re: RegExp) => Object.keys(rows[0] ?? {}).find((k) => re.test(k));
  const rpsCol = col(/^rps/);
  const p50Col = col(/\/s p50 ms$/);
  const p99Col = col(/\/s p99 ms$/);
  const num = (c: string | undefined) => rows.map((r) => (c ? Number(r[c]) : 0));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${bars(20, `Throughput, requests/s (${rpsCol ?? ''})`, labels, [{ name: 'rps', values: num(rpsCol) }], 'req/s')}
${bars(
  400,
  `Latency at ${p50Col?.split('/')[0] ?? ''} req/s, ms`,
  labels,
  [
    { name: 'p50', values: num(p50Col) },
    { name: 'p99', values: num(p99Col) },
  ],
  'ms',
)}
</svg>
`;
}
