// `junction apply --preview FILE` without --json: the preview report
// (control/preview-types.ts) as a reader scans it: what moves, per objective,
// then what needs attention (breaks, rollouts going back, unhealthy targets).
import type { ObjectivePreview, PreviewReport } from '../control/preview-types.js';

export function previewText(file: string, r: PreviewReport): string {
  const out: string[] = [];
  const against = r.revision === r.live ? `revision ${r.revision}` : `revision ${r.revision} (live is now ${r.live})`;
  const over = r.window ? `from ${r.window.from} to ${r.window.to}` : `the last ${n(r.sample ?? 0)} log lines`;
  out.push(`preview of ${file} against ${against}: ${n(r.decisions)} logged decisions replayed, ${over}`);
  const skipped = [
    r.skipped.corrupt > 0 ? `${n(r.skipped.corrupt)} corrupt line${s(r.skipped.corrupt)}` : '',
    r.skipped.unknownObjective > 0 ? `${n(r.skipped.unknownObjective)} of objectives neither config has` : '',
  ].filter((x) => x !== '');
  if (skipped.length > 0) out.push(`  skipped: ${skipped.join(', ')}`);
  if (r.note !== undefined) out.push(`  ${r.note}`);
  if (r.diff.length > 0) out.push('changes:', ...r.diff.map((d) => `  ${d}`));
  for (const o of r.objectives) out.push(...objectiveText(o));
  if (r.breaks.length > 0) {
    const ids = [...new Set(r.breaks.map((b) => b.experiment))];
    out.push(
      `applying needs ${ids.map((id) => `--acknowledge ${id}`).join(' ')}: the change breaks experiment readouts`,
    );
  } else if (!r.empty) out.push('no experiment breaks');
  return `${out.join('\n')}\n`;
}

function objectiveText(o: ObjectivePreview): string[] {
  const out = [
    `objective ${o.objective}: ${n(o.requests)} requests, ${n(o.units)} units${o.removed ? ' (REMOVED by the change)' : ''}`,
  ];
  out.push(
    `  would change target: ${pct(o.shareRequestsChanged)} of requests (${n(o.changedRequests)}), ${pct(o.shareUnitsChanged)} of units (${n(o.changedUnits)})`,
  );
  const width = Math.max(6, ...o.targets.map((t) => t.target.length));
  out.push(`    ${'target'.padEnd(width)}  ${'before'.padStart(9)}  ${'after'.padStart(9)}  healthy`);
  for (const t of o.targets)
    out.push(
      `    ${t.target.padEnd(width)}  ${n(t.before).padStart(9)}  ${n(t.after).padStart(9)}  ${t.healthy === null ? 'unknown' : t.healthy ? 'yes' : 'NO'}`,
    );
  for (const b of o.breaks) {
    const moves = b.cells.map((c) => `${c.from} → ${c.to ?? 'out'}: ${n(c.units)}`).join(', ');
    out.push(`  BREAKS experiment ${b.experiment}: ${n(b.units)} exposed unit${s(b.units)} change cell (${moves})`);
  }
  for (const r of o.rollouts) {
    const what = r.candidate === r.candidateAfter || r.candidateAfter === null ? r.candidate : r.candidateAfter;
    out.push(
      `  rollout ${what ?? ''}: ${r.from}% → ${r.to}%${r.backwards ? ` BACKWARDS (${n(r.unitsBack)} unit${s(r.unitsBack)} leave the candidate)` : ''}`,
    );
  }
  for (const u of o.unhealthy)
    out.push(`  NO HEALTHY REPLICA: ${u.target} would get ${n(u.requests)} request${s(u.requests)}`);
  if (o.unlogged.length > 0)
    out.push(
      `  not in the decision log: context ${o.unlogged.join(', ')} (read by the proposed config): replayed as absent`,
    );
  return out;
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function s(x: number): string {
  return x === 1 ? '' : 's';
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
