// A change preview run against this process (SPEC §18): the revision the
// "before" side is (the live one, read once at the start, or the one the
// caller names), the proposed config validated and compiled once, the
// decision-log files read for the chosen window or sample, and the replay.
// POST /admin/config/preview answers it; PUT /admin/config runs it to find
// experiments a change would break.
import { existsSync } from 'node:fs';
import { validateConfig } from '../config/load.js';
import type { Config, DecisionLogConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { contextFilter, keysRoutingReads } from '../observe/decision-context.js';
import { compileRouting } from '../routing/compile.js';
import type { RoutingTable } from '../routing/types.js';
import { configDiff } from './config-diff.js';
import type { ControlPlane } from './control-plane.js';
import { Replay } from './preview.js';
import { readLogLines, type LineSelection } from './preview-log.js';
import type { PreviewReport } from './preview-types.js';

/** What a preview replays when the caller names neither a window nor a sample. */
export const DEFAULT_WINDOW = '1h';
const UNITS_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_SAMPLE = 100_000_000;

export interface PreviewParams {
  /** `15m`, `1h`, `30s`, `2d`. */
  window?: string | undefined;
  /** The last N lines of the log. */
  sample?: string | undefined;
  /** The revision to preview against (default: the live one). */
  revision?: string | undefined;
}

/** The selection a caller asked for, checked (400 invalid_request naming the parameter). */
export function selectionOf(params: PreviewParams, now: number): LineSelection {
  if (params.window !== undefined && params.sample !== undefined)
    throw new JunctionError('invalid_request', 'give window or sample, not both');
  if (params.sample !== undefined) {
    const n = Number(params.sample);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLE)
      throw new JunctionError(
        'invalid_request',
        `sample must be a whole number of log lines from 1 to ${MAX_SAMPLE} (got "${params.sample}")`,
      );
    return { sample: n };
  }
  const window = params.window ?? DEFAULT_WINDOW;
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(window);
  const ms = m ? Number(m[1]) * UNITS_MS[m[2]!]! : NaN;
  if (!(ms > 0) || !Number.isFinite(ms))
    throw new JunctionError(
      'invalid_request',
      `window must be a duration such as 15m, 1h, 30s or 2d (got "${window}")`,
    );
  return { window: { from: new Date(now - ms).toISOString(), to: new Date(now).toISOString() } };
}

/** The running side of a preview: the live revision, or the stored one the caller names. */
async function runningSide(
  control: ControlPlane,
  named: string | undefined,
): Promise<{ number: number; config: Config; source: unknown; routing: RoutingTable }> {
  const live = control.runtime.current;
  if (!live) throw new JunctionError('not_ready', 'no config loaded yet; apply one first: junction apply FILE');
  if (named === undefined || Number(named) === live.number)
    return { number: live.number, config: live.config, source: live.meta.source, routing: live.routing };
  const n = Number(named);
  if (!Number.isInteger(n) || n < 1)
    throw new JunctionError('invalid_request', `revision must be a positive integer (got "${named}")`);
  const stored = await control.store.get(n);
  if (!stored) throw new JunctionError('not_found', `no revision ${n}; list them with "junction revisions"`);
  const config = validateConfig(stored.source);
  return { number: n, config, source: stored.source, routing: compileRouting(config, n) };
}

/**
 * Replays the logs' decisions through the running and the proposed config.
 * A proposed config that does not validate throws the ConfigError `PUT
 * /admin/config` answers with (400, its issues).
 */
export async function previewChange(
  control: ControlPlane,
  logs: readonly string[],
  proposed: unknown,
  params: PreviewParams = {},
  now: number = Date.now(),
): Promise<PreviewReport> {
  const next = validateConfig(proposed);
  const selection = selectionOf(params, now);
  const running = await runningSide(control, params.revision);
  const live = control.runtime.current;
  const replay = new Replay({
    before: running.routing,
    after: compileRouting(next, running.number + 1),
    // Health is now's, from the live revision's backends: a target it does not run is unknown.
    healthy: (target) => live?.backends.get(target)?.healthy(),
    unlogged: unloggedKeys(live?.config ?? running.config, next),
  });
  const files = logs.filter((f) => existsSync(f));
  if (files.length > 0) await readLogLines(files, selection, (line) => replay.line(line));
  const objectives = replay.objectives();
  const window = 'window' in selection ? selection.window : null;
  const empty = replay.decisions === 0;
  return {
    revision: running.number,
    live: control.liveNumber,
    basis: files.length > 0 ? 'decision log' : 'no decision log',
    window,
    sample: 'sample' in selection ? selection.sample : null,
    decisions: replay.decisions,
    skipped: replay.skipped,
    empty,
    ...(files.length === 0
      ? {
          note: 'no decision log to replay: start junction serve with --decision-log FILE; experiment breaks cannot be known',
        }
      : empty
        ? {
            note:
              window !== null
                ? `no logged traffic from ${window.from} to ${window.to}`
                : 'the decision log holds no decisions',
          }
        : {}),
    diff: configDiff(running.source, proposed),
    objectives,
    breaks: objectives.flatMap((o) =>
      o.breaks.map((b) => ({ experiment: b.experiment, objective: o.objective, units: b.units })),
    ),
  };
}

/**
 * Per objective, the context keys the proposed config reads that the live
 * config's decision log does not write (decision-context.ts decides both).
 */
function unloggedKeys(logging: Config, next: Config): (objective: string) => string[] {
  const settings: DecisionLogConfig | undefined = logging.decisionLog;
  return (objective) => {
    const proposed = next.objectives[objective];
    if (proposed === undefined) return [];
    const filter = contextFilter(logging.objectives[objective] ?? { rules: [], experiments: [] }, settings);
    return [...keysRoutingReads(proposed)]
      .filter((k) => (filter.all ? filter.never.has(k) : !filter.keep.has(k)))
      .sort();
  };
}

/** The experiments a preview found broken that the author did not acknowledge. */
export function unacknowledged(report: PreviewReport, acknowledged: readonly string[]): string[] {
  const ok = new Set(acknowledged);
  return [...new Set(report.breaks.map((b) => b.experiment))].filter((e) => !ok.has(e)).sort();
}
