// Which context keys the decision log writes (SPEC §18, `decisionLog.context`).
// By default only the keys the objective's routing reads (its rules' and
// experiments' `when.context`): enough for a change preview to replay every
// decision exactly, and nothing else a caller sent (a context header may carry
// personal data). `keep` adds keys (or `all`), `never` removes keys whoever
// reads them. The filter is worked out once per objective and revision, never
// per request.
import type { DecisionLogConfig, ObjectiveConfig } from '../config/schema.js';

export interface ContextFilter {
  /** Every key but `never`'s. */
  readonly all: boolean;
  /** The keys written (when not `all`), `never`'s already taken out. */
  readonly keep: ReadonlySet<string>;
  readonly never: ReadonlySet<string>;
}

/** What the log reads of a live revision (runtime's Revision is one; observe/ sits below runtime/). */
export interface LoggedRevision {
  readonly objectives: ReadonlyMap<string, { readonly compiled: { readonly config: ObjectiveConfig } }>;
  /** The whole validated config; only `decisionLog` is read. */
  readonly config?: unknown;
}

/** The context keys an objective's routing reads: its rules' and its experiments' `when.context`. */
export function keysRoutingReads(o: Pick<ObjectiveConfig, 'rules' | 'experiments'>): Set<string> {
  const keys = new Set<string>();
  for (const r of o.rules) for (const k of Object.keys(r.when.context ?? {})) keys.add(k);
  for (const e of o.experiments) for (const k of Object.keys(e.when?.context ?? {})) keys.add(k);
  return keys;
}

const NO_ROUTING: Pick<ObjectiveConfig, 'rules' | 'experiments'> = Object.freeze({ rules: [], experiments: [] });

export function contextFilter(
  o: Pick<ObjectiveConfig, 'rules' | 'experiments'>,
  settings: DecisionLogConfig | undefined,
): ContextFilter {
  const never = new Set(settings?.context.never ?? []);
  const extra = settings?.context.keep ?? [];
  if (extra === 'all') return { all: true, keep: new Set(), never };
  const keep = keysRoutingReads(o);
  for (const k of extra) keep.add(k);
  for (const k of never) keep.delete(k);
  return { all: false, keep, never };
}

/** The context as the log writes it: a JSON object of the kept keys, in the request's order. */
export function contextJson(context: Readonly<Record<string, string>>, filter: ContextFilter | undefined): string {
  if (filter === undefined || (filter.all && filter.never.size === 0)) return JSON.stringify(context);
  let out = '';
  for (const key in context) {
    if (filter.all ? filter.never.has(key) : !filter.keep.has(key)) continue;
    out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(context[key])}`;
  }
  return `{${out}}`;
}

/**
 * The filters of the live revision, one per objective, made on first use and
 * dropped when the revision changes. Owned by one decision log.
 */
export class ContextFilters {
  private revision: LoggedRevision | undefined;
  private byObjective = new Map<string, ContextFilter>();

  constructor(private readonly live: () => LoggedRevision | undefined) {}

  /** The filter of an objective in the live revision; undefined (everything written) when there is none. */
  readonly of = (objective: string): ContextFilter | undefined => {
    const rev = this.live();
    if (rev === undefined) return undefined;
    if (rev !== this.revision) {
      this.revision = rev;
      this.byObjective = new Map();
    }
    let filter = this.byObjective.get(objective);
    if (filter === undefined) {
      // The config was validated before it went live: `decisionLog` has its schema's shape.
      const settings = (rev.config as { decisionLog?: DecisionLogConfig } | undefined)?.decisionLog;
      // An objective gone from the live revision (a request that outlived it) reads no keys: `never` still holds.
      const o = rev.objectives.get(objective)?.compiled.config ?? NO_ROUTING;
      this.byObjective.set(objective, (filter = contextFilter(o, settings)));
    }
    return filter;
  };
}
