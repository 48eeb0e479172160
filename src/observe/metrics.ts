// Prometheus metrics of SPEC §8, on one Registry per Junction (createMetrics)
// so two Junctions in a process count apart, and the --workers primary can
// aggregate every worker's with AggregatorRegistry.
// Unit ids are never labels: label values come from config (objectives,
// targets, rules, cells, clients) or small fixed sets, so cardinality is bounded
// by the config, not by traffic.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { armLabel } from '../config/schema.js';
import type { CompiledObjective, Outcome } from '../routing/types.js';
import { HistogramFamily, ValueFamily, type HistogramCell, type ValueCell } from './metric-families.js';
import type { Observer, RequestRecord, StartObserver } from './record.js';
import type { FallbackReason, RejectionReason, ShadowResult, Telemetry } from './telemetry.js';

/**
 * 100 µs to 60 s: in-process models answer in well under a millisecond, LLM
 * streams take seconds. The rollout gates judge p99 ratios on these very
 * buckets (liveCounts), so between 1 ms and 1 s they are fine enough (20, 30,
 * 75, 150 ms, …) that one bucket up is not already a 2.5× ratio.
 */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
  0.5, 0.75, 1, 2, 2.5, 5, 10, 30, 60,
] as const;

/** Label for requests whose objective does not exist: the name is the caller's, so it is not a label. */
export const UNKNOWN_OBJECTIVE = '_unknown';
/** Label for requests without an API key (auth off or anonymous allowed). */
export const ANONYMOUS = 'anonymous';

/** Series of one outcome and traffic class: what the rollout gates read (liveCounts). */
interface ClassSeries {
  duration: HistogramCell;
  firstByte: HistogramCell;
  failed: ValueCell;
}

/** Series one routing outcome feeds, looked up once per outcome (outcomes are built once per revision). */
interface OutcomeSeries {
  /** traffic class → its series; undefined for requests that ended before a decision. */
  byClass: Map<string, ClassSeries> | undefined;
  upstream: HistogramCell | undefined;
  /** junction_decisions_total{via="invoke"} of this outcome. */
  decided: ValueCell | undefined;
  /** client → traffic class → status → counter. */
  counts: Map<string, Map<string, Map<number, ValueCell>>>;
  labels: readonly [objective: string, target: string, rule: string, cell: string];
}

/**
 * What /metrics holds for one objective and decided target, live traffic only
 * (SPEC §2.1: other classes never count toward gates), cumulative since this
 * Junction started. The rollout gates publish these and judge differences.
 */
export interface LiveCounts {
  /** junction_request_duration_seconds_count{traffic_class="live"} */
  requests: number;
  /** junction_failed_requests_total{traffic_class="live"} */
  failed: number;
  /** junction_request_duration_seconds, per bucket of LATENCY_BUCKETS (not cumulative), +Inf last. */
  duration: number[];
  /** junction_time_to_first_byte_seconds, the same way. */
  firstByte: number[];
}

/** Whether the decided target failed this request, as the gates count it: a 5xx, a caller who left first (499), or a fallback's answer. */
function failedRequest(record: RequestRecord): boolean {
  return record.status >= 500 || record.errorCode === 'client_closed' || record.fallback !== undefined;
}

/** One Junction's metrics: its registry, the request observers and the telemetry sink that feed it. */
export interface Metrics {
  readonly registry: Registry;
  /** Start observer: the request counts as in flight from here. */
  readonly start: StartObserver;
  /** End observer: every request on an objective route, counted once with its outcome. */
  readonly end: Observer;
  /** Observer of decisions made without serving a request here (POST /v1/decide and POST /v1/exposures items). */
  readonly decided: Observer;
  /** The Telemetry sink (observe/telemetry.ts) backed by these metrics. */
  readonly telemetry: Telemetry;
  /** Config-derived gauges, refreshed on every revision swap. */
  observeRevision(rev: ObservedRevision, t?: Telemetry): void;
  /** Node.js process metrics (CPU, memory, event-loop delay, GC) on the same registry. */
  collectProcessMetrics(): void;
  /** What the series of one objective and target hold for live traffic (zeros when it had none). */
  readonly liveCounts: (objective: string, target: string) => LiveCounts;
}

/** What the config-derived gauges read of a revision (runtime/revision.ts's Revision is one; observe/ sits below runtime/). */
export interface ObservedRevision {
  readonly number: number;
  readonly objectives: ReadonlyMap<string, { readonly compiled: CompiledObjective }>;
  /** The clients' tags (cost by tag): at most 8 per client, their values from the config, so the series stay bounded. */
  readonly config?: { readonly clients: Readonly<Record<string, { readonly tags: Readonly<Record<string, string>> }>> };
}

