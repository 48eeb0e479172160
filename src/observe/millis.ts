// A duration in milliseconds, rounded to the microsecond, as JavaScript
// prints it: `String(Math.round(ms * 1000) / 1000)`. The decision log writes
// one per request, and V8 prints a non-integer double through its
// shortest-representation algorithm in a runtime call: profiled at ~1 % of a
// proxied request. The same digits come from the integer count of
// microseconds, whose printing is cheap: the shortest decimal that reads back
// as k / 1000 is k / 1000 itself, trailing zeros dropped, because two
// decimals with at most three fraction digits are ≥ 0.001 apart and so are
// the doubles below 2^31 µs that stand for them.

/** `String(Math.round(ms * 1000) / 1000)`, without the double-to-string runtime call for everyday values. */
export function millis3(ms: number): string {
  const us = Math.round(ms * 1000);
  // Negative, huge or not a number: rare enough for the general path (which also prints -0 as "0").
  if (!(us > 0 && us < 2 ** 31)) return String(us / 1000);
  const whole = (us / 1000) | 0;
  const frac = us - whole * 1000;
  if (frac === 0) return `${whole}`;
  if (frac % 100 === 0) return `${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}
