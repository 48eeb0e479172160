// The calendar windows budgets count over (SPEC §16): a day or a month in the
// config's `timeZone`, read through Intl (no time-zone library). A window has
// a key (`2026-12`, `2026-12-03`: its counter's name) and ends at the next
// local midnight, or the next first of the month: the reset time a refusal
// names. Days are 23 or 25 hours long across a DST change; they begin at the
// first instant of the local date (a zone that skips midnight begins the day
// at the first valid time after it).
//
// Each replica reads its own clock: a replica whose clock is s seconds off
// moves to the next window s seconds early (or late), so calls it ends in that
// stretch count in the neighbouring window. The error is bounded by the skew
// times that replica's spend rate; it never loses a call (every call counts
// in exactly one window, the one of the instant it was admitted).

export type Per = 'day' | 'month';

export interface BudgetWindow {
  /** `2026-12` (month) or `2026-12-03` (day), in the zone. */
  readonly key: string;
  /** First instant of the window, ms since the epoch. */
  readonly start: number;
  /** First instant after it (the reset time), ms since the epoch. */
  readonly end: number;
}

/** The local date and time at `utcMs` in the zone a formatter was made for. */
function localParts(fmt: Intl.DateTimeFormat, utcMs: number): number[] {
  const out = [0, 0, 0, 0, 0, 0];
  for (const p of fmt.formatToParts(utcMs)) {
    const at = PART_INDEX[p.type];
    if (at !== undefined) out[at] = Number(p.value);
  }
  return out; // year, month, day, hour, minute, second
}

const PART_INDEX: Readonly<Record<string, number>> = Object.freeze({
  year: 0,
  month: 1,
  day: 2,
  hour: 3,
  minute: 4,
  second: 5,
});

function formatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

/** The zone's offset from UTC at `utcMs`, in ms (positive east of Greenwich). */
function offsetMs(fmt: Intl.DateTimeFormat, utcMs: number): number {
  const [y, mo, d, h, mi, s] = localParts(fmt, utcMs) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/** The first instant of local midnight starting `year-month-day` (month may be 13: January of the next year). */
function localMidnight(fmt: Intl.DateTimeFormat, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month - 1, day);
  // Two rounds settle the offset across a DST change between the guess and the answer.
  let utc = wall - offsetMs(fmt, wall);
  utc = wall - offsetMs(fmt, utc);
  // A zone that skips midnight (its clocks jump 00:00 → 01:00): the guess lands in the day before; step on.
  const [, , d] = localParts(fmt, utc);
  if (d !== new Date(wall).getUTCDate()) utc += 3600_000;
  return utc;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The window of `per` that `utcMs` falls in, in the zone of `fmt`. */
export function windowAt(per: Per, utcMs: number, timeZone: string, fmt = formatter(timeZone)): BudgetWindow {
  const [y, m, d] = localParts(fmt, utcMs) as [number, number, number];
  if (per === 'month') {
    return { key: `${y}-${pad(m)}`, start: localMidnight(fmt, y, m, 1), end: localMidnight(fmt, y, m + 1, 1) };
  }
  // Date.UTC rolls day 32 into the next month, and month 13 into the next year.
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return {
    key: `${y}-${pad(m)}-${pad(d)}`,
    start: localMidnight(fmt, y, m, d),
    end: localMidnight(fmt, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  };
}

/**
 * The current windows, remembered until they end: on the request path a
 * window is two comparisons, not an Intl call (≈ 2 µs each). One per Junction.
 */
export class BudgetWindows {
  private readonly formats = new Map<string, Intl.DateTimeFormat>();
  private readonly current = new Map<string, BudgetWindow>();

  at(per: Per, timeZone: string, now: number): BudgetWindow {
    const id = `${per}\u0001${timeZone}`;
    const w = this.current.get(id);
    if (w !== undefined && now >= w.start && now < w.end) return w;
    let fmt = this.formats.get(timeZone);
    if (fmt === undefined) this.formats.set(timeZone, (fmt = formatter(timeZone)));
    const next = windowAt(per, now, timeZone, fmt);
    this.current.set(id, next);
    return next;
  }
}
