// Junction's request headers (SPEC §2.1) → what routing and the deadline need.
// Bad values are the caller's error: 400 invalid_request naming the header.
import type { IncomingHttpHeaders } from 'node:http';
import { isTrafficClass, TARGET_REF, type TrafficClass } from '../config/schema.js';
import { randomUnit } from '../routing/random-unit.js';
import { JunctionError } from '../errors.js';
import type { RoutingRequest } from '../routing/types.js';

const CONTEXT_PREFIX = 'x-context-';

export function routingRequestFrom(headers: IncomingHttpHeaders, objective: string): RoutingRequest {
  const unitHeader = headers['x-unit-id'];
  const unit = typeof unitHeader === 'string' && unitHeader !== '' ? unitHeader : undefined;

  let context: Record<string, string> | undefined;
  for (const key in headers) {
    if (key.length > CONTEXT_PREFIX.length && key.startsWith(CONTEXT_PREFIX)) {
      (context ??= {})[key.slice(CONTEXT_PREFIX.length)] = headers[key] as string;
    }
  }

  let trafficClass: TrafficClass = 'live';
  const tc = headers['x-traffic-class'];
  if (tc !== undefined) {
    if (!isTrafficClass(tc)) {
      throw new JunctionError('invalid_request', `x-traffic-class must be live, test or synthetic (got "${String(tc)}")`, { objective });
    }
    trafficClass = tc;
  }

  const override = headers['x-model-override'];
  if (override !== undefined && (typeof override !== 'string' || !TARGET_REF.test(override))) {
    throw new JunctionError('invalid_request', `x-model-override must be "model@version" (got "${String(override)}")`, { objective });
  }

  return {
    unit,
    randomUnit: unit === undefined ? randomUnit() : undefined,
    context: context ?? EMPTY,
    trafficClass,
    override,
    mayOverride: false,
  };
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** The caller's remaining budget in ms, if it sent one. */
export function callerDeadlineMs(headers: IncomingHttpHeaders, objective?: string): number | undefined {
  const raw = headers['x-deadline-ms'];
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(ms) || ms <= 0) {
    throw new JunctionError('invalid_request', `x-deadline-ms must be a positive number of milliseconds (got "${String(raw)}")`, { objective });
  }
  return ms;
}
