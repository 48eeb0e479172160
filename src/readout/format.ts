// The readout as a human reads it: one block per experiment, a table per
// cell and per metric. `--json` prints the Readout itself instead.
import type { ExperimentReadout, Readout } from './readout.js';

export function formatReadout(r: Readout): string {
  if (r.experiments.length === 0) return 'no live experiment exposures in the decision log\n';
  return r.experiments.map(formatExperiment).join('\n');
}

function formatExperiment(e: ExperimentReadout): string {
  const out: string[] = [];
  out.push(`experiment ${e.experiment} (objective ${e.objective})`);
  out.push(
    table(
      ['cell', 'target', 'weight', 'units', 'exposures', 'error rate', 'p50 ms', 'p99 ms', 'ttft p50', 'ttft p99'],
      e.cells.map((c) => [
        c.cell,
        c.target === null ? '-' : c.balance === null ? c.target : `${c.target} balance=${c.balance}`,
        c.weight === null ? '-' : String(c.weight),
        String(c.units),
        String(c.exposures),
        pct(c.errorRate),
        num(c.latencyMs.p50),
        num(c.latencyMs.p99),
        num(c.ttftMs.p50),
        num(c.ttftMs.p99),
      ]),
    ),
  );
  out.push(...formatSampleRatio(e.srm));
  if (e.unitsInSeveralCells > 0)
    out.push(`${e.unitsInSeveralCells} units saw more than one cell (each counted in its first)`);
  for (const m of e.metrics) {
    out.push('');
    out.push(`metric ${m.metric} (difference to ${m.cells[0]?.cell ?? '-'}, 95 % CI, always-valid p)`);
    out.push(
      table(
        ['cell', 'units', 'mean', 'difference', '95 % CI', 'p (always valid)'],
        m.cells.map((c) => [
          c.cell,
          String(c.units),
          num(c.mean),
          c.difference ? signed(c.difference.estimate) : '-',
          c.difference ? `[${signed(c.difference.ci95[0])}, ${signed(c.difference.ci95[1])}]` : '-',
          c.difference ? p(c.difference.pValue) : '-',
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

function formatSampleRatio(srm: ExperimentReadout['srm']): string[] {
  const mismatch = `  MISMATCH (p < ${srm.alpha}): assignment or logging is broken; do not trust the differences`;
  if (srm.pValue === null && !srm.weightsChanged) return [`sample ratio: unknown (${srm.reason ?? 'no weights'})`];
  const against = srm.weights === 'config' ? 'the configured weights' : "the weights of the exposures' revisions";
  const lines: string[] = [];
  lines.push(
    srm.pValue === null
      ? `sample ratio: unknown over the run (${srm.reason ?? 'no weights'})`
      : `sample ratio: p = ${p(srm.pValue)} against ${against}${srm.flagged ? mismatch : ''}`,
  );
  if (srm.weightsChanged) {
    lines.push(
      '  the weights changed during the run: each weight period on its own (units in the period of their first exposure);',
    );
    lines.push('  differences between cells mix the periods');
    for (const period of srm.periods) {
      const w =
        period.weights === null
          ? 'unknown'
          : Object.entries(period.weights)
              .map(([c, x]) => `${c}=${x}`)
              .join(' ');
      const u = Object.entries(period.units)
        .map(([c, n]) => `${c}=${n}`)
        .join(' ');
      lines.push(
        `  revisions ${period.revisions.join(',')}: weights ${w}; units ${u}; p = ${period.pValue === null ? 'unknown' : p(period.pValue)}${period.flagged ? '  MISMATCH' : ''}`,
      );
    }
  }
  return lines;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

const num = (x: number | null) => (x === null ? '-' : Number(x.toPrecision(4)).toString());
const signed = (x: number) => (x >= 0 ? '+' : '') + num(x);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const p = (x: number) => (x < 0.0001 ? '<0.0001' : x.toFixed(4));
