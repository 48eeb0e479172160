// Which context keys the decision log writes (SPEC §18 decisionLog.context).
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { ContextFilters, contextFilter, contextJson } from './decision-context.js';

const objective = validateConfig({
  models: { m: { versions: { '1': { backend: { type: 'http', endpoints: ['http://127.0.0.1:1'] } } } } },
  objectives: {
    cw: {
      default: 'm@1',
      rules: [{ when: { context: { country: ['BR'] } }, use: 'm@1' }],
      experiments: [
        { id: 'e', population: 1, when: { context: { device: 'tv' } }, cells: { A: { weight: 100, use: 'm@1' } } },
      ],
    },
  },
}).objectives.cw!;

const sent = { country: 'BR', device: 'tv', email: 'a@b.c', plan: 'pro' };

describe('decision log context', () => {
  it('keeps by default only the keys the rules and experiments read', () => {
    expect(JSON.parse(contextJson(sent, contextFilter(objective, undefined)))).toEqual({ country: 'BR', device: 'tv' });
  });

  it('keep adds keys or all of them; never removes keys whoever reads them', () => {
    const keep = contextFilter(objective, { context: { keep: ['plan'], never: ['device'] } });
    expect(JSON.parse(contextJson(sent, keep))).toEqual({ country: 'BR', plan: 'pro' });
    const all = contextFilter(objective, { context: { keep: 'all', never: ['email'] } });
    expect(JSON.parse(contextJson(sent, all))).toEqual({ country: 'BR', device: 'tv', plan: 'pro' });
    expect(contextJson({ 'x"y': 'a\\b' }, contextFilter(objective, { context: { keep: ['x"y'], never: [] } }))).toBe(
      JSON.stringify({ 'x"y': 'a\\b' }),
    );
  });

  it('is worked out once per objective and revision', () => {
    const config = { decisionLog: { context: { keep: [], never: ['country'] } } };
    let live = { objectives: new Map([['cw', { compiled: { config: objective } }]]), config };
    const filters = new ContextFilters(() => live);
    const first = filters.of('cw');
    expect(filters.of('cw')).toBe(first);
    expect([...first!.keep]).toEqual(['device']);
    // An objective the revision lacks still honours never.
    expect(JSON.parse(contextJson(sent, filters.of('gone')))).toEqual({});
    live = { ...live, config: { decisionLog: { context: { keep: [], never: [] } } } };
    expect([...filters.of('cw')!.keep].sort()).toEqual(['country', 'device']);
  });
});
