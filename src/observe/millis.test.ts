import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/support/seeded.js';
import { millis3 } from './millis.js';

const reference = (ms: number): string => String(Math.round(ms * 1000) / 1000);

describe('millis3', () => {
  it('prints a duration exactly as String(Math.round(ms * 1000) / 1000) does', () => {
    const edges = [
      0,
      -0,
      0.0004,
      0.0005,
      0.001,
      0.009,
      0.01,
      0.05,
      0.1,
      0.12,
      0.123,
      0.5,
      0.999,
      0.9995,
      1,
      1.5,
      1.05,
      1.005,
      2.1,
      10,
      99.99,
      100.1,
      123.4567891,
      1000,
      2 ** 31 / 1000 - 0.001,
      2 ** 31 / 1000,
      2 ** 31 / 1000 + 0.5,
      1e9,
      1e21,
      -1.25,
      -0.0004,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    for (const ms of edges) expect(millis3(ms), String(ms)).toBe(reference(ms));
    const random = seeded(7);
    const samples: number[] = [];
    for (let i = 0; i < 200_000; i++) samples.push(random() * 10 ** Math.floor(random() * 7)); // 0–1 ms up to 0–1e6 ms
    for (let us = 0; us < 20_000; us++) samples.push(us / 1000);
    expect(samples.filter((ms) => millis3(ms) !== reference(ms))).toEqual([]);
  });
});
