import { describe, expect, it } from 'vitest';
import { srmPValue } from '../stats/srm.js';
import { sampleRatio } from './sample-ratio.js';
import { experimentCells, weightPeriods, type RevisionCells } from './weights.js';

const cells = (a: number, b: number): RevisionCells => new Map([['cw', [['A', a] as const, ['B', b] as const]]]);

describe('sample ratio against the weights of the revisions', () => {
  it('does not flag a clean 30/70 split (the issue: p = 2e-217 against an assumed 50/50)', () => {
    const units = [
      { revision: 1, cell: 'A', units: 30_050 },
      { revision: 1, cell: 'B', units: 69_950 },
    ];
    const srm = sampleRatio('cw', ['A', 'B'], units, (r) => (r === 1 ? cells(30, 70) : undefined), undefined);
    expect(srm).toMatchObject({ weights: 'revisions', weightsChanged: false, flagged: false });
    expect(srm.pValue).toBeCloseTo(srmPValue([30_050, 69_950], [30, 70]), 12);
    expect(srm.pValue!).toBeGreaterThan(0.5);
  });

  it('says unknown, never an equal split, without weights', () => {
    const units = [
      { revision: 1, cell: 'A', units: 300 },
      { revision: 1, cell: 'B', units: 700 },
    ];
    const srm = sampleRatio('cw', ['A', 'B'], units, undefined, undefined);
    expect(srm).toMatchObject({ weights: 'unknown', pValue: null, flagged: false });
    expect(srm.reason).toMatch(/--config|--store/);
    // A revision the store no longer has: unknown too, naming it.
    const missing = sampleRatio('cw', ['A', 'B'], units, () => undefined, undefined);
    expect(missing.pValue).toBeNull();
    expect(missing.reason).toMatch(/revision 1 /);
  });

  it('tests each weight period on its own and the run against their mixture', () => {
    const units = [
      { revision: 1, cell: 'A', units: 300 },
      { revision: 1, cell: 'B', units: 700 },
      // Revision 2 changed something else: same weights, same period.
      { revision: 2, cell: 'A', units: 30 },
      { revision: 2, cell: 'B', units: 70 },
      { revision: 3, cell: 'A', units: 500 },
      { revision: 3, cell: 'B', units: 500 },
    ];
    const weights = (r: number) => (r === 3 ? cells(50, 50) : cells(3, 7));
    const srm = sampleRatio('cw', ['A', 'B'], units, weights, undefined);
    expect(srm.weightsChanged).toBe(true);
    expect(srm.periods.map((p) => [p.revisions, p.weights, p.units])).toEqual([
      [[1, 2], { A: 3, B: 7 }, { A: 330, B: 770 }],
      [[3], { A: 50, B: 50 }, { A: 500, B: 500 }],
    ]);
    expect(srm.flagged).toBe(false);
    // Read against 50/50 throughout, the same units would be a glaring mismatch.
    expect(srmPValue([830, 1270], [1, 1])).toBeLessThan(1e-20);
    expect(srm.pValue!).toBeGreaterThan(0.5);
    // A period that does not match its own weights is flagged even when the run looks fine.
    const broken = sampleRatio(
      'cw',
      ['A', 'B'],
      [
        { revision: 1, cell: 'A', units: 700 },
        { revision: 1, cell: 'B', units: 300 },
        { revision: 3, cell: 'A', units: 300 },
        { revision: 3, cell: 'B', units: 700 },
      ],
      (r) => (r === 3 ? cells(70, 30) : cells(30, 70)),
      undefined,
    );
    expect(broken.periods.every((p) => p.flagged)).toBe(true);
    expect(broken.flagged).toBe(true);
  });

  it('reads weights from a stored config source and groups equal proportions', () => {
    const source = {
      objectives: {
        o: { experiments: [{ id: 'cw', cells: { B: { weight: 70, use: 'm@2' }, A: { weight: 30, use: 'm@1' } } }] },
        p: { default: 'm@1' },
      },
    };
    expect(experimentCells(source).get('cw')).toEqual([
      ['B', 70],
      ['A', 30],
    ]);
    const periods = weightPeriods('cw', [4, 1, 1], (r) => (r === 1 ? cells(3, 7) : cells(30, 70)));
    expect(periods).toEqual([{ revisions: [1, 4], weights: { A: 3, B: 7 } }]);
  });
});
