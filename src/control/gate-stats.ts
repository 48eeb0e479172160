// What the rollout gates are judged on: per objective and target, live
// requests, errors (5xx, callers who left, or rescued by a fallback), latency and time-to-first-
// byte histograms, shadow comparisons (counted on the shadow's target) and a
// histogram of sampled output scores, as cumulative counters. Requests, errors
// and both histograms are the Junction's own /metrics series, read as they
// are (observe/metrics.ts, liveCounts): a gate's p99 and error rate are what
// /metrics shows, on the same buckets. Shadow outcomes and scores are counted
// here, after the response, never on its path. Every replica (and every
// --workers process) publishes its own to the store; the controller sums them,
// snapshots the sum when a step begins and judges the difference, so nothing
// is ever reset on the hot path.
//
// An arm is a target, or a target with the balancer that picks its replicas
// (`candidate: { target, balance }`, SPEC §14). /metrics' series are keyed by
// target, so they cannot tell apart two arms on the same target (a balancer
// rollout: `chat@1 balance=prefix` against the default `chat@1`); such arms,
// and every arm that names a balance, are counted here from the ended request
// records instead, with /metrics' own definitions (failedRequest) and buckets.
// Arms are published and keyed by their label (armLabel).
import { armBalance, armLabel, armName, armTarget, type Balance, type TargetUse } from '../config/schema.js';
import { LATENCY_BUCKETS, type LiveCounts } from '../observe/metrics.js';
import type { Observer, RequestRecord } from '../observe/record.js';
import { numbersIn } from '../policy/shadow-compare.js';
import { SCORE_BUCKETS, scoreBucket } from '../stats/psi.js';
import type { ArmStats } from './rollout-step.js';
import type { ArmCounters, GateArm } from './store.js';

export type { ArmCounters };

/** Upper bounds (ms) of the latency buckets: /metrics' own, then +Inf. A p99 is reported as the bound of its bucket. */
const BOUNDS_MS: readonly number[] = [...LATENCY_BUCKETS.map((s) => Math.round(s * 1e6) / 1e3), Infinity];
/** The same buckets for the console's traffic view (traffic-stats.ts). */
export { BOUNDS_MS as LATENCY_BOUNDS_MS };
/** Replies larger than this are not read for scores. */
const MAX_SCORED_BYTES = 64 * 1024;
/** Numbers read from one reply (a ranking of many items still counts as one reply's scores). */
const MAX_SCORES_PER_REPLY = 1000;
export const DEFAULT_SCORE_SAMPLE = 0.1;

export const emptyCounters = (): ArmCounters => ({
  requests: 0,
  errors: 0,
  buckets: new Array<number>(BOUNDS_MS.length).fill(0),
  ttft: new Array<number>(BOUNDS_MS.length).fill(0),
  agree: 0,
  disagree: 0,
  scores: new Array<number>(SCORE_BUCKETS).fill(0),
});

/** Reads the Junction's metrics for one objective and target (Metrics.liveCounts). */
export type LiveCountsOf = (objective: string, target: string) => LiveCounts;

/**
 * One arm as this process publishes it: what /metrics has no series for,
 * counted here, and /metrics' own reading when the arm was first tracked
 * (its traffic from before then is not the rollout's).
 */
interface Arm extends Pick<ArmCounters, 'agree' | 'disagree' | 'scores'> {
  target: string;
  balance: Balance | undefined;
  /** Counted here from the records (see the top of this file), cumulative since tracked; undefined: read from /metrics. */
  own: LiveCounts | undefined;
  since: LiveCounts;
  /** /metrics' reading when the arm's objective left rollout; its traffic from then until it comes back is not counted. */
  pausedAt?: LiveCounts | undefined;
}

/** What to count for an objective under rollout. */
export interface TrackedObjective {
  /** Share of replies read for scores (0: none). */
  scoreSample: number;
  /**
   * The arms the gates compare (the default and the candidate), each a target
   * or `{ target, balance }`: counted from the moment they are tracked.
   */
  arms: readonly TargetUse[];
}

/** Arms counted from the records of one objective (the ones /metrics cannot tell apart). */
interface OwnCounted {
  target: string;
  balance: Balance | undefined;
  arm: Arm;
}