/** @param registry where the series register (an embedder's, or the one `--workers` aggregates); a new one by default */
export function createMetrics(registry: Registry = new Registry()): Metrics {
  const requests = new ValueFamily(registry, {
    name: 'junction_requests_total',
    type: 'counter',
    help: 'Requests by objective, decided target, rule, experiment cell, client, traffic class and HTTP status code.',
    labelNames: ['objective', 'target', 'rule', 'cell', 'client', 'traffic_class', 'code'],
  });
  const duration = new HistogramFamily(registry, {
    name: 'junction_request_duration_seconds',
    buckets: LATENCY_BUCKETS,
    help: 'Whole request as Junction saw it, arrival to last byte, by objective, decided target and traffic class (rollout gates read the live series).',
    labelNames: ['objective', 'target', 'traffic_class'],
  });
  const upstream = new HistogramFamily(registry, {
    name: 'junction_upstream_duration_seconds',
    buckets: LATENCY_BUCKETS,
    help: 'From sending to the backend until its reply started (policies included: retries, hedges, fallbacks).',
    labelNames: ['objective', 'target'],
  });
  const firstByte = new HistogramFamily(registry, {
    name: 'junction_time_to_first_byte_seconds',
    buckets: LATENCY_BUCKETS,
    help: 'Arrival to the first byte of the response; for streams (SSE) the first body chunk. By objective, decided target and traffic class.',
    labelNames: ['objective', 'target', 'traffic_class'],
  });
  const failed = new ValueFamily(registry, {
    name: 'junction_failed_requests_total',
    type: 'counter',
    help: "Requests their decided target failed: a 5xx, the caller leaving first (499), or a fallback answering instead. Over junction_request_duration_seconds_count of the same labels it is the rollout gates' error rate.",
    labelNames: ['objective', 'target', 'traffic_class'],
  });
  const tokens = new ValueFamily(registry, {
    name: 'junction_tokens_total',
    type: 'counter',
    help: "Tokens the backend reported (OpenAI-compatible usage), by objective, answering target, client and kind (prompt, completion, or cached: the part of the prompt read from the server's prompt cache).",
    labelNames: ['objective', 'target', 'client', 'kind'],
  });
  const cost = new ValueFamily(registry, {
    name: 'junction_cost_total',
    type: 'counter',
    help: "What calls cost (SPEC §16), from the answering target's price and the usage reported (or estimated), by objective, answering target, client ('' without a key) and currency.",
    labelNames: ['objective', 'target', 'client', 'currency'],
  });
  const costByTag = new ValueFamily(registry, {
    name: 'junction_cost_by_tag_total',
    type: 'counter',
    help: "junction_cost_total by the calling client's tags (each tag of the client counts the whole cost): tag name, value and currency.",
    labelNames: ['tag', 'value', 'currency'],
  });
  const decisions = new ValueFamily(registry, {
    name: 'junction_decisions_total',
    type: 'counter',
    help: 'Routing decisions by objective, target and where the decision was used: invoke (served here), decide (POST /v1/decide), sdk or edge (reported through POST /v1/exposures).',
    labelNames: ['objective', 'target', 'via'],
  });
  const inflight = new ValueFamily(registry, {
    name: 'junction_inflight_requests',
    type: 'gauge',
    help: 'Requests of an objective being served right now.',
    labelNames: ['objective'],
  });
  const fallbacks = new ValueFamily(registry, {
    name: 'junction_fallbacks_total',
    type: 'counter',
    help: 'A fallback was tried: from the failed target to the next (a target or "static"), and why.',
    labelNames: ['objective', 'from', 'to', 'reason'],
  });
  const retries = new ValueFamily(registry, {
    name: 'junction_retries_total',
    type: 'counter',
    help: 'Retries sent.',
    labelNames: ['objective', 'target'],
  });
  const hedges = new ValueFamily(registry, {
    name: 'junction_hedges_total',
    type: 'counter',
    help: 'Hedged (duplicate) requests sent.',
    labelNames: ['objective', 'target'],
  });
  const shadows = new ValueFamily(registry, {
    name: 'junction_shadow_total',
    type: 'counter',
    help: 'Shadow copies by result: sent, dropped (queue full), error, agree, disagree.',
    labelNames: ['objective', 'target', 'result'],
  });
  const shadowAgreement = new HistogramFamily(registry, {
    name: 'junction_shadow_agreement',
    buckets: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
    help: "Agreement score of a shadow answer with the live one (0..1, per the shadow's compare).",
    labelNames: ['objective', 'target'],
  });
  const rejections = new ValueFamily(registry, {
    name: 'junction_rejections_total',
    type: 'counter',
    help: 'Requests refused before reaching a backend, by client and reason.',
    labelNames: ['objective', 'client', 'reason'],
  });
  const rolloutPercent = new ValueFamily(registry, {
    name: 'junction_rollout_percent',
    type: 'gauge',
    aggregator: 'max',
    help: 'Share of units (percent) a rollout currently sends to its candidate.',
    labelNames: ['objective', 'candidate'],
  });
  const configRevision = new ValueFamily(registry, {
    name: 'junction_config_revision',
    type: 'gauge',
    aggregator: 'min',
    help: 'Number of the config revision being served (across workers: the lowest, so a lagging one shows).',
    labelNames: [],
  });
  const endpointHealthy = new ValueFamily(registry, {
    name: 'junction_endpoint_healthy',
    type: 'gauge',
    aggregator: 'min',
    help: '1 when the endpoint takes traffic, 0 when ejected or failing health checks.',
    labelNames: ['backend', 'endpoint'],
  });
  const dropped = new ValueFamily(registry, {
    name: 'junction_dropped_total',
    type: 'counter',
    help: 'Records a bounded sink dropped rather than block the request path (decision_log, shadow queue, …).',
    labelNames: ['sink'],
  });

  const picks = new ValueFamily(registry, {
    name: 'junction_picks_total',
    type: 'counter',
    help: 'Replica picks by the backend of a target, by reason (p2c, least-load, prefix-hit, prefix-spill, adapter-hit, adapter-spill, fallback-…).',
    labelNames: ['target', 'reason'],
  });
  /** target → reason → cell: a pick is two map lookups, no key string made. */
  const pickCells = new Map<string, Map<string, ValueCell>>();
  const endpointLoad = new ValueFamily(registry, {
    name: 'junction_endpoint_load',
    type: 'gauge',
    help: "A replica's last reported load: queue (waiting), running, kv_cache (0..1); a bounded number of replicas per backend.",
    labelNames: ['backend', 'endpoint', 'kind'],
  });

  /** client → its tags as label pairs, from the live revision (observeRevision). */
  let tagsOf = new Map<string, ReadonlyArray<readonly [string, string]>>();
  /** client → currency → one cell per tag: a priced call of a tagged client adds to each without a key string. */
  let tagCells = new Map<string, Map<string, ValueCell[]>>();

  const cacheResults = new ValueFamily(registry, {
    name: 'junction_cache_total',
    type: 'counter',
    help: 'Requests of objectives with a response cache, by result: hit (answered from it), miss (sent on; stored when it may be) or bypass (not cacheable: not deterministic, cache-control no-cache/no-store, …).',
    labelNames: ['objective', 'result'],
  });
  /** objective → result → cell. */
  const cacheCells = new Map<string, Map<string, ValueCell>>();
  const cacheBytes = new ValueFamily(registry, {
    name: 'junction_cache_bytes',
    type: 'gauge',
    help: 'Bytes the in-process response cache holds (answers and a fixed overhead per entry), up to its bound.',
    labelNames: [],
  });

  const byOutcome = new WeakMap<Outcome, OutcomeSeries>();
  /** Requests that ended before a decision (rejected, bad header, unknown objective), per objective label. */
  const undecided = new Map<string, OutcomeSeries>();
  const inflightCells = new Map<string, ValueCell>();

  function seriesFor(record: RequestRecord): OutcomeSeries {
    const o = record.outcome;
    if (o !== undefined) {
      let s = byOutcome.get(o);
      if (s === undefined) {
        const key = [o.objective, o.target.id] as const;
        s = {
          byClass: new Map(),
          upstream: upstream.cell(key),
          decided: decisions.cell([...key, 'invoke']),
          counts: new Map(),
          labels: [o.objective, o.target.id, o.rule, o.cell ?? ''],
        };
        byOutcome.set(o, s);
      }
      return s;
    }
    const objective = record.started ? record.objective! : UNKNOWN_OBJECTIVE;
    let s = undecided.get(objective);
    if (s === undefined) {
      s = {
        byClass: undefined,
        upstream: undefined,
        decided: undefined,
        counts: new Map(),
        labels: [objective, '', '', ''],
      };
      undecided.set(objective, s);
    }
    return s;
  }

  function countFor(s: OutcomeSeries, client: string, trafficClass: string, status: number): ValueCell {
    let byClass = s.counts.get(client);
    if (byClass === undefined) s.counts.set(client, (byClass = new Map<string, Map<number, ValueCell>>()));
    let byStatus = byClass.get(trafficClass);
    if (byStatus === undefined) byClass.set(trafficClass, (byStatus = new Map<number, ValueCell>()));
    let cell = byStatus.get(status);
    if (cell === undefined) {
      cell = requests.cell([...s.labels, client, trafficClass, String(status)]);
      byStatus.set(status, cell);
    }
    return cell;
  }

  /** Three classes at most per outcome: one Map lookup per request. */
  function classSeries(s: OutcomeSeries, byClass: Map<string, ClassSeries>, trafficClass: string): ClassSeries {
    let c = byClass.get(trafficClass);
    if (c === undefined) {
      const key = [s.labels[0], s.labels[1], trafficClass];
      c = { duration: duration.cell(key), firstByte: firstByte.cell(key), failed: failed.cell(key) };
      byClass.set(trafficClass, c);
    }
    return c;
  }

  function inflightFor(objective: string): ValueCell {
    let cell = inflightCells.get(objective);
    if (cell === undefined) inflightCells.set(objective, (cell = inflight.cell([objective])));
    return cell;
  }

  /** Start observer: the request counts as in flight from here. */
  const start: StartObserver = (record) => {
    inflightFor(record.objective!).value++;
  };

  /** End observer: every request on an objective route, counted once with its outcome. */
  const end: Observer = (record) => {
    if (record.objective === undefined) return; // /healthz, /metrics, /v1/decide: not invocations
    if (record.started) inflightFor(record.objective).value--;
    const s = seriesFor(record);
    countFor(s, record.client ?? ANONYMOUS, record.trafficClass, record.status).value++;
    if (record.cache !== undefined) cacheCell(record.objective, record.cache).value++;
    if (record.usage !== undefined) countTokens(record);
    if (record.cost !== undefined) countCost(record);
    if (s.byClass === undefined) return;
    s.decided!.value++;
    const c = classSeries(s, s.byClass, record.trafficClass);
    c.duration.observe((record.end - record.start) / 1000);
    if (record.upstreamMs !== undefined) s.upstream!.observe(record.upstreamMs / 1000);
    if (record.firstByte !== undefined) c.firstByte.observe((record.firstByte - record.start) / 1000);
    if (failedRequest(record)) c.failed.value++;
  };

  function liveCounts(objective: string, target: string): LiveCounts {
    const key = [objective, target, 'live'];
    const d = duration.peek(key);
    const f = firstByte.peek(key);
    const empty = () => new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
    return {
      requests: d?.count ?? 0,
      failed: failed.peek(key)?.value ?? 0,
      duration: d === undefined ? empty() : Array.from(d.counts),
      firstByte: f === undefined ? empty() : Array.from(f.counts),
    };
  }

  function cacheCell(objective: string, result: string): ValueCell {
    let byResult = cacheCells.get(objective);
    if (byResult === undefined) cacheCells.set(objective, (byResult = new Map<string, ValueCell>()));
    let cell = byResult.get(result);
    if (cell === undefined) byResult.set(result, (cell = cacheResults.cell([objective, result])));
    return cell;
  }

  /** Label values are checked against the config before a record gets here, so cardinality stays bounded by the config. */
  const decided: Observer = (record) => {
    const o = record.outcome;
    if (o === undefined) return;
    decisions.cell([o.objective, o.target.id, record.via]).value++;
  };

  /** Token usage is rare next to requests (openai objectives only): a cell lookup per request is fine. */
  function countTokens(record: RequestRecord): void {
    const usage = record.usage!;
    const target = record.fallback ?? record.outcome?.target.id ?? '';
    const client = record.client ?? ANONYMOUS;
    tokens.cell([record.objective!, target, client, 'prompt']).value += usage.prompt;
    tokens.cell([record.objective!, target, client, 'completion']).value += usage.completion;
    if (usage.cached !== undefined) tokens.cell([record.objective!, target, client, 'cached']).value += usage.cached;
  }

  /** Priced calls only (targets with a price): a cell lookup, then one add per tag of the client. */
  function countCost(record: RequestRecord): void {
    const { amount, currency } = record.cost!;
    const target = record.fallback ?? record.outcome?.target.id ?? '';
    const client = record.client ?? '';
    cost.cell([record.objective!, target, client, currency]).value += amount;
    if (client === '') return;
    for (const cell of costTagCells(client, currency)) cell.value += amount;
  }

  function costTagCells(client: string, currency: string): ValueCell[] {
    let byCurrency = tagCells.get(client);
    if (byCurrency === undefined) tagCells.set(client, (byCurrency = new Map<string, ValueCell[]>()));
    let cells = byCurrency.get(currency);
    if (cells === undefined) {
      cells = (tagsOf.get(client) ?? []).map(([tag, value]) => costByTag.cell([tag, value, currency]));
      byCurrency.set(currency, cells);
    }
    return cells;
  }

  /** Backends with a pool open to each (backend, endpoint): its health series lives while one does. */
  const openEndpoints = new Map<string, number>();

  /** The Telemetry sink (observe/telemetry.ts) backed by the metrics above. */
  const telemetry: Telemetry = {
    fallback(objective: string, from: string, to: string, reason: FallbackReason) {
      fallbacks.cell([objective, from, to, reason]).value++;
    },
    retry(objective, target) {
      retries.cell([objective, target]).value++;
    },
    hedge(objective, target) {
      hedges.cell([objective, target]).value++;
    },
    shadow(objective: string, target: string, result: ShadowResult, agreement?: number) {
      shadows.cell([objective, target, result]).value++;
      if (agreement !== undefined) shadowAgreement.cell([objective, target]).observe(agreement);
    },
    rejection(objective: string, client: string, reason: RejectionReason) {
      rejections.cell([objective, client, reason]).value++;
    },
    rollouts(current) {
      rolloutPercent.removeAll(); // a rollout removed (promoted, rolled back, deleted) must not keep its last percent
      for (const { objective, candidate, percent } of current)
        rolloutPercent.cell([objective, candidate]).value = percent;
    },
    configRevision(revision) {
      configRevision.cell([]).value = revision;
    },
    endpointHealthy(backend, endpoint, healthy) {
      endpointHealthy.cell([backend, endpoint]).value = healthy ? 1 : 0;
    },
    endpointOpened(backend, endpoint) {
      const key = `${backend}\u0001${endpoint}`;
      openEndpoints.set(key, (openEndpoints.get(key) ?? 0) + 1);
    },
    endpointClosed(backend, endpoint) {
      const key = `${backend}\u0001${endpoint}`;
      const open = (openEndpoints.get(key) ?? 1) - 1;
      if (open > 0) {
        openEndpoints.set(key, open);
        return;
      }
      openEndpoints.delete(key);
      endpointHealthy.remove([backend, endpoint]);
    },
    dropped(sink, count = 1) {
      dropped.cell([sink]).value += count;
    },
    picked(target, reason) {
      let byReason = pickCells.get(target);
      if (byReason === undefined) pickCells.set(target, (byReason = new Map<string, ValueCell>()));
      let cell = byReason.get(reason);
      if (cell === undefined) byReason.set(reason, (cell = picks.cell([target, reason])));
      cell.value++;
    },
    endpointLoad(backend, endpoint, kind, value) {
      if (value === undefined) endpointLoad.remove([backend, endpoint, kind]);
      else endpointLoad.cell([backend, endpoint, kind]).value = value;
    },
    cacheBytes(bytes) {
      cacheBytes.cell([]).value = bytes;
    },
  };

  /** Config-derived gauges, refreshed on every revision swap. */
  function observeRevision(rev: ObservedRevision, t: Telemetry = telemetry): void {
    t.configRevision(rev.number);
    const rollouts = [];
    for (const { compiled } of rev.objectives.values()) {
      const r = compiled.config.rollout;
      if (r !== undefined)
        rollouts.push({ objective: compiled.name, candidate: armLabel(r.candidate), percent: r.percent });
    }
    t.rollouts(rollouts);
    if (rev.config !== undefined) {
      // Tags may have changed: cells are looked up again (the series already counted stay, as counters do).
      tagsOf = new Map(Object.entries(rev.config.clients).map(([name, c]) => [name, Object.entries(c.tags)] as const));
      tagCells = new Map();
    }
  }

  let processMetrics = false;

  /** Node.js process metrics (CPU, memory, event-loop delay, GC) on the same registry; once per registry. */
  function collectProcessMetrics(): void {
    if (processMetrics) return;
    processMetrics = true;
    collectDefaultMetrics({ register: registry });
  }

  return { registry, start, end, decided, telemetry, observeRevision, collectProcessMetrics, liveCounts };
}
