// POST /v1/exposures (SPEC §10): decisions made elsewhere (the client SDK, a
// header-routed proxy) join the decision log and junction_decisions_total, so
// experiment readouts count them like decisions made here. The whole batch is
// checked before anything is written: one bad item refuses the call (400
// naming it) and nothing is half-recorded. The caller is admitted by its
// client's limits like any data-plane route (key, one unit of rate, a slot);
// each item beyond the first takes one more unit once the items are counted.
// The decision log takes the batch's lines all or none, so the answer says
// exactly how many were written, or the call is refused and none were.
import { junctionFace } from './objectives.js';
import { performance } from 'node:perf_hooks';
import { isTrafficClass, type TrafficClass } from '../config/schema.js';
import { JunctionError } from '../errors.js';
import type { AppendVerdict } from '../observe/decision-log.js';
import { newRecord, notifyObservers, type DecisionVia, type RequestRecord } from '../observe/record.js';
import { makeOutcome } from '../routing/outcome.js';
import type { Outcome, RoutingTable, Step, Target } from '../routing/types.js';
import type { Runtime } from '../runtime/runtime.js';
import { isObject, parseJson } from '../call/json-body.js';
import { readBody } from '../http/read-body.js';
import { writeJson } from '../http/reply.js';
import type { Route } from './types.js';

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

/** The batch's items, unchecked: how many there are is what the rate limit needs first. */
export function exposureItems(value: unknown): unknown[] {
  if (!isObject(value) || !Array.isArray(value.exposures))
    throw new JunctionError('invalid_request', 'expected {"exposures": [...]}');
  const list = value.exposures as unknown[];
  if (list.length > MAX_EXPOSURES)
    throw new JunctionError('invalid_request', `at most ${MAX_EXPOSURES} exposures per call`);
  return list;
}

export function parseExposures(value: unknown, runtime: Runtime): Exposure[] {
  const live = runtime.current;
  if (live === undefined) throw new JunctionError('not_ready', 'no config loaded yet');
  const list = exposureItems(value);
  if (!isObject(value)) throw new JunctionError('invalid_request', 'expected {"exposures": [...]}');
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
    face: junctionFace,
    // The data plane admitted the caller (key, one unit of rate, a slot) before this runs: nothing is read before.
    async handle({ dp, req, res, record, caller }) {
      const value = parseJson(await readBody(req, res, MAX_EXPOSURES_BODY, dp.bodies));
      // Each item is a unit of the client's rate (the call took one already), taken before the items are checked.
      await caller.take(exposureItems(value).length - 1);
      const exposures = parseExposures(value, dp.runtime);
      // Each exposure must name an objective the client may call.
      const refused = exposures.findIndex((e) => !caller.mayCall(e.outcome.objective));
      if (refused !== -1) {
        const objective = exposures[refused]!.outcome.objective;
        throw new JunctionError(
          'forbidden',
          `exposures[${refused}]: client "${caller.client}" may not call objective "${objective}"`,
          { objective },
        );
      }
      const records = exposures.map((e, i) => recordOf(e, record.requestId, i, caller.client));
      // The decision log first, all lines or none: nothing else counts a batch it refused.
      const log = dp.decisionLog;
      let written = 0;
      if (log !== undefined) {
        const lines: string[] = [];
        for (const r of records) {
          const line = log.lineFor(r); // undefined: the objective's decisionLogSample leaves it out
          if (line !== undefined) lines.push(line);
        }
        const verdict = lines.length === 0 ? 'written' : log.appendAll(lines);
        if (verdict !== 'written') throw logRefusal('decision log', verdict, lines.length);
        written = lines.length;
      }
      const observers = (dp.decided ?? []).filter((o) => o !== log?.observer);
      if (observers.length > 0) {
        // An observer that throws is logged and skipped: the batch is recorded whole.
        for (const r of records) notifyObservers(observers, r, dp.log);
      }
      // accepted: counted (junction_decisions_total); written: lines the decision log took (the rest its sample left out).
      writeJson(res, 202, { accepted: exposures.length, written });
    },
  },
];

/** Why a log took none of a call's lines, as the caller's error: 503, nothing recorded. */
export function logRefusal(what: string, verdict: Exclude<AppendVerdict, 'written'>, lines: number): JunctionError {
  switch (verdict) {
    case 'full':
      return new JunctionError(
        'overloaded',
        `the ${what} is full (--log-max-bytes): none of ${lines} lines were written; an operator must make room`,
      );
    case 'busy':
      return new JunctionError(
        'overloaded',
        `the ${what} is behind its disk: none of ${lines} lines were written; retry shortly`,
        { retryAfterSeconds: 1 },
      );
    case 'broken':
      return new JunctionError(
        'overloaded',
        `the ${what} cannot write (its file failed): none of ${lines} lines were written`,
      );
  }
}
