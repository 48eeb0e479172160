import { describe, expect, it } from 'vitest';
import { describeRollout } from './rollout.js';

describe('describeRollout', () => {
  it('shows each gate with its value, threshold and verdict under the controller line', () => {
    const text = describeRollout({
      objective: 'cw',
      revision: 7,
      default: 'm@1',
      rollout: { candidate: 'm@2', percent: 25, state: 'running', steps: [5, 25, 100] },
      controller: {
        kind: 'hold',
        reason: 'waiting on maxScoreDrift: scores sampled: candidate 120, baseline 900 (500 each needed)',
        gates: [
          { gate: 'maxErrorRateIncrease', value: 0.00123456, threshold: 0.01, verdict: 'pass' },
          { gate: 'maxScoreDrift', value: null, threshold: 0.2, verdict: 'wait' },
        ],
      },
    });
    expect(text).toBe(
      [
        'cw: m@2 at 25% (running, steps 5→25→100); default m@1 (revision 7)',
        '  controller: hold (waiting on maxScoreDrift: scores sampled: candidate 120, baseline 900 (500 each needed))',
        '  gates:',
        '    maxErrorRateIncrease   0.00123  threshold 0.01   pass',
        '    maxScoreDrift                -  threshold 0.2    wait',
      ].join('\n'),
    );
  });

  it('names a balancer candidate as its arm', () => {
    expect(
      describeRollout({
        objective: 'chat',
        revision: 3,
        default: 'llm@1',
        rollout: { candidate: { target: 'llm@1', balance: 'prefix' }, percent: 10, state: 'running' },
      }),
    ).toBe('chat: llm@1 balance=prefix at 10% (running); default llm@1 (revision 3)');
  });
});
