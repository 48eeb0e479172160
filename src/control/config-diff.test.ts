import { describe, expect, it } from 'vitest';
import { configDiff, formatDiff } from './config-diff.js';

describe('configDiff', () => {
  it('names each changed path once: added, removed, changed', () => {
    const before = {
      objectives: { cw: { default: 'm@1', pins: { u1: 'm@1' } } },
      models: { m: { versions: { '1': {}, '5': {} } } },
    };
    const after = {
      objectives: { cw: { default: 'm@2', rollout: { candidate: 'm@2', percent: 1 } } },
      models: { m: { versions: { '1': {} } } },
    };
    expect(configDiff(before, after)).toEqual([
      '- objectives.cw.pins',
      '~ objectives.cw.default: "m@1" → "m@2"',
      '+ objectives.cw.rollout: {"candidate":"m@2","percent":1}',
      '- models.m.versions.5',
    ]);
  });

  it('ignores key order; arrays compare as values', () => {
    expect(configDiff({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toEqual([]);
    expect(configDiff({ b: [1, 2] }, { b: [2, 1] })).toEqual(['~ b: [1,2] → [2,1]']);
    expect(formatDiff([])).toBe('(no changes)');
  });

  it('the first revision lists what it adds', () => {
    expect(configDiff(undefined, { models: {}, objectives: {} })).toEqual(['+ models: {}', '+ objectives: {}']);
  });

  it('a rollout candidate turned into a balancer arm, and its balancer changed, read as such', () => {
    const rollout = (candidate: unknown) => ({ objectives: { c: { rollout: { candidate, percent: 5 } } } });
    expect(configDiff(rollout('llm@2'), rollout({ target: 'llm@1', balance: 'prefix' }))).toEqual([
      '~ objectives.c.rollout.candidate: "llm@2" → {"target":"llm@1","balance":"prefix"}',
    ]);
    expect(
      configDiff(rollout({ target: 'llm@1', balance: 'prefix' }), rollout({ target: 'llm@1', balance: 'least-load' })),
    ).toEqual(['~ objectives.c.rollout.candidate.balance: "prefix" → "least-load"']);
  });
});
