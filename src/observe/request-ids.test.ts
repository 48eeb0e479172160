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

describe('RequestIds', () => {
  it('makes ULIDs: the millisecond time, then 80 bits of randomness', () => {
    const ids = new RequestIds();
    const now = Date.now() - 60_000; // a minute ago: the next id, made now, is later
    const id = ids.next(now);
    expect(id).toMatch(ULID);
    expect(decode(id.slice(0, 10))).toBe(now);
    expect(ids.next() > id).toBe(true); // ids sort by time
  });

  it('encodes the random bits it draws, 80 to an id, big-endian', () => {
    const ids = new RequestIds((pool) => {
      for (let i = 0; i < pool.length; i++) pool[i] = i % 10 === 9 ? 0x1f : i % 10 === 4 ? 0xff : 0;
    });
    // Each 40-bit half is 0x00000000ff then 0x000000001f: base32 '0000007Z' and '0000000Z'.
    expect(ids.next(0).slice(10)).toBe('0000007Z0000000Z');
  });

  it('draws new randomness for every id, so one id does not tell the next (feedback names decisions by id)', () => {
    const ids = new RequestIds();
    const now = 1_764_000_000_000;
    const made = Array.from({ length: 3000 }, () => ids.next(now)); // one millisecond, across pool refills
    expect(new Set(made).size).toBe(3000);
    for (const id of made) expect(id.slice(0, 10)).toBe(made[0]!.slice(0, 10));
    const lows = made.map((id) => decode(id.slice(18)));
    const neighbours = lows.slice(1).filter((low, i) => Math.abs(low - lows[i]!) <= 1000).length;
    expect(neighbours).toBeLessThan(5); // incremented ids would all be neighbours
  });

  it("keeps the caller's id when usable, and makes one instead of an empty, oversized or repeated header", () => {
    const ids = new RequestIds();
    expect(ids.fromHeader('req-from-caller')).toBe('req-from-caller');
    for (const bad of [undefined, '', 'x'.repeat(201), ['a', 'b']]) expect(ids.fromHeader(bad)).toMatch(ULID);
    expect(ids.fromHeader('x'.repeat(200))).toBe('x'.repeat(200));
  });
});
