import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { Objective } from '../config/schema.js';
import { compileRouting } from './compile.js';
import { decide } from './decide.js';
import { rolloutReach } from './rollout-reach.js';

const objective = (extra: Record<string, unknown>) =>
  Objective.parse({ default: 'm@1', rollout: { candidate: 'm@2', percent: 50 }, ...extra });

const cells = { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@3' } };

describe('which live units a rollout can reach', () => {
  it('all of them when nothing comes before it; pins do not matter', () => {
    expect(rolloutReach('cw', objective({ pins: { u1: 'm@1' } }))).toEqual({
      share: 1,
      candidateShare: 0.5,
      takenBy: [],
      conditional: [],
    });
  });

  it('none behind a rule that matches every live request, whatever comes after it', () => {
    for (const when of [{}, { trafficClass: 'live' }, { trafficClass: ['test', 'live'] }, { context: {} }]) {
      const reach = rolloutReach('cw', objective({ rules: [{ id: 'all', when, use: 'm@1' }] }));
      expect(reach).toMatchObject({ share: 0, candidateShare: 0, takenBy: ['rule all'] });
    }
  });

  it('all of them past rules on context (a request without the key passes) or on other traffic classes', () => {
    const reach = rolloutReach(
      'cw',
      objective({
        rules: [
          { id: 'br', when: { context: { country: ['BR'] } }, use: 'm@1' },
          { id: 'tests', when: { trafficClass: 'test' }, use: 'm@2' },
        ],
      }),
    );
    expect(reach).toEqual({ share: 1, candidateShare: 0.5, takenBy: [], conditional: ['rule br'] });
  });

  it('none behind an experiment of the whole population; a share behind partial ones', () => {
    expect(rolloutReach('cw', objective({ experiments: [{ id: 'e', population: 1, cells }] }))).toMatchObject({
      share: 0,
      takenBy: ['experiment e (100% of units)'],
    });
    const two = rolloutReach(
      'cw',
      objective({
        experiments: [
          { id: 'e1', population: 0.5, cells },
          { id: 'e2', population: 0.2, cells },
          { id: 'mobile', population: 1, when: { context: { device: 'mobile' } }, cells },
        ],
      }),
    )!;
    expect(two.share).toBeCloseTo(0.5 * 0.8);
    expect(two.candidateShare).toBeCloseTo(0.5 * 0.8 * 0.5);
    expect(two.conditional).toEqual(['experiment mobile']);
  });

  it('one salt shared by experiments takes the same buckets: their union is the largest population', () => {
    const reach = rolloutReach(
      'cw',
      objective({
        experiments: [
          { id: 'e1', salt: 's', population: 0.5, cells },
          { id: 'e2', salt: 's', population: 0.3, cells },
        ],
      }),
    )!;
    expect(reach.share).toBeCloseTo(0.5);
  });

  it("a rollout salted like an experiment gets only the buckets above the experiment's population", () => {
    const o = objective({
      experiments: [{ id: 'e', population: 0.3, cells }],
      rollout: { candidate: 'm@2', percent: 20, salt: 'e' },
    });
    expect(rolloutReach('cw', o)).toMatchObject({ share: 0.7, candidateShare: 0 });
    const wider = objective({
      experiments: [{ id: 'e', population: 0.3, cells }],
      rollout: { candidate: 'm@2', percent: 50, salt: 'e' },
    });
    expect(rolloutReach('cw', wider)!.candidateShare).toBeCloseTo(0.2);
  });

  it('agrees with decide on real units', () => {
    const config = {
      models: { m: { class: 'scorer', versions: Object.fromEntries(['1', '2', '3'].map((v) => [v, { backend }])) } },
      objectives: {
        cw: {
          default: 'm@1',
          rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@3' }],
          experiments: [{ id: 'e', population: 0.4, cells }],
          rollout: { candidate: 'm@2', percent: 30 },
        },
      },
    };
    const table = compileRouting(validateConfig(config), 1);
    const o = table.objectives.get('cw')!;
    const reach = rolloutReach('cw', o.config)!;
    let reached = 0;
    let candidate = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const out = decide(table, o, { unit: `u${i}`, context: {}, trafficClass: 'live' });
      if (out.step === 'rollout' || out.step === 'default') reached++;
      if (out.step === 'rollout') candidate++;
    }
    expect(reached / n).toBeCloseTo(reach.share, 1);
    expect(candidate / n).toBeCloseTo(reach.candidateShare, 1);
  });
});

const backend = { type: 'http', endpoints: ['http://127.0.0.1:9'] };
