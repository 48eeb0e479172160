// Step 1 of routing: an explicit override (x-model-override, an OIP /versions/{v}
// path, explain's override parameter), then pins.
//
// Who may override is the caller's key (allowOverride) or the objective's
// allowOverride; what an override may name is the objective's own business
// (docs/security.md, "Overrides stay inside the objective"): only a target the
// objective being called routes to, shadows or falls back to, or one its
// `overrideTargets` opens. A caller reaches an objective only through its key's
// globs, so a key never reaches a backend that only another objective uses,
// and a version nobody routes to yet is reachable only once an operator opens it.
import { armTarget, type ObjectiveConfig } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { makeOutcome } from './outcome.js';
import type { CompiledObjective, OverrideSource, Outcome, RoutingRequest, RoutingTable, TrailEntry } from './types.js';

export function resolveOverride(
  table: RoutingTable,
  o: CompiledObjective,
  req: RoutingRequest,
  ref: string,
  trail: TrailEntry[] | undefined,
): Outcome {
  if (!o.allowOverride && req.mayOverride !== true) {
    throw new JunctionError(
      'override_forbidden',
      `overrides are not allowed on objective "${o.name}" for this caller`,
      { objective: o.name },
    );
  }
  // Only allowed targets are cached, so a cached outcome is a permitted one.
  let outcome = o.overrides.get(ref);
  if (outcome === undefined) {
    const target = table.targets.get(ref);
    if (target === undefined) {
      throw new JunctionError('invalid_request', unknownTarget(ref, req.overrideSource ?? 'header'), {
        objective: o.name,
      });
    }
    if (!overridableTargets(o.config).has(ref)) {
      throw new JunctionError(
        'override_forbidden',
        `override "${ref}": objective "${o.name}" does not use ${ref}; an override may name a target the objective routes, shadows or falls back to, or one listed in its overrideTargets`,
        { objective: o.name },
      );
    }
    outcome = makeOutcome(o.name, o.revision, target, 'override', 'override');
    o.overrides.set(ref, outcome);
  }
  if (req.overrideTargets !== undefined && !req.overrideTargets.has(ref)) {
    throw new JunctionError(
      'override_forbidden',
      `override "${ref}": no objective this caller may call with interface ${o.interface} lets an override name ${ref}`,
      { objective: o.name },
    );
  }
  trail?.push({
    step: 'override',
    id: 'override',
    matched: true,
    target: ref,
    reason: SOURCE_NAME[req.overrideSource ?? 'header'],
  });
  return outcome;
}

/**
 * The targets an override on this objective may name: every target it uses
 * (default, pins, rules, experiment cells, rollout candidate, fallbacks,
 * shadows) and the ones its `overrideTargets` opens for testing.
 */
export function overridableTargets(o: ObjectiveConfig): Set<string> {
  const out = new Set<string>([o.default, ...Object.values(o.pins), ...o.policy.fallback, ...o.overrideTargets]);
  for (const r of o.rules) out.add(r.use);
  for (const e of o.experiments) for (const c of Object.values(e.cells)) out.add(armTarget(c.use));
  if (o.rollout !== undefined) out.add(armTarget(o.rollout.candidate));
  for (const s of o.shadow) out.add(s.use);
  return out;
}

const SOURCE_NAME: Readonly<Record<OverrideSource, string>> = {
  header: 'x-model-override',
  path: 'path /versions/{v}',
  query: 'override parameter',
};

/** The message names the override the way the caller wrote it. */
function unknownTarget(ref: string, source: OverrideSource): string {
  if (source === 'path') {
    const at = ref.lastIndexOf('@');
    const model = ref.slice(0, at);
    const version = ref.slice(at + 1);
    return `/versions/${version}: model "${model}" (the objective's default model) has no version "${version}" in the config`;
  }
  return `${SOURCE_NAME[source]}: unknown target "${ref}"; expected model@version from the config`;
}

export function resolvePin(
  o: CompiledObjective,
  unit: string | undefined,
  trail: TrailEntry[] | undefined,
): Outcome | undefined {
  if (unit === undefined || o.pins.size === 0) return undefined;
  const outcome = o.pins.get(unit);
  if (trail) {
    trail.push(
      outcome
        ? { step: 'pin', id: 'pin', matched: true, target: outcome.target.id, reason: `unit ${unit} is pinned` }
        : { step: 'pin', id: 'pin', matched: false, reason: 'unit not pinned' },
    );
  }
  return outcome;
}
