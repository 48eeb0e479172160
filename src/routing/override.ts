// Step 1 of routing: an explicit override (x-model-override, an OIP /versions/{v}
// path, explain's override parameter), then pins.
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
  let outcome = o.overrides.get(ref);
  if (outcome === undefined) {
    const target = table.targets.get(ref);
    if (target === undefined) {
      throw new JunctionError('invalid_request', unknownTarget(ref, req.overrideSource ?? 'header'), {
        objective: o.name,
      });
    }
    outcome = makeOutcome(o.name, o.revision, target, 'override', 'override');
    o.overrides.set(ref, outcome);
  }
  if (req.overrideTargets !== undefined && !req.overrideTargets.has(ref)) {
    throw new JunctionError(
      'override_forbidden',
      `override "${ref}": no objective this caller may call with interface ${o.interface} serves model "${ref.slice(0, ref.lastIndexOf('@'))}"`,
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
