import { describe, expect, it } from 'vitest';
import { RequestIds } from './request-ids.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** The value of base32 digits (exact below 2^53). */
function decode(digits: string): number {
  let n = 0;
  for (const c of digits) n = n * 32 + CROCKFORD.indexOf(c);
  return n;
}

/** A fill that writes the given bytes. */
function fixedRandom(bytes: number[]): (into: Buffer) => void {
  return (into) => {
    Buffer.from(bytes).copy(into);
  };
}

describe('RequestIds', () => {
  it('makes ULIDs: the millisecond time, then 80 bits of randomness', () => {
    const ids = new RequestIds();
    const now = Date.now() - 60_000; // a minute ago: the next id, made now, is later
    const id = ids.next(now);
    expect(id).toMatch(ULID);
    expect(decode(id.slice(0, 10))).toBe(now);
    expect(new RequestIds().next(now).slice(10)).not.toBe(id.slice(10)); // another generator: other randomness
    expect(decode(ids.next().slice(0, 10))).toBeGreaterThanOrEqual(now);
  });

  it('within a millisecond each id is the last plus one (sorted, distinct); a new millisecond draws anew', () => {
    const ids = new RequestIds();
    const now = 1_764_000_000_000;
    const made = Array.from({ length: 5000 }, () => ids.next(now));
    expect(new Set(made).size).toBe(5000);
    expect([...made].sort()).toEqual(made);
    for (let i = 1; i < made.length; i++) expect(decode(made[i]!.slice(18)) - decode(made[i - 1]!.slice(18))).toBe(1);
    const later = ids.next(now + 1);
    expect(later > made.at(-1)!).toBe(true);
  });

  it('carries from the lower random half into the upper one', () => {
    const ids = new RequestIds(fixedRandom([0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const first = ids.next(1000);
    const second = ids.next(1000);
    expect(first.slice(10)).toBe('00000007ZZZZZZZZ');
    expect(second.slice(10)).toBe('0000000800000000');
    expect(second > first).toBe(true);
  });

  it("keeps the caller's id when usable, and makes one instead of an empty, oversized or repeated header", () => {
    const ids = new RequestIds();
    expect(ids.fromHeader('req-from-caller')).toBe('req-from-caller');
    for (const bad of [undefined, '', 'x'.repeat(201), ['a', 'b']]) expect(ids.fromHeader(bad)).toMatch(ULID);
    expect(ids.fromHeader('x'.repeat(200))).toBe('x'.repeat(200));
  });
});
