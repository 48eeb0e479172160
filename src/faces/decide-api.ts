// Routing without the data path (SPEC §2.3): decide (one or a batch), explain,
// (the snapshot SDKs decide from is faces/snapshot.ts).
import { junctionFace } from './objectives.js';
import { performance } from 'node:perf_hooks';
import { JunctionError, toJunctionError } from '../errors.js';
import { newRecord, notifyObservers, type RequestRecord } from '../observe/record.js';
import { decide } from '../routing/decide.js';
import { decisionJson, explainQuery, routingRequestOf } from '../runtime/explain.js';
import type { BucketMemo } from '../routing/bucket-memo.js';
import type { Revision } from '../runtime/revision.js';
import type { IncomingMessage } from 'node:http';
import { OPEN_CALLER } from '../call/hooks.js';
import type { Caller, DataPlane } from './types.js';
import { isObject, parseJson } from '../call/json-body.js';
import { readBody } from '../http/read-body.js';
import { writeJson } from '../http/reply.js';
import type { Route } from './types.js';

const MAX_DECIDE_BODY = 4 * 1024 * 1024;
const MAX_BATCH = 10_000;

/** Decides one item, filling `note` (when someone listens) as the invoke path fills a request's record. */
function decideOne(
  rev: Revision,
  item: unknown,
  at: string,
  note: RequestRecord | undefined,
  caller: Caller,
  buckets: BucketMemo | undefined,
) {
  if (!isObject(item)) throw new JunctionError('invalid_request', `${at}expected an object`);
  const name = item.objective;
  if (typeof name !== 'string') throw new JunctionError('invalid_request', `${at}objective is required`);
  const o = rev.routing.objectives.get(name);
  if (!o) throw new JunctionError('objective_not_found', `no objective "${name}"`, { objective: name });
  mayCall(caller, name);
  if (note !== undefined) {
    note.objective = name;
    note.started = true;
  }
  const rr = routingRequestOf(item, at);
  const outcome = decide(rev.routing, o, rr, undefined, buckets);
  if (note !== undefined) {
    note.unit = rr.unit;
    note.context = rr.context;
    note.trafficClass = rr.trafficClass;
    note.outcome = outcome;
  }
  return decisionJson(rev, outcome, rr.unit);
}

/**
 * Decides one item and tells DataPlane.decided (the decision log) about it: a
 * client that calls the backend itself is exposed all the same. One record per
 * item, `via: "decide"`, status 200 or the item's error; items naming no
 * objective are not exposures (as on the invoke path). Free when nobody listens.
 */
function decideObserved(
  dp: DataPlane,
  rev: Revision,
  item: unknown,
  at: string,
  request: RequestRecord,
  caller: Caller,
) {
  const observers = dp.decided;
  if (observers === undefined || observers.length === 0) return decideOne(rev, item, at, undefined, caller, dp.buckets);
  const note = newRecord(request.requestId, request.method, request.path, performance.now());
  note.via = 'decide';
  note.client = caller.client; // exposures are attributed to the client that asked
  try {
    const decision = decideOne(rev, item, at, note, caller, dp.buckets);
    note.status = 200;
    return decision;
  } catch (err) {
    const e = toJunctionError(err);
    note.status = e.status;
    note.errorCode = e.code;
    throw e;
  } finally {
    note.end = note.start; // no request was served: nothing to time
    notifyObservers(observers, note, dp.log); // an observer that throws is logged, never the answer
  }
}

/**
 * The key check alone (401 when clients are configured and it is missing or
 * unknown), before anything is read or shown: for routes admitted by invoke
 * (the OpenAI face reads its body to learn the objective). Other routes get
 * their caller admitted by the data plane (RouteContext.caller).
 */
export function callerOf(dp: DataPlane, req: IncomingMessage, record: RequestRecord): Caller {
  const caller = dp.authenticate?.(req) ?? OPEN_CALLER;
  record.client = caller.client;
  return caller;
}

function mayCall(caller: Caller, objective: string): void {
  if (!caller.mayCall(objective)) {
    throw new JunctionError('forbidden', `client "${caller.client}" may not call objective "${objective}"`, {
      objective,
    });
  }
}

function liveRevision(rev: Revision | undefined): Revision {
  if (!rev) throw new JunctionError('not_ready', 'no config loaded yet');
  return rev;
}

export const decideRoutes: Route[] = [
  {
    methods: ['POST'],
    pattern: '/v1/decide',
    face: junctionFace,
    // The data plane admitted the caller (key, one unit of rate, a slot) before this runs: nothing is read before.
    async handle({ dp, req, res, record, caller }) {
      const value = parseJson(await readBody(req, res, MAX_DECIDE_BODY, dp.bodies));
      const rev = liveRevision(dp.runtime.current);
      if (isObject(value) && Array.isArray(value.requests)) {
        if (value.requests.length > MAX_BATCH)
          throw new JunctionError('invalid_request', `at most ${MAX_BATCH} requests per batch`);
        // Each item is a unit of the client's rate; the call took one already.
        await caller.take(value.requests.length - 1);
        const decisions = value.requests.map((item, i) => {
          try {
            return decideObserved(dp, rev, item, `requests[${i}].`, record, caller);
          } catch (err) {
            const e = toJunctionError(err);
            return {
              objective: isObject(item) ? item.objective : undefined,
              error: { code: e.code, message: e.message },
            };
          }
        });
        writeJson(res, 200, { revision: rev.number, decisions });
        return;
      }
      writeJson(res, 200, decideObserved(dp, rev, value, '', record, caller));
    },
  },
  {
    methods: ['GET'],
    pattern: '/v1/objectives/:objective/explain',
    face: junctionFace,
    handle({ dp, res, params, query, caller }) {
      mayCall(caller, params.objective!);
      writeJson(
        res,
        200,
        explainQuery(liveRevision(dp.runtime.current), params.objective!, new URLSearchParams(query)),
      );
    },
  },
];
