import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { modelUsage } from './model-usage.js';

describe('modelUsage', () => {
  it('lists every version with everything that routes to it, unused ones too', () => {
    const http = (u: string) => ({ backend: { type: 'http', endpoints: [u] } });
    const config = validateConfig({
      models: {
        m: { versions: { '1': http('http://a'), '2': http('http://b'), '3': http('http://c'), '4': http('http://d') } },
      },
      objectives: {
        cw: {
          default: 'm@1',
          pins: { u1: 'm@2' },
          rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'm@2' }],
          experiments: [
            {
              id: 'x',
              population: 1,
              cells: {
                A: { weight: 50, use: 'm@1' },
                B: { weight: 25, use: 'm@3' },
                C: { weight: 25, use: { target: 'm@1', balance: 'least-load' } },
              },
            },
          ],
          rollout: { candidate: { target: 'm@3', balance: 'least-load' }, percent: 5 },
          shadow: [{ use: 'm@2', percent: 10 }],
          policy: { fallback: ['m@2'] },
        },
      },
    });
    const byTarget = Object.fromEntries(modelUsage(config).map((u) => [u.target, u.usedBy]));
    expect(byTarget['m@1']).toEqual([
      { objective: 'cw', as: 'default' },
      { objective: 'cw', as: 'experiment', detail: 'x cell A' },
      { objective: 'cw', as: 'experiment', detail: 'x cell C balance=least-load' },
    ]);
    expect(byTarget['m@2']!.map((u) => u.as)).toEqual(['pin', 'rule', 'shadow', 'fallback']);
    expect(byTarget['m@3']!.map((u) => `${u.as}:${u.detail}`)).toEqual([
      'experiment:x cell B',
      'rollout:5% running balance=least-load',
    ]);
    expect(byTarget['m@4']).toEqual([]);
  });
});
