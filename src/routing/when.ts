// `when` matchers: context values and traffic class. Used by rules and experiments.
import type { TrafficClass, WhenConfig } from '../config/schema.js';
import type { CompiledWhen, RoutingRequest } from './types.js';

export function compileWhen(when: WhenConfig): CompiledWhen {
  const context = Object.entries(when.context ?? {}).map(
    ([key, v]) => [key, new Set(Array.isArray(v) ? v : [v])] as const,
  );
  const tc = when.trafficClass;
  const trafficClasses = tc === undefined ? undefined : new Set<TrafficClass>(Array.isArray(tc) ? tc : [tc]);
  return { context, trafficClasses };
}

export function matches(when: CompiledWhen, req: RoutingRequest): boolean {
  if (when.trafficClasses !== undefined && !when.trafficClasses.has(req.trafficClass)) return false;
  for (let i = 0; i < when.context.length; i++) {
    const [key, values] = when.context[i]!;
    const value = req.context[key];
    if (value === undefined || !values.has(value)) return false;
  }
  return true;
}

/** Why a matcher failed, in words; only computed for explain. */
export function mismatch(when: CompiledWhen, req: RoutingRequest): string {
  if (when.trafficClasses !== undefined && !when.trafficClasses.has(req.trafficClass)) {
    return `trafficClass=${req.trafficClass} not in [${[...when.trafficClasses].join(', ')}]`;
  }
  for (const [key, values] of when.context) {
    const value = req.context[key];
    if (value === undefined) return `context.${key} absent`;
    if (!values.has(value)) return `context.${key}=${value} not in [${[...values].join(', ')}]`;
  }
  return 'matched';
}

export function describeWhen(when: CompiledWhen): string {
  const parts = when.context.map(([k, v]) => `context.${k} in [${[...v].join(', ')}]`);
  if (when.trafficClasses) parts.push(`trafficClass in [${[...when.trafficClasses].join(', ')}]`);
  return parts.length === 0 ? 'always' : parts.join(' and ');
}
