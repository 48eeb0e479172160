import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { JunctionError } from '../errors.js';
import { bucketOf } from './bucket.js';
import { BucketMemo } from './bucket-memo.js';
import { compileRouting } from './compile.js';
import { decide, explain } from './decide.js';
import type { RoutingRequest, RoutingTable } from './types.js';

const http = (port: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${port}`] } });

function table(objective: Record<string, unknown>, revision = 3): RoutingTable {
  return compileRouting(
    validateConfig({
      models: { ranker: { class: 'scorer', versions: { '5': http(1), '6': http(2), '7': http(3), '8': http(4) } } },
      objectives: { cw: { default: 'ranker@6', ...objective } },
    }),
    revision,
  );
}

function req(over: Partial<RoutingRequest> = {}): RoutingRequest {
  return { unit: 'user-1', context: {}, trafficClass: 'live', ...over };
}

function route(t: RoutingTable, r: RoutingRequest) {
  return decide(t, t.objectives.get('cw')!, r);
}

const full = {
  allowOverride: true,
  pins: { 'pinned-user': 'ranker@8' },
  rules: [
    { id: 'latam', when: { context: { country: ['BR', 'MX'] } }, use: 'ranker@7' },
    { when: { trafficClass: 'test' }, use: 'ranker@5' },
  ],
  experiments: [
    { id: 'cw-42', population: 1, cells: { A: { weight: 50, use: 'ranker@5' }, B: { weight: 50, use: 'ranker@7' } } },
  ],
  rollout: { candidate: 'ranker@8', percent: 100 },
};

describe('decide: each step and its precedence', () => {
  const cases: Array<[string, Record<string, unknown>, Partial<RoutingRequest>, string, string]> = [
    ['default when nothing else applies', {}, {}, 'ranker@6', 'default'],
    [
      'override beats everything',
      full,
      { override: 'ranker@6', unit: 'pinned-user', context: { country: 'BR' } },
      'ranker@6',
      'override',
    ],
    ['pin beats rules', full, { unit: 'pinned-user', context: { country: 'BR' } }, 'ranker@8', 'pin'],
    ['rule on context value', full, { context: { country: 'MX' } }, 'ranker@7', 'rule:latam'],
    ['rule on traffic class, named by index', full, { trafficClass: 'test' }, 'ranker@5', 'rule:1'],
    [
      'rules need every key: other country falls to the experiment',
      full,
      { context: { country: 'US' } },
      '',
      'experiment:cw-42',
    ],
    ['experiment beats rollout', { ...full, pins: {}, rules: [] }, {}, '', 'experiment:cw-42'],
    ['rollout at 100% beats default', { rollout: { candidate: 'ranker@8', percent: 100 } }, {}, 'ranker@8', 'rollout'],
    ['rollout at 0% falls to default', { rollout: { candidate: 'ranker@8', percent: 0 } }, {}, 'ranker@6', 'default'],
    [
      'experiment whose when fails is skipped',
      {
        experiments: [
          {
            id: 'br-only',
            when: { context: { country: 'BR' } },
            population: 1,
            cells: { A: { weight: 100, use: 'ranker@7' } },
          },
        ],
      },
      { context: { country: 'US' } },
      'ranker@6',
      'default',
    ],
  ];
  for (const [name, objective, r, target, rule] of cases) {
    it(name, () => {
      const outcome = route(table(objective), req(r));
      expect(outcome.rule).toBe(rule);
      if (target) expect(outcome.target.id).toBe(target);
    });
  }

  it('x-decision names rule, cell and revision; unit=none when there is no unit', () => {
    const t = table({ experiments: [{ id: 'e', population: 1, cells: { B: { weight: 100, use: 'ranker@7' } } }] }, 17);
    const o = route(t, req());
    expect(o.header).toBe('rule=experiment:e cell=B revision=17');
    expect(o.headerNoUnit).toBe('rule=experiment:e cell=B revision=17 unit=none');
  });

  it('override without permission is override_forbidden', () => {
    const t = table({ overrideTargets: ['ranker@7'] });
    expect(() => route(t, req({ override: 'ranker@7' }))).toThrow(
      expect.objectContaining({ code: 'override_forbidden' }),
    );
    // The caller's own scope can grant it even when the objective does not.
    expect(route(t, req({ override: 'ranker@7', mayOverride: true })).target.id).toBe('ranker@7');
  });

  it('an override names only a target the objective uses or opens (overrideTargets)', () => {
    const t = table({ allowOverride: true, rules: [{ when: { context: { country: ['BR'] } }, use: 'ranker@7' }] });
    expect(route(t, req({ override: 'ranker@7' })).target.id).toBe('ranker@7');
    // ranker@8 is in the config, but this objective neither routes to it nor opens it.
    expect(() => route(t, req({ override: 'ranker@8', mayOverride: true }))).toThrow(
      expect.objectContaining({ code: 'override_forbidden' }),
    );
    const opened = table({ allowOverride: true, overrideTargets: ['ranker@8'] });
    expect(route(opened, req({ override: 'ranker@8' })).target.id).toBe('ranker@8');
  });

  it('override to an unknown target is invalid_request', () => {
    const t = table({ allowOverride: true });
    try {
      route(t, req({ override: 'ranker@99' }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JunctionError);
      expect((err as JunctionError).code).toBe('invalid_request');
    }
  });

  it('an unknown override is explained in terms of where the caller named it', () => {
    const t = table({ allowOverride: true });
    const message = (over: Partial<RoutingRequest>) => {
      try {
        route(t, req({ override: 'ranker@99', ...over }));
      } catch (err) {
        return (err as JunctionError).message;
      }
      return expect.unreachable();
    };
    expect(message({})).toMatch(/^x-model-override: unknown target "ranker@99"/);
    expect(message({ overrideSource: 'header' })).toMatch(/^x-model-override: /);
    expect(message({ overrideSource: 'path' })).toBe(
      '/versions/99: model "ranker" (the objective\'s default model) has no version "99" in the config',
    );
    expect(message({ overrideSource: 'query' })).toMatch(/^override parameter: unknown target "ranker@99"/);
  });

  it('experiment cells are consecutive bucket ranges over the population (SPEC example)', () => {
    const t = table({
      experiments: [
        {
          id: 'half',
          population: 0.5,
          cells: { A: { weight: 50, use: 'ranker@5' }, B: { weight: 50, use: 'ranker@7' } },
        },
      ],
    });
    for (let i = 0; i < 3000; i++) {
      const unit = `u${i}`;
      const b = bucketOf('half', unit);
      const o = route(t, req({ unit }));
      const expected = b < 2500 ? 'A' : b < 5000 ? 'B' : undefined;
      expect(o.cell).toBe(expected);
      if (expected === undefined) expect(o.rule).toBe('default');
    }
  });

  it('rollout salt defaults to {objective}:{candidate}; experiment salt to its id, or the given salt', () => {
    const t = table({
      experiments: [{ id: 'salted', salt: 'other', population: 0.3, cells: { A: { weight: 100, use: 'ranker@5' } } }],
      rollout: { candidate: 'ranker@8', percent: 40 },
    });
    for (let i = 0; i < 2000; i++) {
      const unit = `u${i}`;
      const o = route(t, req({ unit }));
      const expected =
        bucketOf('other', unit) < 3000 ? 'ranker@5' : bucketOf('cw:ranker@8', unit) < 4000 ? 'ranker@8' : 'ranker@6';
      expect(o.target.id).toBe(expected);
    }
  });

  it('no unit: allocation uses the random unit the caller supplied', () => {
    const t = table({ rollout: { candidate: 'ranker@8', percent: 50 } });
    for (let i = 0; i < 200; i++) {
      const randomUnit = `r${i}`;
      const o = route(t, req({ unit: undefined, randomUnit }));
      expect(o.target.id).toBe(bucketOf('cw:ranker@8', randomUnit) < 5000 ? 'ranker@8' : 'ranker@6');
    }
  });

  it('no unit: the random unit goes past a bucket memo, which keeps room for units that come back', () => {
    const t = table({ rollout: { candidate: 'ranker@8', percent: 50 } });
    const memo = new BucketMemo(64);
    for (let i = 0; i < 200; i++) {
      const randomUnit = `r${i % 10}`; // even a random unit drawn twice is not remembered
      const o = decide(t, t.objectives.get('cw')!, req({ unit: undefined, randomUnit }), undefined, memo);
      expect(o.target.id).toBe(bucketOf('cw:ranker@8', randomUnit) < 5000 ? 'ranker@8' : 'ranker@6');
    }
    expect(memo.hits + memo.misses + memo.bypassed).toBe(0);
    decide(t, t.objectives.get('cw')!, req({ unit: 'user-1' }), undefined, memo);
    expect(memo.hits + memo.misses + memo.bypassed).toBe(1); // a unit still goes through it
  });
});

describe('explain', () => {
  it('is the decision plus the trail of every step considered, in order', () => {
    const t = table(full);
    const o = t.objectives.get('cw')!;
    const r = req({ unit: 'someone', context: { country: 'US' } });
    const { outcome, trail } = explain(t, o, r);
    expect(outcome).toBe(decide(t, o, r));
    expect(trail.map((e) => `${e.step}:${e.id}:${e.matched}`)).toEqual([
      'pin:pin:false',
      'rule:latam:false',
      'rule:1:false',
      'experiment:cw-42:true',
    ]);
    expect(trail[1]!.reason).toBe('context.country=US not in [BR, MX]');
  });
});

describe('properties', () => {
  const t = table({
    experiments: [
      { id: 'p', population: 0.6, cells: { A: { weight: 30, use: 'ranker@5' }, B: { weight: 70, use: 'ranker@7' } } },
    ],
    rollout: { candidate: 'ranker@8', percent: 25 },
  });

  it('same input, same decision (and the same object: nothing is allocated)', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('BR', 'US', 'MX'), (unit, country) => {
        const r = req({ unit, context: { country } });
        expect(route(t, r)).toBe(route(t, r));
      }),
    );
  });

  it('raising a rollout percent never moves a unit back', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (unit, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const low = route(table({ rollout: { candidate: 'ranker@8', percent: lo } }), req({ unit }));
          const high = route(table({ rollout: { candidate: 'ranker@8', percent: hi } }), req({ unit }));
          if (low.target.id === 'ranker@8') expect(high.target.id).toBe('ranker@8');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('observed shares over 100k units are within statistical tolerance', () => {
    const counts = new Map<string, number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const id = route(t, req({ unit: `unit-${i}` })).target.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Expected: A = 0.6×0.3 = 18%, B = 0.6×0.7 = 42%, rollout takes 25% of the remaining 40% = 10%, default 30%.
    const expected: Record<string, number> = { 'ranker@5': 0.18, 'ranker@7': 0.42, 'ranker@8': 0.1, 'ranker@6': 0.3 };
    for (const [id, p] of Object.entries(expected)) {
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs((counts.get(id) ?? 0) / n - p)).toBeLessThan(5 * sd);
    }
  });

  it('two experiments with different salts allocate independently', () => {
    const n = 40_000;
    let both = 0;
    let first = 0;
    let second = 0;
    for (let i = 0; i < n; i++) {
      const a = bucketOf('exp-one', `u${i}`) < 5000;
      const b = bucketOf('exp-two', `u${i}`) < 5000;
      if (a) first++;
      if (b) second++;
      if (a && b) both++;
    }
    // Independence: P(A∧B) ≈ P(A)·P(B) = 0.25.
    const p = (first / n) * (second / n);
    const sd = Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(both / n - p)).toBeLessThan(5 * sd);
  });
});

describe('compile', () => {
  it('routing cost does not depend on other objectives: each objective has its own table', () => {
    const objectives: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++)
      objectives[`o-${i}`] = { default: 'ranker@6', rules: [{ when: { context: { k: String(i) } }, use: 'ranker@7' }] };
    const t = compileRouting(
      validateConfig({ models: { ranker: { versions: { '6': http(1), '7': http(2) } } }, objectives }),
      1,
    );
    const o = t.objectives.get('o-999')!;
    expect(o.rules).toHaveLength(1);
    expect(decide(t, o, req({ context: { k: '999' } })).target.id).toBe('ranker@7');
  });
});
