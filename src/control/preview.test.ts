// The preview's replay: every count is checked against buckets computed here
// from SPEC §3's formula, not against the replay's own routing.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { bucketOf } from '../routing/bucket.js';
import { compileRouting } from '../routing/compile.js';
import { Replay } from './preview.js';

const http = (port: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${port}`] } });

function config(objective: Record<string, unknown>) {
  return {
    models: { m: { versions: { '1': http(9001), '2': http(9002), '3': http(9003) } } },
    objectives: { cw: { default: 'm@1', ...objective } },
  };
}

function replayOf(before: unknown, after: unknown, healthy: (t: string) => boolean | undefined = () => true) {
  return new Replay({
    before: compileRouting(validateConfig(before), 1),
    after: compileRouting(validateConfig(after), 2),
    healthy,
  });
}

function line(unit: string | null, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    time: '2026-12-03T10:00:00.000Z',
    requestId: `r-${unit ?? Math.random()}`,
    via: 'invoke',
    objective: 'cw',
    unit,
    context: {},
    rule: 'default',
    experiment: null,
    cell: null,
    target: 'm@1',
    trafficClass: 'live',
    status: 200,
    ...extra,
  });
}

const UNITS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

describe('change preview replay', () => {
  it('counts the units and requests that change target exactly, and traffic per target before and after', () => {
    const r = replayOf(
      config({ rollout: { candidate: 'm@2', percent: 20 } }),
      config({ rollout: { candidate: 'm@2', percent: 50 } }),
    );
    for (const u of UNITS) {
      r.line(line(u));
      r.line(line(u)); // every unit twice: units are distinct, requests are not
    }
    const moving = UNITS.filter((u) => {
      const b = bucketOf('cw:m@2', u);
      return b >= 2000 && b < 5000;
    }).length;
    const onCandidate = UNITS.filter((u) => bucketOf('cw:m@2', u) < 2000).length;
    expect(moving).toBeGreaterThan(400); // the fixture means something
    const [o] = r.objectives();
    expect(o).toMatchObject({
      objective: 'cw',
      requests: 4000,
      units: 2000,
      changedRequests: 2 * moving,
      changedUnits: moving,
      shareUnitsChanged: Math.round((moving / 2000) * 10_000) / 10_000,
      breaks: [],
      unhealthy: [],
      removed: false,
    });
    expect(o!.targets).toEqual([
      { target: 'm@1', before: 2 * (2000 - onCandidate), after: 2 * (2000 - onCandidate - moving), healthy: true },
      { target: 'm@2', before: 2 * onCandidate, after: 2 * (onCandidate + moving), healthy: true },
    ]);
    expect(o!.rollouts).toEqual([
      { candidate: 'm@2', candidateAfter: 'm@2', from: 20, to: 50, unitsBack: 0, backwards: false },
    ]);
    expect(r.decisions).toBe(4000);
  });

  it('replays the logged context through a new rule: only the requests it matches move', () => {
    const r = replayOf(
      config({}),
      config({ rules: [{ id: 'latam', when: { context: { country: ['BR', 'MX'] } }, use: 'm@3' }] }),
    );
    r.line(line('a', { context: { country: 'BR' } }));
    r.line(line('a', { context: { country: 'US' } }));
    r.line(line('b', { context: { country: 'MX' } }));
    r.line(line('c', { context: {} }));
    const [o] = r.objectives();
    expect(o).toMatchObject({ requests: 4, units: 3, changedRequests: 2, changedUnits: 2 });
    expect(o!.targets).toEqual([
      { target: 'm@1', before: 4, after: 2, healthy: true },
      { target: 'm@3', before: 0, after: 2, healthy: true },
    ]);
  });

  it('names an experiment whose exposed units would change cell, with the moves, counting live units only', () => {
    const experiment = (a: number, population = 0.2) => ({
      experiments: [
        { id: 'cw-42', population, cells: { A: { weight: a, use: 'm@1' }, B: { weight: 100 - a, use: 'm@2' } } },
      ],
    });
    const r = replayOf(config(experiment(50)), config(experiment(30)));
    for (const u of UNITS) r.line(line(u));
    for (const u of UNITS.slice(0, 500)) r.line(line(u, { trafficClass: 'test', requestId: `t-${u}` }));
    // A: [0, 1000) → [0, 600): units in [600, 1000) move from A to B.
    const live = UNITS.filter((u) => {
      const b = bucketOf('cw-42', u);
      return b >= 600 && b < 1000;
    }).length;
    expect(live).toBeGreaterThan(20);
    const [o] = r.objectives();
    expect(o!.breaks).toEqual([{ experiment: 'cw-42', units: live, cells: [{ from: 'A', to: 'B', units: live }] }]);
    // A grown population moves units too (cells are ranges of it), and units leaving it count with to: null.
    const shrunk = replayOf(config(experiment(50, 0.2)), config(experiment(50, 0.1)));
    for (const u of UNITS) shrunk.line(line(u));
    const out = UNITS.filter((u) => {
      const b = bucketOf('cw-42', u);
      return b >= 500 && b < 2000;
    });
    const aToB = out.filter((u) => bucketOf('cw-42', u) < 1000).length; // [500, 1000): A before, B after
    const cells = shrunk.objectives()[0]!.breaks[0]!.cells;
    expect(cells).toEqual([
      { from: 'A', to: 'B', units: aToB },
      { from: 'B', to: null, units: out.length - aToB },
    ]);
    // Ending the experiment (removing it) leaves nothing to read out: not a break.
    const ended = replayOf(config(experiment(50)), config({}));
    for (const u of UNITS) ended.line(line(u));
    expect(ended.objectives()[0]!.breaks).toEqual([]);
    expect(ended.objectives()[0]!.changedUnits).toBeGreaterThan(0);
  });

  it('says a rollout moves backwards, with the units that leave its candidate', () => {
    const r = replayOf(
      config({ rollout: { candidate: 'm@2', percent: 50 } }),
      config({ rollout: { candidate: 'm@2', percent: 20 } }),
    );
    for (const u of UNITS) r.line(line(u));
    const back = UNITS.filter((u) => {
      const b = bucketOf('cw:m@2', u);
      return b >= 2000 && b < 5000;
    }).length;
    expect(r.objectives()[0]!.rollouts).toEqual([
      { candidate: 'm@2', candidateAfter: 'm@2', from: 50, to: 20, unitsBack: back, backwards: true },
    ]);
    // Promoting the candidate (it becomes the default, the rollout ends) moves nobody back.
    const promoted = replayOf(config({ rollout: { candidate: 'm@2', percent: 50 } }), {
      ...config({}),
      objectives: { cw: { default: 'm@2' } },
    });
    for (const u of UNITS) promoted.line(line(u));
    expect(promoted.objectives()[0]!.rollouts[0]).toMatchObject({ from: 50, to: 0, unitsBack: 0, backwards: false });
  });

  it('counts the traffic that would land on a target with no healthy replica', () => {
    const r = replayOf(config({}), config({ rules: [{ when: { context: { device: 'tv' } }, use: 'm@3' }] }), (t) =>
      t === 'm@3' ? false : t === 'm@1' ? true : undefined,
    );
    for (let i = 0; i < 7; i++) r.line(line(`u${i}`, { context: { device: 'tv' } }));
    r.line(line('x'));
    const [o] = r.objectives();
    expect(o!.unhealthy).toEqual([{ target: 'm@3', requests: 7 }]);
    expect(o!.targets.find((t) => t.target === 'm@3')).toEqual({ target: 'm@3', before: 0, after: 7, healthy: false });
  });

  it('skips and counts corrupt lines, rollout events and unknown objectives; an empty replay says so', () => {
    const r = replayOf(config({}), config({ default: 'm@2' }));
    r.line('not json');
    r.line('{"time":"2026-12-03T10:00:00.000Z","requestId":"r-1","via":"inv'); // cut mid-line
    r.line('[1,2]');
    r.line(JSON.stringify({ time: 'x', event: 'rollout', objective: 'cw', candidate: 'm@2' }));
    r.line(line('a', { objective: 'gone' }));
    expect(r.skipped).toEqual({ corrupt: 3, notDecisions: 1, unknownObjective: 1 });
    expect(r.decisions).toBe(0);
    expect(r.objectives()).toEqual([]);
    r.line(line('a'));
    expect(r.objectives()[0]).toMatchObject({ requests: 1, changedRequests: 1, changedUnits: 1 });
  });

  it('keeps an override as it was, and allocates a request without a unit by its request id on both sides', () => {
    const r = replayOf(
      config({ rollout: { candidate: 'm@2', percent: 30 } }),
      config({ rollout: { candidate: 'm@2', percent: 30 } }),
    );
    r.line(line('a', { rule: 'override', target: 'm@3' }));
    for (let i = 0; i < 100; i++) r.line(line(null, { requestId: `req-${i}` }));
    const [o] = r.objectives();
    expect(o).toMatchObject({ requests: 101, units: 1, changedRequests: 0 });
    const onCandidate = Array.from({ length: 100 }, (_, i) => bucketOf('cw:m@2', `req-${i}`) < 3000).filter(
      Boolean,
    ).length;
    expect(o!.targets.find((t) => t.target === 'm@2')!.before).toBe(onCandidate);
    expect(o!.targets.find((t) => t.target === 'm@3')).toMatchObject({ before: 1, after: 1 });
  });
});
