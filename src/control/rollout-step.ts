// The gated rollout's decision for one objective at one moment, as a pure
// function: the controller measures, this decides, the control plane applies.
// Gates are judged on live traffic since the current step began (test and
// synthetic traffic never count), candidate against the baseline (the default).
import type { RolloutConfig } from '../config/schema.js';

/** Seconds a step holds when the rollout does not say (SPEC §5 example). */
export const DEFAULT_HOLD_SECONDS = 300;

export interface ArmStats {
  requests: number;
  errors: number;
  /** undefined without requests. */
  p99Ms: number | undefined;
}

export interface StepInput {
  rollout: RolloutConfig;
  candidate: ArmStats;
  baseline: ArmStats;
  /** Seconds since the current step began. */
  heldSeconds: number;
}

export type StepDecision =
  | { kind: 'hold'; reason: string }
  | { kind: 'advance'; percent: number; reason: string }
  | { kind: 'promote'; reason: string }
  | { kind: 'rollback'; reason: string };

export function rolloutStep({ rollout, candidate, baseline, heldSeconds }: StepInput): StepDecision {
  if (rollout.state === 'paused') return { kind: 'hold', reason: 'paused' };
  const steps = rollout.steps;
  if (!steps || steps.length === 0) return { kind: 'hold', reason: 'no steps: a manual rollout' };

  const gates = rollout.gates;
  let passed = 'no gates';
  if (gates) {
    if (candidate.requests < gates.minRequests) {
      return { kind: 'hold', reason: `${candidate.requests}/${gates.minRequests} live requests on the candidate at this step` };
    }
    const errorRate = candidate.errors / candidate.requests;
    if (gates.maxErrorRate !== undefined && errorRate > gates.maxErrorRate) {
      return { kind: 'rollback', reason: `error rate ${fmt(errorRate)} > maxErrorRate ${gates.maxErrorRate}` };
    }
    let ratio: number | undefined;
    if (gates.maxP99Ratio !== undefined && candidate.p99Ms !== undefined && baseline.p99Ms !== undefined && baseline.p99Ms > 0) {
      ratio = candidate.p99Ms / baseline.p99Ms;
      if (ratio > gates.maxP99Ratio) {
        return { kind: 'rollback', reason: `p99 ${fmt(candidate.p99Ms)} ms is ${fmt(ratio)}× the baseline's ${fmt(baseline.p99Ms)} ms > maxP99Ratio ${gates.maxP99Ratio}` };
      }
    }
    passed = `gates passed on ${candidate.requests} requests: error rate ${fmt(errorRate)}${ratio === undefined ? '' : `, p99 ratio ${fmt(ratio)}`}`;
  }

  const hold = rollout.holdSeconds ?? DEFAULT_HOLD_SECONDS;
  if (heldSeconds < hold) return { kind: 'hold', reason: `holding ${Math.floor(heldSeconds)}/${hold} s at ${rollout.percent}%` };
  const next = steps.find((s) => s > rollout.percent);
  if (next === undefined) return { kind: 'promote', reason: `${passed}; last step ${rollout.percent}% held ${hold} s` };
  return { kind: 'advance', percent: next, reason: `${passed}; ${rollout.percent}% → ${next}%` };
}

function fmt(n: number): string {
  return Number(n.toPrecision(3)).toString();
}
