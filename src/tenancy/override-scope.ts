// Which targets a client's overrides may name, per interface: the union, over
// the objectives the client may call, of what each objective lets an override
// name (routing/override.ts, `overridableTargets`: the targets it uses and its
// `overrideTargets`). Routing checks the precise rule, against the objective
// being called; this set is the same rule seen from the key, handed to routing
// with the admission (Admission.overrideTargets), so a key's overrides can
// never name a target outside its own objectives even if a face skipped the
// objective's check. Built once per config revision and client, so the
// request path only looks a name up in a set.
import type { Config, InterfaceName } from '../config/schema.js';
import { overridableTargets } from '../routing/override.js';

/** Per interface, the targets the objectives a caller may call let an override name. */
export type OverrideScope = ReadonlyMap<InterfaceName, ReadonlySet<string>>;

export function overrideScope(config: Config, mayCall: (objective: string) => boolean): OverrideScope {
  const scope = new Map<InterfaceName, Set<string>>();
  for (const [name, o] of Object.entries(config.objectives)) {
    if (!mayCall(name)) continue;
    let set = scope.get(o.interface);
    if (set === undefined) scope.set(o.interface, (set = new Set()));
    for (const t of overridableTargets(o)) set.add(t);
  }
  return scope;
}

const NONE: ReadonlySet<string> = new Set();

export function scopeFor(scope: OverrideScope, iface: InterfaceName): ReadonlySet<string> {
  return scope.get(iface) ?? NONE;
}
