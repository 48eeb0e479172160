// The gated rollout's decision for one objective at one moment, as a pure
// function: the controller measures, this decides, the control plane applies.
// Gates are judged on live traffic since the current step began (test and
// synthetic traffic never count), candidate against the baseline (the default).
// Every gate reports its value, threshold and verdict; every move's reason
// names the gate and its numbers (SPEC §12).
import type { RolloutConfig } from '../config/schema.js';
import { populationStabilityIndex } from '../stats/psi.js';
import { errorRateIncrease } from '../stats/rate-increase.js';

/** Seconds a step holds when the rollout does not say (SPEC §5 example). */
export const DEFAULT_HOLD_SECONDS = 300;
/** maxErrorRateIncrease rolls back when its always-valid p-value falls below this. */
export const INCREASE_ALPHA = 0.05;
/** Sampled scores each arm needs before maxScoreDrift is judged (PSI is biased upward on small samples). */
export const MIN_SCORES = 500;

export interface ArmStats {
  requests: number;
  errors: number;
  /** undefined without requests. */
  p99Ms: number | undefined;
  /** p99 time to first byte; undefined without requests. */
  ttftP99Ms?: number | undefined;
  /** Shadow comparisons with this arm as the shadow. */
  agree?: number;
  disagree?: number;
  /** Sampled output scores per bucket (stats/psi.ts). */
  scores?: number[];
}

export interface StepInput {
  rollout: RolloutConfig;
  candidate: ArmStats;
  baseline: ArmStats;
  /** Seconds since the current step began. */
  heldSeconds: number;
}

/** One gate's state: `wait` holds the rollout for more data; `skip` cannot be judged (no baseline traffic) and does not hold it. */
export interface GateVerdict {
  gate: string;
  value: number | null;
  threshold: number;
  verdict: 'pass' | 'fail' | 'wait' | 'skip';
  detail: string;
}

export type StepDecision =
  | { kind: 'hold'; reason: string; gates?: GateVerdict[] }
  | { kind: 'advance'; percent: number; reason: string; gates?: GateVerdict[] }
  | { kind: 'promote'; reason: string; gates?: GateVerdict[] }
  | { kind: 'rollback'; reason: string; gates?: GateVerdict[] };

type Gates = NonNullable<RolloutConfig['gates']>;

/** Every configured gate's verdict on the traffic so far. */
export function judgeGates(gates: Gates, candidate: ArmStats, baseline: ArmStats): GateVerdict[] {
  const out: GateVerdict[] = [];
  const errorRate = candidate.requests === 0 ? 0 : candidate.errors / candidate.requests;
  if (gates.maxErrorRate !== undefined) {
    const fail = errorRate > gates.maxErrorRate;
    out.push({
      gate: 'maxErrorRate',
      value: errorRate,
      threshold: gates.maxErrorRate,
      verdict: fail ? 'fail' : 'pass',
      detail: `error rate ${fmt(errorRate)} ${fail ? '>' : '≤'} maxErrorRate ${gates.maxErrorRate}`,
    });
  }
  if (gates.maxErrorRateIncrease !== undefined) {
    const m = gates.maxErrorRateIncrease;
    const t = baseline.requests === 0 ? undefined : errorRateIncrease(candidate, baseline, m);
    if (!t) {
      out.push({
        gate: 'maxErrorRateIncrease',
        value: null,
        threshold: m,
        verdict: 'skip',
        detail: 'error rate increase: no baseline traffic at this step',
      });
    } else {
      const fail = t.pValue < INCREASE_ALPHA;
      const rates = `candidate ${fmt(errorRate)} vs baseline ${fmt(baseline.errors / baseline.requests)}`;
      out.push({
        gate: 'maxErrorRateIncrease',
        value: t.increase,
        threshold: m,
        verdict: fail ? 'fail' : 'pass',
        detail: `error rate increase ${fmt(t.increase)} (${rates}), always-valid p ${fmt(t.pValue)} ${fail ? '<' : '≥'} ${INCREASE_ALPHA} for an increase beyond maxErrorRateIncrease ${m}`,
      });
    }
  }
  if (gates.maxP99Ratio !== undefined) {
    out.push(ratioGate('maxP99Ratio', 'p99', candidate.p99Ms, baseline.p99Ms, gates.maxP99Ratio));
  }
  if (gates.maxTtftRatio !== undefined) {
    out.push(
      ratioGate('maxTtftRatio', 'p99 time to first token', candidate.ttftP99Ms, baseline.ttftP99Ms, gates.maxTtftRatio),
    );
  }
  if (gates.minShadowAgreement !== undefined) {
    const n = (candidate.agree ?? 0) + (candidate.disagree ?? 0);
    const min = gates.minShadowAgreement;
    if (n < gates.minRequests) {
      out.push({
        gate: 'minShadowAgreement',
        value: n === 0 ? null : (candidate.agree ?? 0) / n,
        threshold: min,
        verdict: 'wait',
        detail: `${n}/${gates.minRequests} shadow comparisons of the candidate`,
      });
    } else {
      const share = (candidate.agree ?? 0) / n;
      const fail = share < min;
      out.push({
        gate: 'minShadowAgreement',
        value: share,
        threshold: min,
        verdict: fail ? 'fail' : 'pass',
        detail: `shadow agreement ${fmt(share)} of ${n} comparisons ${fail ? '<' : '≥'} minShadowAgreement ${min}`,
      });
    }
  }
  if (gates.maxScoreDrift !== undefined) {
    const max = gates.maxScoreDrift;
    const nc = (candidate.scores ?? []).reduce((s, x) => s + x, 0);
    const nb = (baseline.scores ?? []).reduce((s, x) => s + x, 0);
    if (baseline.requests === 0) {
      out.push({
        gate: 'maxScoreDrift',
        value: null,
        threshold: max,
        verdict: 'skip',
        detail: 'score drift: no baseline traffic at this step',
      });
    } else if (nc < MIN_SCORES || nb < MIN_SCORES) {
      out.push({
        gate: 'maxScoreDrift',
        value: null,
        threshold: max,
        verdict: 'wait',
        detail: `scores sampled: candidate ${nc}, baseline ${nb} (${MIN_SCORES} each needed)`,
      });
    } else {
      const psi = populationStabilityIndex(baseline.scores!, candidate.scores!);
      const fail = psi > max;
      out.push({
        gate: 'maxScoreDrift',
        value: psi,
        threshold: max,
        verdict: fail ? 'fail' : 'pass',
        detail: `score drift (PSI) ${fmt(psi)} on ${nc} vs ${nb} scores ${fail ? '>' : '≤'} maxScoreDrift ${max}`,
      });
    }
  }
  return out;
}

