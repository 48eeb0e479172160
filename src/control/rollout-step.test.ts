import { describe, expect, it } from 'vitest';
import type { RolloutConfig } from '../config/schema.js';
import { rolloutStep, type ArmStats } from './rollout-step.js';

const rollout = (over: Partial<RolloutConfig> = {}): RolloutConfig => ({
  candidate: 'm@2',
  percent: 5,
  state: 'running',
  steps: [1, 5, 25, 100],
  holdSeconds: 60,
  gates: { minRequests: 100, maxErrorRate: 0.01, maxP99Ratio: 1.2 },
  ...over,
});
const arm = (requests: number, errors = 0, p99Ms?: number): ArmStats => ({ requests, errors, p99Ms });
const healthy = { candidate: arm(500, 1, 50), baseline: arm(5000, 5, 48) };

describe('rolloutStep', () => {
  it('advances to the next step once the gates pass and the hold is over', () => {
    expect(rolloutStep({ rollout: rollout(), ...healthy, heldSeconds: 61 })).toMatchObject({
      kind: 'advance',
      percent: 25,
      reason: 'gates passed on 500 requests: error rate 0.002, p99 ratio 1.04; 5% → 25%',
    });
  });

  it('holds until the hold time is over, and until enough requests are seen', () => {
    expect(rolloutStep({ rollout: rollout(), ...healthy, heldSeconds: 30 }).kind).toBe('hold');
    expect(
      rolloutStep({ rollout: rollout(), candidate: arm(99), baseline: arm(1000), heldSeconds: 999 }),
    ).toMatchObject({ kind: 'hold', reason: '99/100 live requests on the candidate at this step' });
    // Below minRequests nothing fails yet, even a gate whose value is over its threshold.
    expect(
      rolloutStep({ rollout: rollout(), candidate: arm(99, 50), baseline: arm(1000), heldSeconds: 999 }).gates,
    ).toEqual([
      expect.objectContaining({ gate: 'maxErrorRate', value: 50 / 99, verdict: 'wait' }),
      expect.objectContaining({ gate: 'maxP99Ratio', verdict: 'skip' }),
    ]);
  });

  it('rolls back a candidate that breaks a gate, hold or not', () => {
    expect(
      rolloutStep({ rollout: rollout(), candidate: arm(200, 3, 50), baseline: arm(1000, 0, 50), heldSeconds: 0 }),
    ).toMatchObject({ kind: 'rollback', reason: 'error rate 0.015 > maxErrorRate 0.01' });
    expect(
      rolloutStep({ rollout: rollout(), candidate: arm(200, 0, 70), baseline: arm(1000, 0, 50), heldSeconds: 0 }),
    ).toMatchObject({ kind: 'rollback', reason: expect.stringMatching(/1\.4× .* > maxP99Ratio 1\.2/) });
  });

  it('skips the latency gate without a baseline', () => {
    expect(
      rolloutStep({ rollout: rollout(), candidate: arm(200, 0, 70), baseline: arm(0), heldSeconds: 61 }).kind,
    ).toBe('advance');
  });

  it('promotes after the last step; paused and manual rollouts hold', () => {
    expect(rolloutStep({ rollout: rollout({ percent: 100 }), ...healthy, heldSeconds: 61 }).kind).toBe('promote');
    expect(rolloutStep({ rollout: rollout({ percent: 40, steps: [10, 40] }), ...healthy, heldSeconds: 61 }).kind).toBe(
      'promote',
    );
    expect(rolloutStep({ rollout: rollout({ state: 'paused' }), ...healthy, heldSeconds: 999 })).toEqual({
      kind: 'hold',
      reason: 'paused',
    });
    expect(rolloutStep({ rollout: rollout({ steps: undefined }), ...healthy, heldSeconds: 999 }).kind).toBe('hold');
  });

  it('without gates, time alone advances', () => {
    expect(
      rolloutStep({
        rollout: rollout({ gates: undefined, holdSeconds: undefined }),
        candidate: arm(0),
        baseline: arm(0),
        heldSeconds: 301,
      }),
    ).toEqual({ kind: 'advance', percent: 25, reason: 'no gates; 5% → 25%' });
  });

  describe('model-aware gates', () => {
    const gated = (gates: Record<string, number>) => rollout({ gates: { minRequests: 100, ...gates } });
    const scores = (shape: number[], n: number) => shape.map((w) => Math.round(w * n));

    it('maxErrorRateIncrease: rolls back a significant increase, names the numbers, passes noise', () => {
      const worse = rolloutStep({
        rollout: gated({ maxErrorRateIncrease: 0.01 }),
        candidate: arm(400, 60, 50),
        baseline: arm(4000, 40, 50),
        heldSeconds: 0,
      });
      expect(worse.kind).toBe('rollback');
      expect(worse.reason).toMatch(
        /^error rate increase 0\.14 \(candidate 0\.15 vs baseline 0\.01\), always-valid p [\d.e-]+ < 0\.05 for an increase beyond maxErrorRateIncrease 0\.01$/,
      );
      expect(worse.gates).toEqual([
        expect.objectContaining({ gate: 'maxErrorRateIncrease', threshold: 0.01, verdict: 'fail' }),
      ]);
      const noisy = rolloutStep({
        rollout: gated({ maxErrorRateIncrease: 0 }),
        candidate: arm(400, 6, 50),
        baseline: arm(4000, 40, 50),
        heldSeconds: 61,
      });
      expect(noisy).toMatchObject({
        kind: 'advance',
        reason: expect.stringMatching(/error rate increase 0\.005 \(not significant\)/),
      });
    });

    it('minShadowAgreement: waits for comparisons, then judges the share', () => {
      const g = gated({ minShadowAgreement: 0.9 });
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), agree: 50, disagree: 0 },
          baseline: arm(5000),
          heldSeconds: 61,
        }),
      ).toMatchObject({
        kind: 'hold',
        reason: 'waiting on minShadowAgreement: 50/100 shadow comparisons of the candidate',
      });
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), agree: 80, disagree: 40 },
          baseline: arm(5000),
          heldSeconds: 0,
        }),
      ).toMatchObject({
        kind: 'rollback',
        reason: 'shadow agreement 0.667 of 120 comparisons < minShadowAgreement 0.9',
      });
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), agree: 190, disagree: 10 },
          baseline: arm(5000),
          heldSeconds: 61,
        }).kind,
      ).toBe('advance');
    });

    it('maxTtftRatio: compares p99 time to first token', () => {
      const g = gated({ maxTtftRatio: 1.5 });
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), ttftP99Ms: 200 },
          baseline: { ...arm(5000), ttftP99Ms: 100 },
          heldSeconds: 0,
        }),
      ).toMatchObject({
        kind: 'rollback',
        reason: "p99 time to first token 200 ms is 2× the baseline's 100 ms > maxTtftRatio 1.5",
      });
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), ttftP99Ms: 100 },
          baseline: { ...arm(5000), ttftP99Ms: 100 },
          heldSeconds: 61,
        }).kind,
      ).toBe('advance');
    });

    it('maxScoreDrift: PSI of the candidate against the baseline, once both have enough scores', () => {
      const g = gated({ maxScoreDrift: 0.2 });
      const base = [0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.03, 0.01, 0.01];
      const shifted = [0.01, 0.01, 0.03, 0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.05];
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), scores: scores(base, 100) },
          baseline: { ...arm(5000), scores: scores(base, 1000) },
          heldSeconds: 61,
        }),
      ).toMatchObject({
        kind: 'hold',
        reason: 'waiting on maxScoreDrift: scores sampled: candidate 100, baseline 1000 (500 each needed)',
      });
      const drifted = rolloutStep({
        rollout: g,
        candidate: { ...arm(500), scores: scores(shifted, 1000) },
        baseline: { ...arm(5000), scores: scores(base, 1000) },
        heldSeconds: 0,
      });
      expect(drifted).toMatchObject({
        kind: 'rollback',
        reason: expect.stringMatching(/^score drift \(PSI\) [\d.]+ on 1000 vs 1000 scores > maxScoreDrift 0\.2$/),
      });
      expect(drifted.gates![0]!.value).toBeGreaterThan(0.5);
      expect(
        rolloutStep({
          rollout: g,
          candidate: { ...arm(500), scores: scores(base, 1000) },
          baseline: { ...arm(5000), scores: scores(base, 1000) },
          heldSeconds: 61,
        }).kind,
      ).toBe('advance');
    });

    it('comparison gates are skipped, not held, without baseline traffic (the 100 % step)', () => {
      const g = rollout({
        percent: 100,
        gates: { minRequests: 100, maxErrorRateIncrease: 0, maxTtftRatio: 1.2, maxScoreDrift: 0.1 },
      });
      const d = rolloutStep({
        rollout: g,
        candidate: { ...arm(500), ttftP99Ms: 10 },
        baseline: arm(0),
        heldSeconds: 61,
      });
      expect(d.kind).toBe('promote');
      expect(d.gates!.map((v) => v.verdict)).toEqual(['skip', 'skip', 'skip']);
    });
  });
});
