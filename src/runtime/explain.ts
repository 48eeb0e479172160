// A decision as the APIs show it (decide, explain, the admin API, the
// console): one JSON shape, and explain as a query. Below both the data plane
// and the control plane, which share it.
import { JunctionError } from '../errors.js';
import { isObject } from '../call/json-body.js';
import type { ReplicaView } from '../backends/types.js';
import type { Balance } from '../config/schema.js';
import { explain } from '../routing/decide.js';
import { routingRequest, type FieldNames } from '../routing/request.js';
import type { Outcome, RoutingRequest } from '../routing/types.js';
import type { Revision } from './revision.js';

/** How long a client may reuse a decision: a new revision may change it. */
export const DECISION_TTL_MS = 30_000;
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
export function routingRequestOf(item: Record<string, unknown>, at: string, override?: string): RoutingRequest {
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
