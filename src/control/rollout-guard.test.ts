import { describe, expect, it } from 'vitest';
import { Objective } from '../config/schema.js';
import type { JunctionError } from '../errors.js';
import { applyRolloutAction } from './rollout-actions.js';
import { describeReach, guardStart, rolloutFindings } from './rollout-guard.js';

const cells = { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } };
const healthy = { minRequests: 100, maxErrorRate: 0.01 };
const doc = (o: Record<string, unknown>) => ({ objectives: { cw: { default: 'm@1', ...o } } });
const codes = (o: Record<string, unknown>) =>
  rolloutFindings('cw', Objective.parse({ default: 'm@1', ...o }))!.warnings.map((w) => w.code);

describe('rollout findings', () => {
  it('a stepped rollout needs a gate on errors; a manual one moves only when someone moves it', () => {
    expect(codes({ rollout: { candidate: 'm@2', steps: [5, 100] } })).toEqual(['no_gate']);
    // Latency and model gates alone would walk a candidate that fails fast.
    expect(codes({ rollout: { candidate: 'm@2', steps: [5, 100], gates: { maxP99Ratio: 1.5 } } })).toEqual(['no_gate']);
    expect(codes({ rollout: { candidate: 'm@2', steps: [5, 100], gates: healthy } })).toEqual([]);
    expect(codes({ rollout: { candidate: 'm@2', steps: [5, 100], gates: { maxErrorRateIncrease: 0.01 } } })).toEqual(
      [],
    );
    expect(codes({ rollout: { candidate: 'm@2', percent: 20 } })).toEqual([]);
  });

  it('the issue: steps without gates behind an experiment of every unit is both', () => {
    const o = {
      experiments: [{ id: 'e', population: 1, cells }],
      rollout: { candidate: 'm@2', steps: [5, 25, 50, 100] },
    };
    expect(codes(o)).toEqual(['reaches_no_units', 'no_gate']);
    const [reaches, gate] = rolloutFindings('cw', Objective.parse({ default: 'm@1', ...o }))!.warnings;
    expect(reaches!.message).toMatch(
      /^no live unit reaches the rollout: experiment e \(100% of units\) takes every live request/,
    );
    expect(gate!.message).toMatch(/no health gate: the controller would walk 5→25→50→100%/);
  });

  it('a partial reach is said in words, not refused', () => {
    const o = Objective.parse({
      default: 'm@1',
      rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@1' }],
      experiments: [{ id: 'e', population: 0.5, cells }],
      rollout: { candidate: 'm@2', percent: 10, steps: [10, 100], gates: healthy },
    });
    const f = rolloutFindings('cw', o)!;
    expect(f.warnings).toEqual([]);
    expect(describeReach(f.reach)).toBe(
      'reaches 50% of live units (experiment e (50% of units) before it); the candidate gets 5%; rule br takes more for the contexts it matches',
    );
    expect(
      describeReach(rolloutFindings('cw', Objective.parse({ default: 'm@1', rollout: { candidate: 'm@2' } }))!.reach),
    ).toBeUndefined();
  });
});

describe('starting a rollout', () => {
  const start = (o: Record<string, unknown>, opts = {}) => applyRolloutAction(doc(o), 'cw', 'start', opts);

  it('is refused with every reason and how to force it', () => {
    const edited = start({ rules: [{ id: 'all', when: {}, use: 'm@1' }] }, { candidate: 'm@2', steps: [5, 100] });
    let err: JunctionError | undefined;
    try {
      guardStart(edited, 'cw', undefined);
    } catch (e) {
      err = e as JunctionError;
    }
    expect(err).toMatchObject({ code: 'rollout_refused', status: 409, objective: 'cw' });
    expect(err!.message).toMatch(/rule all takes every live request/);
    expect(err!.message).toMatch(/no health gate/);
    expect(err!.message).toMatch(/junction rollout cw start --force "reason" \(API: \{"force": "reason"\}\)/);
  });

  it('goes ahead when forced, saying what the reason overrode; a sound one has nothing to override', () => {
    const edited = start({}, { candidate: 'm@2', steps: [5, 100] });
    expect(guardStart(edited, 'cw', 'load test of the new pool').map((w) => w.code)).toEqual(['no_gate']);
    const sound = start({}, { candidate: 'm@2', steps: [5, 100], gates: healthy });
    expect(sound.objectives).toMatchObject({ cw: { rollout: { gates: healthy, percent: 5 } } });
    expect(guardStart(sound, 'cw', undefined)).toEqual([]);
    expect(guardStart(sound, 'cw', 'no need')).toEqual([]);
  });

  it('leaves a config validation will refuse to validation (its path and fix)', () => {
    expect(guardStart(start({}, { candidate: 'not a target', steps: [5] }), 'cw', undefined)).toEqual([]);
  });
});
