import { describe, expect, it } from 'vitest';
import { comparatorFor, exact, numeric, topkOverlap } from './shadow-compare.js';

const j = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('shadow comparators', () => {
  it('exact agrees only on identical bytes', () => {
    expect(exact(j({ a: 1 }), j({ a: 1 }))).toEqual({ agreement: 1, agree: true });
    expect(exact(j({ a: 1 }), j({ a: 2 }))).toEqual({ agreement: 0, agree: false });
  });

  it('numeric compares every number within the tolerance, in document order', () => {
    const cmp = numeric(0.01);
    expect(cmp(j({ scores: [0.5, 0.25] }), j({ scores: [0.505, 0.25] })).agree).toBe(true);
    const off = cmp(j({ scores: [0.5, 0.25] }), j({ scores: [0.6, 0.25] }));
    expect(off).toEqual({ agreement: 0.5, agree: false });
    expect(cmp(j([1, 2, 3]), j([1, 2])).agreement).toBeCloseTo(2 / 3);
  });

  it('numeric on documents without numbers falls back to exact', () => {
    expect(numeric(1)(j({ a: 'x' }), j({ a: 'y' })).agree).toBe(false);
  });

  it('topk-overlap measures the shared share of the first k items of the first list', () => {
    const cmp = topkOverlap(3, 0);
    const live = j({ titles: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }] });
    expect(cmp(live, j({ titles: [{ id: 'c' }, { id: 'a' }, { id: 'b' }] }))).toEqual({ agreement: 1, agree: true });
    const partial = cmp(live, j({ titles: [{ id: 'a' }, { id: 'x' }, { id: 'y' }] }));
    expect(partial.agreement).toBeCloseTo(1 / 3);
    expect(partial.agree).toBe(false);
    expect(topkOverlap(3, 0.7)(live, j({ titles: [{ id: 'a' }, { id: 'x' }, { id: 'y' }] })).agree).toBe(true);
    expect(cmp(j(['x', 'y']), j(['y', 'x'])).agree).toBe(true);
  });

  it('bodies that are not JSON never throw', () => {
    expect(numeric(0)(Buffer.from('{'), Buffer.from('nope')).agree).toBe(false);
    expect(topkOverlap(2, 0)(Buffer.from('{'), Buffer.from('[')).agree).toBe(false);
  });

  it('an objective without compare gets no comparator', () => {
    expect(comparatorFor({ use: 'm@1', percent: 10 })).toBeUndefined();
    expect(comparatorFor({ use: 'm@1', percent: 10, compare: 'numeric' })).toBeTypeOf('function');
  });
});
