import { describe, expect, it } from 'vitest';
import { LocalTokenLimiter, remainingOf, type TokenLimit } from './token-limiter.js';

const MINUTE = 60_000_000; // µs

describe('local token limiter (GCRA over a minute)', () => {
  const client: TokenLimit = { key: 'c:a', tpm: 6000 };

  it('a whole minute of tokens at once, then they come back at tpm/60 per second', () => {
    let now = 0;
    const l = new LocalTokenLimiter(() => now);
    const first = l.reserve([client], 6000);
    expect(first.allowed).toBe(true);
    expect(remainingOf(client, first.backlogs[0]!)).toBe(0);
    expect(first.backlogs[0]).toBe(MINUTE);
    const refused = l.reserve([client], 100);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(1); // 100 tokens at 100/s
    now += 1_000_000;
    expect(l.reserve([client], 100).allowed).toBe(true);
    expect(l.reserve([client], 1).allowed).toBe(false);
  });

  it('all or none across limits: a refusal by one takes nothing from the other', () => {
    const l = new LocalTokenLimiter(() => 0);
    const objective: TokenLimit = { key: 'o:chat', tpm: 1000 };
    expect(l.reserve([client, objective], 800).allowed).toBe(true);
    const refused = l.reserve([client, objective], 300);
    expect(refused.allowed).toBe(false);
    expect(remainingOf(client, refused.backlogs[0]!)).toBe(5200); // the client's own limit untouched by the refusal
    expect(remainingOf(objective, refused.backlogs[1]!)).toBe(200);
    expect(l.reserve([client], 5200).allowed).toBe(true);
  });

  it('settling gives back (never past a full limit) and takes more (never past an empty one)', () => {
    let now = 0;
    const l = new LocalTokenLimiter(() => now);
    l.reserve([client], 1000);
    l.settle([client], -900); // used 100
    expect(remainingOf(client, l.reserve([client], 0).backlogs[0]!)).toBe(5900);
    l.settle([client], -1_000_000); // more given back than was ever taken
    expect(remainingOf(client, l.reserve([client], 0).backlogs[0]!)).toBe(6000);
    l.settle([client], 1e12); // absurd usage: the limit is empty for a minute, no longer
    const empty = l.reserve([client], 1);
    expect(empty.allowed).toBe(false);
    expect(empty.retryAfterSeconds).toBeCloseTo(0.01);
    now += MINUTE;
    expect(l.reserve([client], 6000).allowed).toBe(true);
  });
});
