import { describe, expect, it } from 'vitest';
import { bucketOf } from './bucket.js';
import { BucketMemo } from './bucket-memo.js';
import { compileRouting } from './compile.js';
import { decide } from './decide.js';
import { validateConfig } from '../config/load.js';

const SALTS = ['cw-42', 'continue-watching-ranking:ranker@7', 'exp-0'];

describe('BucketMemo', () => {
  it('answers exactly what bucketOf computes, first sighting, second (admitted) and later (remembered)', () => {
    const memo = new BucketMemo(256);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 100; i++) {
        for (const salt of SALTS) expect(memo.bucketOf(salt, `user-${i}`)).toBe(bucketOf(salt, `user-${i}`));
      }
    }
    expect(memo.hits).toBeGreaterThan(0);
    expect(memo.misses).toBeGreaterThan(0);
  });

  it('remembers units that come back: after two sightings every lookup is a hit', () => {
    const memo = new BucketMemo(1000);
    const units = Array.from({ length: 200 }, (_, i) => `u${i}`);
    for (let round = 0; round < 2; round++) for (const u of units) memo.bucketOf('s', u);
    const misses = memo.misses;
    for (let round = 0; round < 5; round++) for (const u of units) expect(memo.bucketOf('s', u)).toBe(bucketOf('s', u));
    expect(memo.misses).toBe(misses);
    expect(memo.size).toBe(200);
  });

  it('never holds more than its capacity, whatever comes through', () => {
    const memo = new BucketMemo(64);
    for (let i = 0; i < 5000; i++) {
      // Twice in a row: past the doorkeeper, so every pair is admitted.
      memo.bucketOf(SALTS[i % 3]!, `unit-${i}`);
      memo.bucketOf(SALTS[i % 3]!, `unit-${i}`);
      expect(memo.size).toBeLessThanOrEqual(64);
    }
    expect(memo.size).toBeGreaterThan(0);
  });

  it('does not admit a unit seen once (most of them: the doorkeeper is a bitset)', () => {
    const memo = new BucketMemo(100_000);
    for (let i = 0; i < 1000; i++) memo.bucketOf('s', `once-${i}`);
    expect(memo.size).toBeLessThan(100);
  });

  it('steps aside for units that never come back, and comes back when they do', () => {
    const memo = new BucketMemo(4096);
    let wrong = 0;
    for (let i = 0; i < 50_000; i++)
      if (memo.bucketOf('s', `distinct-${i}`) !== bucketOf('s', `distinct-${i}`)) wrong++;
    expect(memo.bypassed).toBeGreaterThan(40_000);
    const units = Array.from({ length: 50 }, (_, i) => `back-${i}`);
    const expected = units.map((u) => bucketOf('s', u));
    for (let round = 0; round < 2000; round++)
      units.forEach((u, i) => {
        if (memo.bucketOf('s', u) !== expected[i]) wrong++;
      });
    expect(wrong).toBe(0);
    const { hits, bypassed } = memo;
    for (const u of units) memo.bucketOf('s', u);
    expect(memo.hits - hits).toBe(units.length);
    expect(memo.bypassed).toBe(bypassed);
  });

  it('rejects a capacity that cannot hold two generations', () => {
    expect(() => new BucketMemo(1)).toThrow(RangeError);
    expect(() => new BucketMemo(3)).toThrow(RangeError); // it would never admit a unit
    expect(() => new BucketMemo(64)).not.toThrow();
    expect(() => new BucketMemo(2.5)).toThrow(RangeError);
  });

  it('decide gives the same outcome with and without a memo', () => {
    const http = (port: number) => ({ backend: { type: 'http', endpoints: [`http://127.0.0.1:${port}`] } });
    const table = compileRouting(
      validateConfig({
        models: { ranker: { versions: { '5': http(1), '6': http(2), '7': http(3), '8': http(4) } } },
        objectives: {
          cw: {
            default: 'ranker@6',
            experiments: [
              {
                id: 'cw-42',
                population: 0.6,
                cells: { A: { weight: 30, use: 'ranker@5' }, B: { weight: 70, use: 'ranker@7' } },
              },
            ],
            rollout: { candidate: 'ranker@8', percent: 35 },
          },
        },
      }),
      1,
    );
    const o = table.objectives.get('cw')!;
    const memo = new BucketMemo(128);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 500; i++) {
        const req = { unit: `user-${i % 150}`, context: {}, trafficClass: 'live' as const };
        expect(decide(table, o, req, undefined, memo)).toBe(decide(table, o, req));
      }
    }
    expect(memo.hits).toBeGreaterThan(0);
  });
});
