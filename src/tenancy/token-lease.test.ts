// Leases against a shared limit with the same GCRA arithmetic as Redis's
// scripts (a LocalTokenLimiter on a clock the test moves): two "replicas"
// lease from one limit. redis-token-limit.test.ts runs the same against Redis.
import { describe, expect, it } from 'vitest';
import { leaseSize, LEASE_TTL_MICROS, TokenLeases, type SharedTokenLimit } from './token-lease.js';
import { LocalTokenLimiter, remainingOf, type TokenDecision, type TokenLimit } from './token-limiter.js';

function setup() {
  let now = 1_000_000_000;
  const limiter = new LocalTokenLimiter(() => now);
  let roundTrips = 0;
  const shared: SharedTokenLimit = {
    reserve: async (limits, tokens) => {
      roundTrips++;
      return { ...limiter.reserve(limits, tokens), where: 'redis' };
    },
    settle: (limits, delta) => limiter.settle(limits, delta),
  };
  const replica = () => new TokenLeases(shared, () => now);
  /** What a replica does per call: a lease if it covers it, else the shared limit (then maybe a lease). */
  const reserve = async (r: TokenLeases, limits: TokenLimit[], tokens: number): Promise<TokenDecision> => {
    const leased = r.take(limits, tokens);
    if (leased) return leased;
    const d = await shared.reserve(limits, tokens);
    r.admittedShared(limits, tokens, d);
    return d;
  };
  const sharedRemaining = (l: TokenLimit) => remainingOf(l, limiter.reserve([l], 0).backlogs[0]!);
  return {
    replica,
    reserve,
    sharedRemaining,
    roundTrips: () => roundTrips,
    advance: (micros: number) => (now += micros),
  };
}

const settled = () => new Promise((r) => setImmediate(r));
const busy: TokenLimit = { key: 'c:busy', tpm: 1_000_000 }; // leases of 50,000
const call = 1_000;

describe('token leases', () => {
  it('a busy limit is answered from a lease with no round trip, and two replicas never admit more than the limit', async () => {
    const s = setup();
    const a = s.replica();
    const b = s.replica();
    expect((await s.reserve(a, [busy], call)).where).toBe('redis'); // the first call asks the shared limit…
    await settled();
    expect(a.held(busy.key)).toBe(leaseSize(busy)); // …and a lease is taken behind it
    const trips = s.roundTrips();
    const d = a.take([busy], call);
    expect(d).toMatchObject({ allowed: true, where: 'lease' }); // synchronous: no promise, no round trip
    expect(s.roundTrips()).toBe(trips);
    // Both replicas call until refused; every admitted token was reserved in the shared limit.
    let admitted = 2 * call;
    for (;;) {
      const [x, y] = await Promise.all([s.reserve(a, [busy], call), s.reserve(b, [busy], call)]);
      admitted += (x.allowed ? call : 0) + (y.allowed ? call : 0);
      await settled();
      if (!x.allowed && !y.allowed) break;
    }
    expect(admitted).toBeLessThanOrEqual(busy.tpm);
    // Tokens still held in leases are the only ones not admitted: nothing is lost.
    expect(admitted + a.held(busy.key) + b.held(busy.key) + s.sharedRemaining(busy)).toBe(busy.tpm);
    expect(s.roundTrips()).toBeLessThan(busy.tpm / call / 5); // most calls made none
  });

  it('a refusal is the shared limit’s: a short lease sends the call there', async () => {
    const s = setup();
    const a = s.replica();
    await s.reserve(a, [busy], call);
    await settled();
    expect(a.take([busy], leaseSize(busy) + 1)).toBeUndefined();
    const small: TokenLimit = { key: 'c:small', tpm: 2 * call };
    expect(a.take([busy, small], call)).toBeUndefined(); // all or none: one limit without a lease
  });

  it('a limit a lease would not cover twice is not leased: one shared reservation per call, as before', async () => {
    const s = setup();
    const a = s.replica();
    const small: TokenLimit = { key: 'c:small', tpm: 30 * call }; // a lease of 1,500 < two calls
    await s.reserve(a, [small], call);
    await settled();
    expect(a.held(small.key)).toBe(0);
    expect(s.sharedRemaining(small)).toBe(29 * call);
  });

  it('tokens given back return to the lease; what it holds beyond two lease sizes goes back at the flush', async () => {
    const s = setup();
    const a = s.replica();
    await s.reserve(s.replica(), [busy], busy.tpm / 2); // another replica's big call (too big to lease)
    await s.reserve(a, [busy], call);
    await settled();
    const before = s.sharedRemaining(busy);
    a.settle([busy], -3 * leaseSize(busy)); // calls that used far less than they reserved
    expect(a.held(busy.key)).toBe(4 * leaseSize(busy));
    expect(s.sharedRemaining(busy)).toBe(before);
    a.flush();
    expect(a.held(busy.key)).toBe(2 * leaseSize(busy));
    expect(s.sharedRemaining(busy)).toBe(before + 2 * leaseSize(busy));
  });

  it('a lease not topped up for its time is retired and its tokens go back to every replica', async () => {
    const s = setup();
    const a = s.replica();
    await s.reserve(a, [busy], call);
    await settled();
    const held = a.held(busy.key);
    const remaining = s.sharedRemaining(busy);
    s.advance(LEASE_TTL_MICROS + 1);
    a.flush();
    expect(a.held(busy.key)).toBe(0);
    // Back in the shared limit (which also refilled a little over the time moved).
    expect(s.sharedRemaining(busy)).toBeGreaterThanOrEqual(Math.min(busy.tpm, remaining + held));
    expect(a.take([busy], call)).toBeUndefined();
  });

  it('used beyond its reservation: the lease owes it, and the next call goes to the shared limit', async () => {
    const s = setup();
    const a = s.replica();
    await s.reserve(a, [busy], call);
    await settled();
    a.settle([busy], 2 * leaseSize(busy));
    expect(a.held(busy.key)).toBe(-leaseSize(busy));
    expect(a.take([busy], call)).toBeUndefined();
    s.advance(LEASE_TTL_MICROS + 1);
    const remaining = s.sharedRemaining(busy);
    a.flush(); // retired: the debt is taken from the shared limit
    expect(s.sharedRemaining(busy)).toBeLessThan(remaining);
  });

  it('a limit whose tpm changed (a new config) is not answered from the old lease', async () => {
    const s = setup();
    const a = s.replica();
    await s.reserve(a, [busy], call);
    await settled();
    expect(a.take([{ key: busy.key, tpm: busy.tpm / 2 }], call)).toBeUndefined();
    expect(a.held(busy.key)).toBe(0);
  });
});
