// Routing without the data path (SPEC §2.3): decide (one or a batch), explain,
// (the snapshot SDKs decide from is faces/snapshot.ts).
import { performance } from 'node:perf_hooks';
import { routingRequest, type FieldNames } from '../routing/request.js';
import { JunctionError, toJunctionError } from '../errors.js';
import { newRecord, notifyObservers, type RequestRecord } from '../observe/record.js';
import { decide, explain } from '../routing/decide.js';
import type { BucketMemo } from '../routing/bucket-memo.js';
import type { ReplicaView } from '../backends/types.js';
import type { Balance } from '../config/schema.js';
import type { Outcome, RoutingRequest } from '../routing/types.js';
import type { Revision } from '../runtime/revision.js';
import type { IncomingMessage } from 'node:http';
import { OPEN_CALLER } from '../call/hooks.js';
import type { Caller, DataPlane } from './data-plane.js';
import { isObject, parseJson } from '../call/json-body.js';
import { readBody } from './read-body.js';
import { writeJson } from './reply.js';
import type { Route } from './route.js';

/** How long a client may reuse a decision: a new revision may change it. */
export const DECISION_TTL_MS = 30_000;
const MAX_DECIDE_BODY = 4 * 1024 * 1024;
const MAX_BATCH = 10_000;

export function decisionJson(rev: Revision, outcome: Outcome, unit: string | undefined) {
  const backend = rev.backends.get(outcome.target.id);
  return {
    objective: outcome.objective,
    target: outcome.target.id,
    model: outcome.target.model,
    version: outcome.target.version,
    routingKey: outcome.target.id,
    endpoint: backend?.endpoint() ?? null,
    rule: outcome.rule,
    cell: outcome.cell ?? null,
    experiment: outcome.experiment ?? null,
    /** The balancer the cell or rollout candidate names (`use: { target, balance }`), else null: Junction picks the replica with it. */
    balance: outcome.balance ?? null,
    revision: outcome.revision,
    unit: unit ?? 'none',
    ttlMs: DECISION_TTL_MS,
  };
}

/** A decide item's fields (or explain's query, gathered into one) → the routing request, with routing/request.ts's checks. */
function routingRequestOf(item: Record<string, unknown>, at: string, override?: string): RoutingRequest {
  const { unit, context } = item;
  if (unit !== undefined && typeof unit !== 'string')
    throw new JunctionError('invalid_request', `${at}unit must be a string`);
  if (context !== undefined && (!isObject(context) || Object.values(context).some((v) => typeof v !== 'string'))) {
    throw new JunctionError('invalid_request', `${at}context must be an object of string values`);
  }
  const ctx: Record<string, string> = {};
  for (const [k, v] of Object.entries(context ?? {})) ctx[k.toLowerCase()] = v as string;
  return routingRequest(
    unit,
    ctx,
    item.trafficClass,
    override,
    at === '' ? FIELDS : { ...FIELDS, trafficClass: `${at}trafficClass` },
  );
}

/** How a decide item names its fields in errors (a batch item's prefixed with its place). */
const FIELDS: FieldNames = { trafficClass: 'trafficClass', override: 'override', overrideSource: 'query' };

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
    face: 'junction',
    // The data plane admitted the caller (key, one unit of rate, a slot) before this runs: nothing is read before.
    async handle({ dp, req, res, record, caller }) {
      const value = parseJson(await readBody(req, res, MAX_DECIDE_BODY, dp));
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
    face: 'junction',
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

/**
 * Explain as a query: `unit`, `trafficClass`, `override`, and every other
 * parameter a context key. Shared by the data plane and the admin API.
 */
export function explainQuery(rev: Revision, name: string, q: URLSearchParams) {
  const o = rev.routing.objectives.get(name);
  if (!o) throw new JunctionError('objective_not_found', `no objective "${name}"`, { objective: name });
  const item: Record<string, unknown> = { context: {} };
  let override: string | undefined;
  for (const [k, v] of q) {
    if (k === 'unit' || k === 'trafficClass') item[k] = v;
    else if (k === 'override') override = v;
    else (item.context as Record<string, string>)[k] = v;
  }
  const rr = routingRequestOf(item, '', override);
  rr.mayOverride = override !== undefined; // explaining an override shows what it would do; it routes nothing
  const { outcome, trail } = explain(rev.routing, o, rr);
  return {
    decision: decisionJson(rev, outcome, rr.unit),
    trail,
    ...targetReplicas(rev, outcome.target.id, outcome.balance),
  };
}

/**
 * A target's replicas as explain, the admin API and the console show them
 * (SPEC §14): the balancer that picks for this arm (`balance`: the arm's, else
 * the backend's own; null for in-process targets) and each replica now
 * (address, outstanding, ready, ejected until and why, last load report and
 * its age, adapters, discovery). `replicas` is null for a target without
 * replicas (in process) or not built in this revision.
 */
export function targetReplicas(rev: Revision, target: string, armBalance?: Balance) {
  const views = rev.backends.get(target)?.replicas?.();
  const cfg = rev.routing.targets.get(target)?.backend;
  const own = cfg?.type === 'http' ? (cfg.balance ?? 'p2c') : null;
  return { balance: armBalance ?? own, replicas: views?.map(replicaJson) ?? null };
}

/** One replica with every field present (null when unknown), and how long it stays ejected from now. */
function replicaJson(v: ReplicaView) {
  const now = Date.now();
  return {
    address: v.address,
    outstanding: v.outstanding,
    ready: v.ready,
    ejectedUntil: v.ejectedUntil === undefined || v.ejectedUntil <= now ? null : v.ejectedUntil,
    ejectedForMs: v.ejectedUntil === undefined || v.ejectedUntil <= now ? null : v.ejectedUntil - now,
    ejectedWhy: v.ejectedWhy ?? null,
    load:
      v.load === undefined
        ? null
        : {
            queue: v.load.queue,
            running: v.load.running,
            kvCache: v.load.kvCache ?? null,
            ageMs: v.load.ageMs,
            source: v.load.source,
          },
    adapters: v.adapters ?? null,
    discovery:
      v.discovery === undefined
        ? null
        : { name: v.discovery.name, resolvedAt: v.discovery.resolvedAt ?? null, error: v.discovery.error ?? null },
  };
}
