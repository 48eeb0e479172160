// POST /v1/exposures (SPEC §10): decisions made elsewhere (the client SDK, a
// header-routed proxy) join the decision log and junction_decisions_total, so
// experiment readouts count them like decisions made here. The whole batch is
// checked before anything is written: one bad item refuses the call (400
// naming it) and nothing is half-recorded.
import { performance } from 'node:perf_hooks';
import { isTrafficClass, type TrafficClass } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import { newRecord, notifyObservers, type DecisionVia, type RequestRecord } from '../observe/record.js';
import { makeOutcome } from '../routing/outcome.js';
import type { Outcome, RoutingTable, Step, Target } from '../routing/types.js';
import type { Runtime } from '../runtime/runtime.js';
import { isObject, parseJson } from '../call/json-body.js';
import { callerOf } from './decide-api.js';
import { readBody } from './read-body.js';
import { writeJson } from './reply.js';
import type { Route } from './route.js';

export const MAX_EXPOSURES = 10_000;
/** 10,000 items of about 400 bytes, with room: refused from content-length before reading. */
const MAX_EXPOSURES_BODY = 8 * 1024 * 1024;
const VIAS: readonly DecisionVia[] = ['sdk', 'edge'];
const STEPS: Readonly<Record<string, Step>> = {
  override: 'override',
  pin: 'pin',
  rule: 'rule',
  experiment: 'experiment',
  rollout: 'rollout',
  default: 'default',
};
const MAX_FIELD = 512;
/** How old a reported decision may be (an SDK that was cut off flushes late), and how far a caller's clock may run ahead. */
const MAX_EXPOSURE_AGE_MS = 24 * 3600_000;
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

interface Exposure {
  start: number;
  via: DecisionVia;
  unit: string | undefined;
  context: Record<string, string>;
  trafficClass: TrafficClass;
  outcome: Outcome;
}

function str(item: Record<string, unknown>, key: string, at: string, required: boolean): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) {
    if (required) throw new JunctionError('invalid_request', `${at}.${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > MAX_FIELD)
    throw new JunctionError('invalid_request', `${at}.${key} must be a string of at most ${MAX_FIELD} characters`);
  return v;
}

/** The target as the current or the previous revision knows it: an SDK may report a decision made just before an apply. */
function knownTarget(tables: readonly RoutingTable[], objective: string, target: string): Target | undefined {
  for (const t of tables) {
    if (t.objectives.has(objective)) {
      const found = t.targets.get(target);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function parseExposure(
  item: unknown,
  at: string,
  batchVia: DecisionVia,
  tables: readonly RoutingTable[],
  live: number,
): Exposure {
  if (!isObject(item)) throw new JunctionError('invalid_request', `${at}: expected an object`);
  const objective = str(item, 'objective', at, true)!;
  const targetId = str(item, 'target', at, true)!;
  const target = knownTarget(tables, objective, targetId);
  if (target === undefined) {
    throw new JunctionError(
      'invalid_request',
      `${at}: objective "${objective}" with target "${targetId}" is not in revision ${live} or the one before`,
      { objective },
    );
  }
  const revision = item.revision;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1 || revision > live) {
    throw new JunctionError(
      'invalid_request',
      `${at}.revision must be an integer from 1 to ${live} (the live revision)`,
    );
  }
  const rule = str(item, 'rule', at, false) ?? 'default';
  const kind = rule.split(':', 1)[0]!;
  const step = Object.hasOwn(STEPS, kind) ? STEPS[kind] : undefined;
  if (step === undefined)
    throw new JunctionError(
      'invalid_request',
      `${at}.rule must be override, pin, rule:<id>, experiment:<id>, rollout or default`,
    );
  const time = str(item, 'time', at, false);
  const epochMs = time === undefined ? Date.now() : Date.parse(time);
  if (Number.isNaN(epochMs)) throw new JunctionError('invalid_request', `${at}.time must be an ISO 8601 timestamp`);
  // A decision reported long after (or before) it was made would land in the wrong window of every reader.
  const now = Date.now();
  if (epochMs < now - MAX_EXPOSURE_AGE_MS || epochMs > now + MAX_CLOCK_SKEW_MS) {
    throw new JunctionError(
      'invalid_request',
      `${at}.time must be within the last 24 hours (and at most 5 minutes ahead of this server's clock)`,
    );
  }
  const trafficClass = item.trafficClass ?? 'live';
  if (!isTrafficClass(trafficClass))
    throw new JunctionError('invalid_request', `${at}.trafficClass must be live, test or synthetic`);
  const via = item.via ?? batchVia;
  if (!VIAS.includes(via as DecisionVia)) throw new JunctionError('invalid_request', `${at}.via must be sdk or edge`);
  const context = item.context ?? {};
  if (!isObject(context) || Object.values(context).some((v) => typeof v !== 'string')) {
    throw new JunctionError('invalid_request', `${at}.context must be an object of string values`);
  }
  const outcome = makeOutcome(
    objective,
    revision,
    target,
    step,
    rule,
    str(item, 'experiment', at, false),
    str(item, 'cell', at, false),
  );
  return {
    start: epochMs - performance.timeOrigin,
    via: via as DecisionVia,
    unit: str(item, 'unit', at, false),
    context: context as Record<string, string>,
    trafficClass,
    outcome,
  };
}

