// The one builder of a RoutingRequest, whatever the request came as: headers
// on invoke (HTTP and gRPC), a JSON item on POST /v1/decide, query parameters
// on explain, flags of `junction explain`. Each of those reads its raw fields
// its own way; the checks, the defaults and the random unit are here once, so
// the four cannot drift apart. It lives in routing/ (pure but for the random
// unit it draws for the caller) so the faces and the CLI share it.
import { isTrafficClass, TARGET_REF } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { randomUnit } from './random-unit.js';
import type { OverrideSource, RoutingRequest } from './types.js';

/** How a source spells its fields, so an error names what the caller wrote. */
export interface FieldNames {
  readonly trafficClass: string;
  readonly override: string;
  /** Where an override spelled this way comes from (errors and the explain trail say so). */
  readonly overrideSource: OverrideSource;
}

/** The context of a request that sent none: shared, never written. */
export const NO_CONTEXT: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Positional rather than one object, so the invoke path allocates nothing but
 * the request itself. Bad values are the caller's: 400 invalid_request naming
 * the field as `names` spells it.
 *
 * @param unit the allocation unit; '' or undefined: none, so a random unit is drawn (SPEC §2.1 `unit: none`)
 * @param context routing attributes, keys already lowercase
 * @param trafficClass as sent; undefined means live
 * @param override `model@version` as sent, or undefined
 */
export function routingRequest(
  unit: string | undefined,
  context: Readonly<Record<string, string>>,
  trafficClass: unknown,
  override: unknown,
  names: FieldNames,
  objective?: string,
): RoutingRequest {
  if (trafficClass !== undefined && !isTrafficClass(trafficClass)) {
    throw new JunctionError(
      'invalid_request',
      `${names.trafficClass} must be live, test or synthetic (got ${shown(trafficClass)})`,
      { objective },
    );
  }
  if (override !== undefined && (typeof override !== 'string' || !TARGET_REF.test(override))) {
    throw new JunctionError('invalid_request', `${names.override} must be "model@version" (got ${shown(override)})`, {
      objective,
    });
  }
  const none = unit === undefined || unit === '';
  // Every field present, in one order: one object shape for decide() whatever the source.
  return {
    unit: none ? undefined : unit,
    randomUnit: none ? randomUnit() : undefined,
    context,
    trafficClass: trafficClass ?? 'live',
    override,
    overrideSource: override === undefined ? undefined : names.overrideSource,
    mayOverride: false,
    overrideTargets: undefined,
  };
}

/** A value as the caller sent it, quoted, for an error message. */
function shown(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}
