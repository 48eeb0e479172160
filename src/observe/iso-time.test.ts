import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/support/seeded.js';
import { IsoTime } from './iso-time.js';

describe('IsoTime', () => {
  it('formats exactly as Date#toISOString, across seconds, minutes and days, whatever the order of calls', () => {
    const iso = new IsoTime();
    const base = Date.UTC(2026, 10, 30, 23, 59, 58, 0);
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001.9, 1999.5, 2000, 2001, 86_400_000 + 5, 7.25, 1500];
    for (const t of times) expect(iso.format(base + t)).toBe(new Date(base + t).toISOString());
    const random = seeded(11);
    for (let i = 0; i < 5000; i++) {
      const t = base + random() * 5000;
      expect(iso.format(t)).toBe(new Date(t).toISOString());
    }
    expect(iso.format(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