export function parseExposures(value: unknown, runtime: Runtime): Exposure[] {
  const live = runtime.current;
  if (live === undefined) throw new JunctionError('not_ready', 'no config loaded yet');
  if (!isObject(value) || !Array.isArray(value.exposures))
    throw new JunctionError('invalid_request', 'expected {"exposures": [...]}');
  const list = value.exposures as unknown[];
  if (list.length > MAX_EXPOSURES)
    throw new JunctionError('invalid_request', `at most ${MAX_EXPOSURES} exposures per call`);
  const batchVia = value.via ?? 'sdk';
  if (!VIAS.includes(batchVia as DecisionVia)) throw new JunctionError('invalid_request', 'via must be sdk or edge');
  const prior = runtime.previousRouting;
  const tables = prior === undefined ? [live.routing] : [live.routing, prior];
  return list.map((item, i) => parseExposure(item, `exposures[${i}]`, batchVia as DecisionVia, tables, live.number));
}

function recordOf(e: Exposure, requestId: string, index: number, client: string | undefined): RequestRecord {
  const r = newRecord(`${requestId}:${index}`, 'POST', '/v1/exposures', e.start);
  r.end = e.start;
  r.via = e.via;
  r.objective = e.outcome.objective;
  r.started = true;
  r.outcome = e.outcome;
  r.unit = e.unit;
  r.context = e.context;
  r.trafficClass = e.trafficClass;
  r.status = 200;
  r.client = client;
  return r;
}

export const exposureRoutes: Route[] = [
  {
    methods: ['POST'],
    pattern: '/v1/exposures',
    face: 'junction',
    async handle({ dp, req, res, record }) {
      // Who reports is checked before the body is read; each exposure must then name an objective the client may call.
      const caller = callerOf(dp, req, record);
      const exposures = parseExposures(parseJson(await readBody(req, res, MAX_EXPOSURES_BODY, dp)), dp.runtime);
      const refused = exposures.findIndex((e) => !caller.mayCall(e.outcome.objective));
      if (refused !== -1) {
        const objective = exposures[refused]!.outcome.objective;
        throw new JunctionError(
          'forbidden',
          `exposures[${refused}]: client "${caller.client}" may not call objective "${objective}"`,
          { objective },
        );
      }
      const observers = dp.decided ?? [];
      if (observers.length > 0) {
        exposures.forEach((e, i) => {
          // An observer that throws is logged and skipped: the batch is recorded whole.
          notifyObservers(observers, recordOf(e, record.requestId, i, caller.client), dp.log);
        });
      }
      writeJson(res, 202, { accepted: exposures.length });
    },
  },
];
