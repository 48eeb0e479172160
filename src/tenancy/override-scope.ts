// Which targets an override may name (issue 10, finding 6): only a version of
// a model that an objective the caller may call serves, with the interface of
// the objective being called (so a key limited to some objectives cannot reach
// a backend only another objective uses; trying another version of a model it
// already reaches stays possible). Built once per config revision and client,
// so the request path only looks a name up in a set.
import type { Config, InterfaceName, ObjectiveConfig } from '../config/schema.js';

/** Per interface, the targets served by the objectives a caller may call. */
export type OverrideScope = ReadonlyMap<InterfaceName, ReadonlySet<string>>;

export function overrideScope(config: Config, mayCall: (objective: string) => boolean): OverrideScope {
  const scope = new Map<InterfaceName, Set<string>>();
  for (const [name, o] of Object.entries(config.objectives)) {
    if (!mayCall(name)) continue;
    let set = scope.get(o.interface);
    if (set === undefined) scope.set(o.interface, (set = new Set()));
    for (const t of servedTargets(o)) {
      const model = t.slice(0, t.lastIndexOf('@'));
      for (const version of Object.keys(config.models[model]?.versions ?? {})) set.add(`${model}@${version}`);
    }
  }
  return scope;
}

/** Every target an objective may answer from (not its shadows: they never answer). */
function servedTargets(o: ObjectiveConfig): string[] {
  const out = [o.default, ...Object.values(o.pins), ...o.rules.map((r) => r.use), ...o.policy.fallback];
  for (const e of o.experiments) for (const c of Object.values(e.cells)) out.push(c.use);
  if (o.rollout !== undefined) out.push(o.rollout.candidate);
  return out;
}

const NONE: ReadonlySet<string> = new Set();

export function scopeFor(scope: OverrideScope, iface: InterfaceName): ReadonlySet<string> {
  return scope.get(iface) ?? NONE;
}
