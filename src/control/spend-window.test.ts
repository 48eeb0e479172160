import { describe, expect, it } from 'vitest';
import { monthStart, parseWhen, spendWindow, zonedTime } from './spend-window.js';

describe('spend windows in the time zone', () => {
  it('start the month at midnight where the budget lives', () => {
    const now = new Date('2026-12-03T17:00:00Z');
    expect(monthStart(now, 'UTC').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(monthStart(now, 'Europe/Amsterdam').toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(monthStart(now, 'America/New_York').toISOString()).toBe('2026-12-01T05:00:00.000Z');
    // Just past midnight on the 1st in Amsterdam is still November in UTC: the month is December there.
    expect(monthStart(new Date('2026-11-30T23:30:00Z'), 'Europe/Amsterdam').toISOString()).toBe(
      '2026-11-30T23:00:00.000Z',
    );
    expect(monthStart(new Date('2026-12-03T17:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2026-11-30T18:30:00.000Z');
  });

  it('reads wall-clock times across daylight-saving changes', () => {
    // Summer time in Amsterdam is UTC+2, winter UTC+1.
    expect(zonedTime('Europe/Amsterdam', 2026, 7, 1).toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(zonedTime('Europe/Amsterdam', 2026, 3, 29, 12).toISOString()).toBe('2026-03-29T10:00:00.000Z');
    expect(zonedTime('Europe/Amsterdam', 2026, 10, 25, 12).toISOString()).toBe('2026-10-25T11:00:00.000Z');
  });

  it('parses dates, zoned times and local times, and refuses what is not a time', () => {
    const tz = 'Europe/Amsterdam';
    expect(parseWhen('2026-12-01', tz, 'from').toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(parseWhen('2026-12-01T09:30:00Z', tz, 'from').toISOString()).toBe('2026-12-01T09:30:00.000Z');
    expect(parseWhen('2026-12-01T09:30:00+05:30', tz, 'from').toISOString()).toBe('2026-12-01T04:00:00.000Z');
    expect(parseWhen('2026-12-01T09:30', tz, 'from').toISOString()).toBe('2026-12-01T08:30:00.000Z');
    for (const bad of ['yesterday', '2026-02-30', '2026-13-01', '2026-12-01T25:00', '1733000000'])
      expect(() => parseWhen(bad, tz, 'from')).toThrow(/from/);
  });

  it('defaults to this month so far, and wants to after from', () => {
    const now = new Date('2026-12-03T17:00:00Z');
    expect(spendWindow(new URLSearchParams(), 'UTC', now)).toEqual({
      from: new Date('2026-12-01T00:00:00Z'),
      to: now,
    });
    expect(() => spendWindow(new URLSearchParams({ from: '2026-12-02', to: '2026-12-01' }), 'UTC', now)).toThrow(
      /must be after/,
    );
  });
});
