import { describe, expect, it } from 'vitest';
import type { JunctionError } from '../errors.js';
import { applyRolloutAction, promotedBalance } from './rollout-actions.js';

const doc = (rollout?: object) => ({ objectives: { cw: { default: 'm@1', ...(rollout ? { rollout } : {}) } } });

describe('rollout actions', () => {
  it('start sets the percent to the first step and running, without touching the input', () => {
    const src = doc({ candidate: 'm@2', percent: 40, steps: [5, 25, 100], state: 'paused' });
    const out = applyRolloutAction(src, 'cw', 'start') as ReturnType<typeof doc>;
    expect(out.objectives.cw).toEqual({
      default: 'm@1',
      rollout: { candidate: 'm@2', percent: 5, steps: [5, 25, 100], state: 'running' },
    });
    expect((src.objectives.cw as { rollout: { percent: number } }).rollout.percent).toBe(40);
  });

  it('start creates a rollout for a named candidate', () => {
    const out = applyRolloutAction(doc(), 'cw', 'start', { candidate: 'm@2', steps: [2, 50] }) as ReturnType<
      typeof doc
    >;
    expect(out.objectives.cw).toEqual({
      default: 'm@1',
      rollout: { candidate: 'm@2', percent: 2, steps: [2, 50], state: 'running' },
    });
  });

  it('pause and resume flip the state', () => {
    const paused = applyRolloutAction(doc({ candidate: 'm@2', percent: 5 }), 'cw', 'pause');
    expect(paused).toEqual(doc({ candidate: 'm@2', percent: 5, state: 'paused' }));
    expect(applyRolloutAction(paused, 'cw', 'resume')).toEqual(doc({ candidate: 'm@2', percent: 5, state: 'running' }));
  });

  it('promote makes the candidate the default; abort removes the rollout', () => {
    expect(applyRolloutAction(doc({ candidate: 'm@2', percent: 5 }), 'cw', 'promote')).toEqual({
      objectives: { cw: { default: 'm@2' } },
    });
    expect(applyRolloutAction(doc({ candidate: 'm@2', percent: 5 }), 'cw', 'abort')).toEqual(doc());
  });

  it('refuses actions that make no sense, with a code', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as JunctionError).code;
      }
      return 'none';
    };
    expect(code(() => applyRolloutAction(doc(), 'cw', 'pause'))).toBe('invalid_request');
    expect(code(() => applyRolloutAction(doc(), 'cw', 'start'))).toBe('invalid_request');
    expect(code(() => applyRolloutAction(doc(), 'nope', 'abort'))).toBe('objective_not_found');
  });

  it('promoting a { target, balance } candidate makes the target the default and writes the balancer onto its backend', () => {
    const src = {
      models: {
        chat: { versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints: ['http://a'] } } } },
      },
      objectives: {
        chat: { default: 'chat@1', rollout: { candidate: { target: 'chat@1', balance: 'prefix' }, percent: 100 } },
        other: { default: 'chat@1' },
      },
    };
    expect(promotedBalance(src, 'chat')).toEqual({ target: 'chat@1', balance: 'prefix', alsoObjectives: ['other'] });
    expect(applyRolloutAction(src, 'chat', 'promote')).toEqual({
      models: {
        chat: {
          versions: {
            '1': { backend: { type: 'http', protocol: 'openai', endpoints: ['http://a'], balance: 'prefix' } },
          },
        },
      },
      objectives: { chat: { default: 'chat@1' }, other: { default: 'chat@1' } },
    });
    expect(promotedBalance(doc({ candidate: 'm@2' }), 'cw')).toBeUndefined();
    // start keeps a rollout of the same arm as it is, and replaces one of another arm
    const started = applyRolloutAction(src, 'chat', 'start', {
      candidate: { target: 'chat@1', balance: 'least-load' },
    });
    expect((started.objectives as Record<string, { rollout: unknown }>).chat!.rollout).toEqual({
      candidate: { target: 'chat@1', balance: 'least-load' },
      percent: 1,
      state: 'running',
    });
  });
});
