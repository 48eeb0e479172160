// An apply that breaks an experiment needs the author's acknowledgement (SPEC
// §18): PUT /admin/config previews the change against the live revision and
// refuses it (409 experiment_break_unacknowledged, each break an issue) unless
// every broken experiment is named in `?acknowledge=` (comma-separated or
// repeated; `junction apply --acknowledge ID`). What was acknowledged is
// recorded in the revision's notes. Without a decision log nothing can be
// known, so nothing is refused.
import { JunctionError } from '../errors.js';
import type { AdminContext } from './admin-route.js';
import { previewChange } from './preview-run.js';
import { decisionLogs, previewParams } from './preview-routes.js';

/** Logged decisions an apply's experiment check replays when the request names no window or sample. */
export const APPLY_CHECK_SAMPLE = 200_000;

/** The experiments a request acknowledges: `?acknowledge=cw-42,cw-43` and/or repeated. */
export function acknowledgedParam(query: URLSearchParams): string[] {
  const ids = query
    .getAll('acknowledge')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return [...new Set(ids)];
}

/** Throws when the change would move exposed units of an experiment the author did not acknowledge. */
export async function refuseUnacknowledgedBreaks(
  ctx: Pick<AdminContext, 'control' | 'readouts' | 'query'>,
  source: unknown,
  acknowledged: readonly string[],
): Promise<void> {
  if (ctx.control.runtime.current === undefined) return; // the first config: nothing was exposed yet
  const logs = decisionLogs(ctx);
  if (logs.length === 0) return;
  const { revision: _named, ...selection } = previewParams(ctx.query);
  // Unless the author chose a window or sample, the check replays the log's last lines, not an hour: an apply
  // on a busy objective must not wait for millions of lines (~0.7 s for these on 2 cores).
  if (selection.window === undefined && selection.sample === undefined) selection.sample = String(APPLY_CHECK_SAMPLE);
  const report = await previewChange(ctx.control, logs, source, selection);
  const ok = new Set(acknowledged);
  const breaks = report.breaks.filter((b) => !ok.has(b.experiment));
  if (breaks.length === 0) return;
  const ids = [...new Set(breaks.map((b) => b.experiment))];
  throw new JunctionError(
    'experiment_break_unacknowledged',
    `this change moves units already exposed to experiment${ids.length === 1 ? '' : 's'} ${ids.join(', ')} ` +
      `to another cell, which breaks ${ids.length === 1 ? 'its readout' : 'their readouts'}; nothing was stored, ` +
      `revision ${report.revision} stays live. Preview it (junction apply --preview FILE) and, to apply anyway, ` +
      `acknowledge ${ids.map((id) => `--acknowledge ${id}`).join(' ')} (?acknowledge=${ids.join(',')})`,
    {
      issues: breaks.map((b) => ({
        path: `objectives.${b.objective}.experiments`,
        message: `${b.experiment}: ${b.units} exposed unit${b.units === 1 ? '' : 's'} would change cell (replayed ${report.decisions} logged decisions${report.window ? ` from ${report.window.from}` : ''})`,
      })),
    },
  );
}
