// What the rollout gates are judged on: per objective and arm, live requests,
// errors (5xx, callers who left, or rescued by a fallback), latency and
// time-to-first-byte histograms, shadow comparisons (counted on the shadow's
// target) and a histogram of sampled output scores, as cumulative counters.
// Every replica (and every --workers process) publishes its own to the store;
// the controller sums them, snapshots the sum when a step begins and judges
// the difference, so nothing is ever reset on the hot path.
//
// A gate counts only the traffic the rollout itself routed (issue 27): the
// candidate's requests are those the rollout step decided, the baseline's
// those that fell through it to the default (routing/types.ts, Outcome.step).
// A rule, an experiment cell, a pin or an override that sends requests to the
// candidate's target (or the default's) is not the rollout's doing, and its
// traffic would make a rollout that reaches nobody look judged. /metrics'
// series are keyed by target and cannot tell these apart, so the arms are
// counted here from the ended request records, with /metrics' own definition
// of a failure and its buckets (observe/metrics.ts): a few additions per
// request of an objective under rollout, none for the others.
//
// An arm is a target, or a target with the balancer that picks its replicas
// (`candidate: { target, balance }`, SPEC §14); arms are published and keyed
// by their label (armLabel).
import { armBalance, armLabel, armTarget, type Balance, type TargetUse } from '../config/schema.js';
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

/** One arm as this process publishes it: cumulative since it was first tracked. */
interface Arm extends Pick<ArmCounters, 'agree' | 'disagree' | 'scores'> {
  counts: LiveCounts;
}

/** What to count for an objective under rollout. */
export interface TrackedObjective {
  /** Share of replies read for scores (0: none). */
  scoreSample: number;
  /** The default: the requests the rollout left to it are the baseline. */
  baseline: TargetUse;
  /** The candidate: the requests the rollout sent to it. */
  candidate: TargetUse;
}

/** A tracked objective's two arms, with what a request must have been decided as to count for each. */
interface Routed {
  scoreSample: number;
  candidate: Arm;
  candidateTarget: string;
  candidateBalance: Balance | undefined;
  baseline: Arm;
  baselineTarget: string;
}

export class GateStats {
  /** Every arm ever tracked (a label seen as a shadow's target too), by `objective\0label`. */
  private readonly arms = new Map<string, Arm>();
  /** Only objectives with a rollout are counted. */
  private routed: ReadonlyMap<string, Routed> = new Map();

  constructor(private readonly random: () => number = Math.random) {}

  /**
   * The objectives under rollout now. An arm counts from the moment it is
   * first tracked. An arm whose objective leaves rollout is no longer
   * published nor counted, but kept: what this process publishes is
   * cumulative and must never go down (the leader sums every replica's rows
   * and judges differences), so when it comes back it goes on from where it
   * stopped, without the traffic in between.
   */
  track(objectives: ReadonlyMap<string, TrackedObjective>): void {
    const routed = new Map<string, Routed>();
    for (const [objective, t] of objectives) {
      routed.set(objective, {
        scoreSample: t.scoreSample,
        candidate: this.arm(objective, armLabel(t.candidate)),
        candidateTarget: armTarget(t.candidate),
        candidateBalance: armBalance(t.candidate),
        baseline: this.arm(objective, armLabel(t.baseline)),
        baselineTarget: armTarget(t.baseline),
      });
    }
    this.routed = routed;
  }

  /** Whether this objective is under rollout (counted) now. */
  tracks(objective: string): boolean {
    return this.routed.has(objective);
  }

  /** The arm of `label` (its target, or `target balance=…`), made when first seen. */
  private arm(objective: string, label: string): Arm {
    const key = `${objective}\0${label}`;
    let c = this.arms.get(key);
    if (!c) {
      c = { counts: emptyLive(), agree: 0, disagree: 0, scores: new Array<number>(SCORE_BUCKETS).fill(0) };
      this.arms.set(key, c);
    }
    return c;
  }

  /**
   * The arm a live request counts for: the candidate's when the rollout step
   * sent it there, the baseline's when it fell through the rollout to the
   * default; none when anything else decided it. The target is checked too:
   * a request decided on the revision before a new rollout ends after it.
   */
  private routedArmOf(r: RequestRecord): Arm | undefined {
    const o = r.outcome;
    if (o === undefined || r.trafficClass !== 'live') return undefined;
    const t = this.routed.get(o.objective);
    if (t === undefined) return undefined;
    if (o.step === 'rollout')
      return o.target.id === t.candidateTarget && o.balance === t.candidateBalance ? t.candidate : undefined;
    if (o.step === 'default') return o.target.id === t.baselineTarget ? t.baseline : undefined;
    return undefined;
  }

  /** Requests the rollout routed, and the shadow comparisons of those requests. */
  readonly observe: Observer = (r) => {
    const arm = r.objective === undefined ? undefined : this.routedArmOf(r);
    if (arm === undefined) return;
    countRequest(arm.counts, r);
    // Shadow outcomes settle after the response: count them then, on the shadow's own arm.
    if (r.shadows !== undefined && r.shadowsSettled !== undefined) {
      const objective = r.outcome!.objective;
      const notes = r.shadows;
      void r.shadowsSettled
        .then(() => {
          if (!this.routed.has(objective)) return; // the rollout ended meanwhile
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
    if (r.status >= 400 || this.routedArmOf(r) === undefined) return false;
    const sample = this.routed.get(r.outcome!.objective)!.scoreSample;
    return sample > 0 && this.random() < sample;
  }

  /** A copy of a sampled reply's body; parsed on a later turn of the event loop, off the request's path. */
  takeReply(r: RequestRecord, body: Buffer): void {
    if (body.length > MAX_SCORED_BYTES || r.outcome === undefined) return;
    const objective = r.outcome.objective;
    const arm = this.routedArmOf(r);
    if (arm === undefined) return;
    setImmediate(() => {
      let scores: number[];
      try {
        // Both can throw on what an upstream sent: not JSON, or nested deeper than the stack (numbersIn recurses).
        scores = numbersIn(JSON.parse(body.toString('utf8'))).slice(0, MAX_SCORES_PER_REPLY);
      } catch {
        return; // nothing to score
      }
      if (scores.length === 0 || !this.routed.has(objective)) return;
      for (const s of scores) arm.scores[scoreBucket(s)]!++;
    });
  }

  /** This process's counters of the objectives under rollout, to publish to the store (the leader sums every replica's). */
  entries(): GateArm[] {
    return [...this.arms].flatMap(([key, c]) => {
      const [objective, target] = key.split('\0') as [string, string];
      if (!this.routed.has(objective)) return [];
      return [
        {
          objective,
          target,
          counters: {
            requests: c.counts.requests,
            errors: c.counts.failed,
            buckets: [...c.counts.duration],
            ttft: [...c.counts.firstByte],
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

/** One ended request into an arm counted here, as observe/metrics.ts counts it into /metrics (same buckets, same failure). */
function countRequest(c: LiveCounts, r: RequestRecord): void {
  c.requests++;
  if (r.status >= 500 || r.errorCode === 'client_closed' || r.fallback !== undefined) c.failed++;
  c.duration[bucketOf(r.end - r.start)]!++;
  if (r.firstByte !== undefined) c.firstByte[bucketOf(r.firstByte - r.start)]!++;
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