function ratioGate(
  gate: string,
  what: string,
  cand: number | undefined,
  base: number | undefined,
  max: number,
): GateVerdict {
  if (cand === undefined || base === undefined || base <= 0) {
    return { gate, value: null, threshold: max, verdict: 'skip', detail: `${what}: no baseline traffic at this step` };
  }
  const ratio = cand / base;
  const fail = ratio > max;
  return {
    gate,
    value: ratio,
    threshold: max,
    verdict: fail ? 'fail' : 'pass',
    detail: `${what} ${fmt(cand)} ms is ${fmt(ratio)}× the baseline's ${fmt(base)} ms ${fail ? '>' : '≤'} ${gate} ${max}`,
  };
}

/** The short form of a passing gate for the reason of an advance or promote. */
function passed(v: GateVerdict): string | undefined {
  if (v.verdict !== 'pass' || v.value === null) return undefined;
  switch (v.gate) {
    case 'maxErrorRate':
      return `error rate ${fmt(v.value)}`;
    case 'maxP99Ratio':
      return `p99 ratio ${fmt(v.value)}`;
    case 'maxErrorRateIncrease':
      return `error rate increase ${fmt(v.value)} (not significant)`;
    case 'maxTtftRatio':
      return `ttft ratio ${fmt(v.value)}`;
    case 'minShadowAgreement':
      return `shadow agreement ${fmt(v.value)}`;
    case 'maxScoreDrift':
      return `score drift ${fmt(v.value)}`;
    default:
      return undefined;
  }
}

export function rolloutStep({ rollout, candidate, baseline, heldSeconds }: StepInput): StepDecision {
  if (rollout.state === 'paused') return { kind: 'hold', reason: 'paused' };
  const steps = rollout.steps;
  if (!steps || steps.length === 0) return { kind: 'hold', reason: 'no steps: a manual rollout' };

  const gates = rollout.gates;
  let summary = 'no gates';
  let verdicts: GateVerdict[] | undefined;
  if (gates) {
    verdicts = judgeGates(gates, candidate, baseline);
    if (candidate.requests < gates.minRequests) {
      // Too few requests to judge: the values are shown, no gate passes or fails yet.
      const early = verdicts.map((v): GateVerdict => (v.verdict === 'skip' ? v : { ...v, verdict: 'wait' }));
      return {
        kind: 'hold',
        reason: `${candidate.requests}/${gates.minRequests} live requests on the candidate at this step`,
        gates: early,
      };
    }
    const failed = verdicts.find((v) => v.verdict === 'fail');
    if (failed) return { kind: 'rollback', reason: failed.detail, gates: verdicts };
    const waiting = verdicts.find((v) => v.verdict === 'wait');
    if (waiting) return { kind: 'hold', reason: `waiting on ${waiting.gate}: ${waiting.detail}`, gates: verdicts };
    const errorRate = candidate.errors / candidate.requests;
    const parts = verdicts.map(passed).filter((p): p is string => p !== undefined);
    if (gates.maxErrorRate === undefined) parts.unshift(`error rate ${fmt(errorRate)}`);
    summary = `gates passed on ${candidate.requests} requests: ${parts.join(', ')}`;
  }

  const hold = rollout.holdSeconds ?? DEFAULT_HOLD_SECONDS;
  const withGates = <T extends object>(d: T): T => (verdicts ? { ...d, gates: verdicts } : d);
  if (heldSeconds < hold)
    return withGates({ kind: 'hold', reason: `holding ${Math.floor(heldSeconds)}/${hold} s at ${rollout.percent}%` });
  const next = steps.find((s) => s > rollout.percent);
  if (next === undefined)
    return withGates({ kind: 'promote', reason: `${summary}; last step ${rollout.percent}% held ${hold} s` });
  return withGates({ kind: 'advance', percent: next, reason: `${summary}; ${rollout.percent}% → ${next}%` });
}

function fmt(n: number): string {
  return Number(n.toPrecision(3)).toString();
}