export class GateStats {
  /** The arms under rollout (published), with what is counted here. */
  private readonly arms = new Map<string, Arm>();
  /** Only objectives with a rollout are counted. */
  private tracked: ReadonlyMap<string, TrackedObjective> = new Map();
  /** Per tracked objective, its arms counted from the records (most objectives: none). */
  private ownCounted: ReadonlyMap<string, readonly OwnCounted[]> = new Map();

  /** @param live the Junction's metrics: requests, errors and latency come from there */
  constructor(
    private readonly live: LiveCountsOf,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The objectives under rollout now. An arm is counted from the moment it is
   * first tracked: a step that begins before this process published the arm
   * must not judge the arm's whole history since the process started. An arm
   * whose objective leaves rollout is paused, not dropped: what this process
   * publishes is cumulative and must never go down (the leader sums every
   * replica's rows and judges differences), so when it comes back it goes on
   * from where it stopped, without the traffic in between.
   */
  track(objectives: ReadonlyMap<string, TrackedObjective>): void {
    this.tracked = objectives;
    for (const [key, a] of this.arms) {
      const [objective] = key.split('\0') as [string, string];
      if (!objectives.has(objective)) a.pausedAt ??= this.reading(objective, a);
    }
    const ownCounted = new Map<string, OwnCounted[]>();
    for (const [objective, t] of objectives) {
      const targets = t.arms.map(armTarget);
      for (const use of t.arms) {
        const target = armTarget(use);
        const balance = armBalance(use);
        // Two arms on one target, or an arm with its own balancer: /metrics cannot count it apart.
        const own = balance !== undefined || targets.filter((x) => x === target).length > 1;
        const a = this.arm(objective, armLabel(use), target, balance, own);
        if (own) {
          let list = ownCounted.get(objective);
          if (list === undefined) ownCounted.set(objective, (list = []));
          list.push({ target, balance, arm: a });
        }
        if (a.pausedAt !== undefined) {
          a.since = plus(a.since, minus(this.reading(objective, a), a.pausedAt));
          a.pausedAt = undefined;
        }
        // A new rollout may change how an arm is counted (chat@1 read from /metrics while the candidate
        // was chat@2, counted here once the candidate is chat@1 balance=prefix): what is published
        // goes on from where it was, never down.
        if (own && a.own === undefined) {
          a.own = minus(this.live(objective, target), a.since);
          a.since = emptyLive();
        } else if (!own && a.own !== undefined) {
          a.since = minus(this.live(objective, target), minus(a.own, a.since));
          a.own = undefined;
        }
      }
    }
    this.ownCounted = ownCounted;
  }

  /** The arm's cumulative counts now: its own, or /metrics' series of its target. */
  private reading(objective: string, a: Arm): LiveCounts {
    return a.own === undefined ? this.live(objective, a.target) : copy(a.own);
  }

  /** Whether this objective is under rollout (counted) now. */
  tracks(objective: string): boolean {
    return this.tracked.has(objective);
  }

  /**
   * The arm of `label` (its target, or `target balance=…`), made when first
   * seen. `own`: count it from the records (only when it is first tracked;
   * an arm seen first as a shadow's target reads /metrics).
   */
  private arm(objective: string, label: string, target = label, balance?: Balance, own = false): Arm {
    const key = `${objective}\0${label}`;
    let c = this.arms.get(key);
    if (!c) {
      const counts = own ? emptyLive() : undefined;
      c = {
        target,
        balance,
        own: counts,
        since: counts === undefined ? this.live(objective, target) : emptyLive(),
        agree: 0,
        disagree: 0,
        scores: new Array<number>(SCORE_BUCKETS).fill(0),
      };
      this.arms.set(key, c);
    }
    return c;
  }

  /** The arm a request of this objective counts for, when it is one counted from the records. */
  private ownArmOf(r: RequestRecord): Arm | undefined {
    const list = this.ownCounted.get(r.outcome!.objective);
    if (list === undefined) return undefined;
    const target = r.outcome!.target.id;
    const balance = r.outcome!.balance;
    for (const c of list) if (c.target === target && c.balance === balance) return c.arm;
    return undefined;
  }

  /** Shadow comparisons of requests under rollout; the metrics count the requests themselves (a caller who left is an error there too). */
  readonly observe: Observer = (r) => {
    if (r.trafficClass !== 'live' || r.outcome === undefined || !this.tracked.has(r.outcome.objective)) return;
    const objective = r.outcome.objective;
    const own = r.objective === undefined ? undefined : this.ownArmOf(r);
    if (own !== undefined) countRequest(own.own!, r);
    // Shadow outcomes settle after the response: count them then, on the shadow's own arm.
    if (r.shadows !== undefined && r.shadowsSettled !== undefined) {
      const notes = r.shadows;
      void r.shadowsSettled
        .then(() => {
          if (!this.tracked.has(objective)) return; // the rollout ended meanwhile
          for (const n of notes) {
            if (n.result === 'agree') this.arm(objective, n.target).agree++;
            else if (n.result === 'disagree') this.arm(objective, n.target).disagree++;
          }
        })
        .catch(() => undefined); // a rejection nobody hears would end the process; a lost count would not
    }
  };

  /** Whether to read this reply's scores (the invoke path asks once the reply is on its way). */
  wantsReply(r: RequestRecord): boolean {
    if (r.trafficClass !== 'live' || r.outcome === undefined || r.status >= 400) return false;
    const t = this.tracked.get(r.outcome.objective);
    return t !== undefined && t.scoreSample > 0 && this.random() < t.scoreSample;
  }

  /** A copy of a sampled reply's body; parsed on a later turn of the event loop, off the request's path. */
  takeReply(r: RequestRecord, body: Buffer): void {
    if (body.length > MAX_SCORED_BYTES || r.outcome === undefined) return;
    const objective = r.outcome.objective;
    const label = armName(r.outcome.target.id, r.outcome.balance);
    setImmediate(() => {
      let scores: number[];
      try {
        // Both can throw on what an upstream sent: not JSON, or nested deeper than the stack (numbersIn recurses).
        scores = numbersIn(JSON.parse(body.toString('utf8'))).slice(0, MAX_SCORES_PER_REPLY);
      } catch {
        return; // nothing to score
      }
      if (scores.length === 0 || !this.tracked.has(objective)) return;
      const c = this.arm(objective, label);
      for (const s of scores) c.scores[scoreBucket(s)]!++;
    });
  }

  /** This process's counters, to publish to the store (the leader sums every replica's): its metrics' series since the arm was tracked, then its own. */
  entries(): GateArm[] {
    return [...this.arms].flatMap(([key, c]) => {
      if (c.pausedAt !== undefined) return [];
      const [objective, target] = key.split('\0') as [string, string];
      const d = minus(this.reading(objective, c), c.since);
      return [
        {
          objective,
          target,
          counters: {
            requests: d.requests,
            errors: d.failed,
            buckets: d.duration,
            ttft: d.firstByte,
            agree: c.agree,
            disagree: c.disagree,
            scores: [...c.scores],
          },
        },
      ];
    });
  }
}

const emptyLive = (): LiveCounts => ({
  requests: 0,
  failed: 0,
  duration: new Array<number>(BOUNDS_MS.length).fill(0),
  firstByte: new Array<number>(BOUNDS_MS.length).fill(0),
});

function copy(a: LiveCounts): LiveCounts {
  return { requests: a.requests, failed: a.failed, duration: [...a.duration], firstByte: [...a.firstByte] };
}

/** One ended request into an arm counted here, as observe/metrics.ts counts it into /metrics (same buckets, same failure). */
function countRequest(c: LiveCounts, r: RequestRecord): void {
  c.requests++;
  if (r.status >= 500 || r.errorCode === 'client_closed' || r.fallback !== undefined) c.failed++;
  c.duration[bucketOf(r.end - r.start)]!++;
  if (r.firstByte !== undefined) c.firstByte[bucketOf(r.firstByte - r.start)]!++;
}

function minus(a: LiveCounts, b: LiveCounts): LiveCounts {
  return {
    requests: a.requests - b.requests,
    failed: a.failed - b.failed,
    duration: a.duration.map((n, i) => n - (b.duration[i] ?? 0)),
    firstByte: a.firstByte.map((n, i) => n - (b.firstByte[i] ?? 0)),
  };
}

function plus(a: LiveCounts, b: LiveCounts): LiveCounts {
  return {
    requests: a.requests + b.requests,
    failed: a.failed + b.failed,
    duration: a.duration.map((n, i) => n + (b.duration[i] ?? 0)),
    firstByte: a.firstByte.map((n, i) => n + (b.firstByte[i] ?? 0)),
  };
}

/** The latency bucket of `ms` (the gates' and the console's histograms share BOUNDS_MS). */
export function bucketOf(ms: number): number {
  let i = 0;
  while (ms > BOUNDS_MS[i]!) i++;
  return i;
}

/** The upper bound of the bucket holding the q-quantile (the last finite bound for the overflow bucket); undefined when empty. */
export function bucketQuantile(buckets: readonly number[], q: number): number | undefined {
  const n = buckets.reduce((a, b) => a + b, 0);
  if (n === 0) return undefined;
  const rank = Math.ceil(n * q);
  let seen = 0;
  for (let i = 0; i < BOUNDS_MS.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return BOUNDS_MS[i] === Infinity ? BOUNDS_MS[i - 1]! : BOUNDS_MS[i]!;
  }
  return undefined;
}

function p99Of(now: number[], then: number[], total: number): number | undefined {
  if (total === 0) return undefined;
  return bucketQuantile(
    now.map((x, i) => Math.max(0, x - (then[i] ?? 0))),
    0.99,
  );
}

/** The traffic between two readings of the same arm. */
export function since(now: ArmCounters, then: ArmCounters): ArmStats {
  const requests = Math.max(0, now.requests - then.requests);
  const errors = Math.max(0, now.errors - then.errors);
  return {
    requests,
    errors,
    p99Ms: p99Of(now.buckets, then.buckets, requests),
    ttftP99Ms: p99Of(now.ttft, then.ttft, requests),
    agree: Math.max(0, now.agree - then.agree),
    disagree: Math.max(0, now.disagree - then.disagree),
    scores: now.scores.map((x, i) => Math.max(0, x - (then.scores[i] ?? 0))),
  };
}

/** Adds `b` into `a` (histograms included). */
export function addCounters(a: ArmCounters, b: Partial<ArmCounters>): void {
  a.requests += b.requests ?? 0;
  a.errors += b.errors ?? 0;
  a.agree += b.agree ?? 0;
  a.disagree += b.disagree ?? 0;
  for (const key of ['buckets', 'ttft', 'scores'] as const) {
    const from = b[key] ?? [];
    for (let i = 0; i < from.length; i++) a[key][i] = (a[key][i] ?? 0) + from[i]!;
  }
}

/**
 * The store keeps requests and errors in columns and everything else in one
 * JSON column (named `buckets` since the first release, when it held only the
 * latency histogram: an array, still read as such).
 *
 * The histograms over BOUNDS_MS (/metrics' buckets) go under keys of their
 * own. Earlier releases wrote theirs, over other bounds, as `latency` and
 * `ttft`; during a rolling upgrade each side then finds no histogram of the
 * other's to misread (a ratio gate skips) instead of summing buckets of
 * different widths. Requests, errors, shadows and scores mean the same in both.
 */
export function encodeHistograms(c: ArmCounters): string {
  return JSON.stringify({
    metricsLatency: c.buckets,
    metricsTtft: c.ttft,
    agree: c.agree,
    disagree: c.disagree,
    scores: c.scores,
  });
}

function decodeHistograms(text: string): Partial<ArmCounters> {
  const v = JSON.parse(text) as
    | number[]
    | { metricsLatency?: number[]; metricsTtft?: number[]; agree?: number; disagree?: number; scores?: number[] };
  if (Array.isArray(v)) return {};
  return {
    buckets: v.metricsLatency ?? [],
    ttft: v.metricsTtft ?? [],
    agree: v.agree ?? 0,
    disagree: v.disagree ?? 0,
    scores: v.scores ?? [],
  };
}

/** Store rows (one per replica and target) summed per target. */
export function sumRows(
  rows: ReadonlyArray<{ target: string; requests: number | string; errors: number | string; buckets: string }>,
): Map<string, ArmCounters> {
  const out = new Map<string, ArmCounters>();
  for (const r of rows) {
    let sum = out.get(r.target);
    if (!sum) out.set(r.target, (sum = emptyCounters()));
    addCounters(sum, { requests: Number(r.requests), errors: Number(r.errors), ...decodeHistograms(r.buckets) });
  }
  return out;
}
