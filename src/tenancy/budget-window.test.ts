import { describe, expect, it } from 'vitest';
import { BudgetWindows, windowAt, type Per } from './budget-window.js';

const at = (per: Per, instant: string, zone: string) => {
  const w = windowAt(per, Date.parse(instant), zone);
  return { key: w.key, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() };
};

describe('budget windows in a time zone', () => {
  it('a month ends at local midnight of the first, across the spring DST change', () => {
    expect(at('month', '2026-03-31T21:59:59.999Z', 'Europe/Amsterdam')).toEqual({
      key: '2026-03',
      start: '2026-02-28T23:00:00.000Z', // 1 March 00:00 CET (+01:00)
      end: '2026-03-31T22:00:00.000Z', // 1 April 00:00 CEST (+02:00)
    });
    expect(at('month', '2026-03-31T22:00:00.000Z', 'Europe/Amsterdam').key).toBe('2026-04');
  });

  it('a year boundary: the first of January in the zone is still December in UTC', () => {
    expect(at('month', '2026-12-31T23:00:00.000Z', 'Europe/Amsterdam')).toEqual({
      key: '2027-01',
      start: '2026-12-31T23:00:00.000Z',
      end: '2027-01-31T23:00:00.000Z',
    });
    expect(at('day', '2026-12-31T22:59:59.000Z', 'Europe/Amsterdam').key).toBe('2026-12-31');
    expect(at('month', '2026-12-31T23:00:00.000Z', 'UTC').key).toBe('2026-12');
  });

  it('days are 23 and 25 hours long on the DST changes', () => {
    const spring = windowAt('day', Date.parse('2026-03-29T12:00:00Z'), 'Europe/Amsterdam');
    expect(new Date(spring.start).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect((spring.end - spring.start) / 3600_000).toBe(23);
    const autumn = windowAt('day', Date.parse('2026-10-25T12:00:00Z'), 'Europe/Amsterdam');
    expect(new Date(autumn.start).toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect((autumn.end - autumn.start) / 3600_000).toBe(25);
    const ny = windowAt('day', Date.parse('2026-03-08T12:00:00Z'), 'America/New_York');
    expect([new Date(ny.start).toISOString(), (ny.end - ny.start) / 3600_000]).toEqual([
      '2026-03-08T05:00:00.000Z',
      23,
    ]);
  });

  it('a zone that skips midnight begins the day at the first valid time', () => {
    // Chile moves 00:00 → 01:00 on the first Sunday of September.
    expect(at('day', '2026-09-06T12:00:00Z', 'America/Santiago')).toEqual({
      key: '2026-09-06',
      start: '2026-09-06T04:00:00.000Z',
      end: '2026-09-07T03:00:00.000Z',
    });
  });

  it('half-hour zones, and the last instant of a day belongs to it', () => {
    expect(at('day', '2026-12-02T20:00:00Z', 'Asia/Kolkata')).toEqual({
      key: '2026-12-03',
      start: '2026-12-02T18:30:00.000Z',
      end: '2026-12-03T18:30:00.000Z',
    });
    expect(at('day', '2026-12-02T18:29:59.999Z', 'Asia/Kolkata').key).toBe('2026-12-02');
  });

  it('February of a leap year, and the 31st rolling into the next month', () => {
    expect(at('month', '2028-02-29T12:00:00Z', 'UTC')).toEqual({
      key: '2028-02',
      start: '2028-02-01T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
    expect(at('day', '2026-01-31T12:00:00Z', 'UTC').end).toBe('2026-02-01T00:00:00.000Z');
  });

  it('the current window is remembered until it ends, then the next one is made', () => {
    const windows = new BudgetWindows();
    const t = Date.parse('2026-03-31T21:00:00Z');
    const a = windows.at('month', 'Europe/Amsterdam', t);
    expect(windows.at('month', 'Europe/Amsterdam', t + 1000)).toBe(a);
    const b = windows.at('month', 'Europe/Amsterdam', a.end);
    expect(b.key).toBe('2026-04');
    expect(b.start).toBe(a.end);
    // A clock set back (a replica corrected by NTP) is answered too.
    expect(windows.at('month', 'Europe/Amsterdam', t).key).toBe('2026-03');
  });
});
