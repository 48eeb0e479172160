// Windows of GET /admin/spend in the config's `timeZone` (SPEC §16): a date
// (2026-12-01) is the start of that day there; a time with an offset or Z is
// that instant; a time without one is read in the zone too. By default the
// window is this month so far: [start of the month in the zone, now).
import { JunctionError } from '../errors.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d+)?)?$/;
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The zone's offset from UTC at `utcMs`, in ms (positive east of Greenwich). */
function offsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(utcMs));
  const n = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return asUtc - (utcMs - (utcMs % 1000));
}

/** The instant a wall-clock time in the zone names (the earlier one when clocks go back, the next valid one when they skip). */
export function zonedTime(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Two rounds settle the offset even across a DST change between the guess and the answer.
  let utc = wall - offsetMs(wall, timeZone);
  utc = wall - offsetMs(utc, timeZone);
  return new Date(utc);
}

/** The start of the month `now` is in, in the zone. */
export function monthStart(now: Date, timeZone: string): Date {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric' }).formatToParts(now);
  const n = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return zonedTime(timeZone, n('year'), n('month'), 1);
}

/** A `from`/`to` parameter: a date, a time with an offset, or a time in the zone. */
export function parseWhen(text: string, timeZone: string, name: string): Date {
  let m = DATE.exec(text);
  if (m !== null) return checked(zonedTime(timeZone, +m[1]!, +m[2]!, +m[3]!), m, text, name);
  m = LOCAL_TIME.exec(text);
  if (m !== null)
    return checked(zonedTime(timeZone, +m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0)), m, text, name);
  const at = ZONED_TIME.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at))
    throw new JunctionError(
      'invalid_request',
      `${name} must be a date (2026-12-01) or an ISO time (2026-12-01T09:00:00Z), got "${text.slice(0, 64)}"`,
    );
  return new Date(at);
}

/** Refuses dates that do not exist (2026-02-30) rather than rolling them over. */
function checked(d: Date, m: RegExpExecArray, text: string, name: string): Date {
  const month = +m[2]!;
  const day = +m[3]!;
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(+m[1]!, month, 0)).getUTCDate())
    throw new JunctionError('invalid_request', `${name} "${text}" is not a date`);
  return d;
}

/** [from, to) from the query: defaults this month so far in the zone; `to` after `from`. */
export function spendWindow(query: URLSearchParams, timeZone: string, now: Date): { from: Date; to: Date } {
  const fromText = query.get('from');
  const toText = query.get('to');
  const from = fromText ? parseWhen(fromText, timeZone, 'from') : monthStart(now, timeZone);
  const to = toText ? parseWhen(toText, timeZone, 'to') : now;
  if (!(to.getTime() > from.getTime()))
    throw new JunctionError('invalid_request', `to (${to.toISOString()}) must be after from (${from.toISOString()})`);
  return { from, to };
}
