import { describe, expect, it } from 'vitest';
import type { RolloutConfig } from '../config/schema.js';
import { rolloutStep, type ArmStats } from './rollout-step.js';

const rollout = (over: Partial<RolloutConfig> = {}): RolloutConfig => ({
  candidate: 'm@2', percent: 5, state: 'running', steps: [1, 5, 25, 100], holdSeconds: 60,
  gates: { minRequests: 100, maxErrorRate: 0.01, maxP99Ratio: 1.2 }, ...over,
});
const arm = (requests: number, errors = 0, p99Ms?: number): ArmStats => ({ requests, errors, p99Ms });
const healthy = { candidate: arm(500, 1, 50), baseline: arm(5000, 5, 48) };

describe('rolloutStep', () => {
  it('advances to the next step once the gates pass and the hold is over', () => {
    expect(rolloutStep({ rollout: rollout(), ...healthy, heldSeconds: 61 }))
      .toEqual({ kind: 'advance', percent: 25, reason: 'gates passed on 500 requests: error rate 0.002, p99 ratio 1.04; 5% → 25%' });
  });

  it('holds until the hold time is over, and until enough requests are seen', () => {
    expect(rolloutStep({ rollout: rollout(), ...healthy, heldSeconds: 30 }).kind).toBe('hold');
    expect(rolloutStep({ rollout: rollout(), candidate: arm(99), baseline: arm(1000), heldSeconds: 999 }))
      .toEqual({ kind: 'hold', reason: '99/100 live requests on the candidate at this step' });
  });

  it('rolls back a candidate that breaks a gate, hold or not', () => {
    expect(rolloutStep({ rollout: rollout(), candidate: arm(200, 3, 50), baseline: arm(1000, 0, 50), heldSeconds: 0 }))
      .toMatchObject({ kind: 'rollback', reason: 'error rate 0.015 > maxErrorRate 0.01' });
    expect(rolloutStep({ rollout: rollout(), candidate: arm(200, 0, 70), baseline: arm(1000, 0, 50), heldSeconds: 0 }))
      .toMatchObject({ kind: 'rollback', reason: expect.stringMatching(/1\.4× .* > maxP99Ratio 1\.2/) });
  });

  it('skips the latency gate without a baseline', () => {
    expect(rolloutStep({ rollout: rollout(), candidate: arm(200, 0, 70), baseline: arm(0), heldSeconds: 61 }).kind).toBe('advance');
  });

  it('promotes after the last step; paused and manual rollouts hold', () => {
    expect(rolloutStep({ rollout: rollout({ percent: 100 }), ...healthy, heldSeconds: 61 }).kind).toBe('promote');
    expect(rolloutStep({ rollout: rollout({ percent: 40, steps: [10, 40] }), ...healthy, heldSeconds: 61 }).kind).toBe('promote');
    expect(rolloutStep({ rollout: rollout({ state: 'paused' }), ...healthy, heldSeconds: 999 })).toEqual({ kind: 'hold', reason: 'paused' });
    expect(rolloutStep({ rollout: rollout({ steps: undefined }), ...healthy, heldSeconds: 999 }).kind).toBe('hold');
  });

  it('without gates, time alone advances', () => {
    expect(rolloutStep({ rollout: rollout({ gates: undefined, holdSeconds: undefined }), candidate: arm(0), baseline: arm(0), heldSeconds: 301 }))
      .toEqual({ kind: 'advance', percent: 25, reason: 'no gates; 5% → 25%' });
  });
});
