// Leased tokens: a replica answers most token-limit admissions from tokens it
// already reserved in the shared limit (Redis), with no round trip.
//
// The shared limit stays the only source of tokens: a lease is an ordinary
// reservation in it, made ahead of the calls that will use it. After a call
// is admitted by the shared limit, each of its limits whose lease size (a
// twentieth of the limit) covers at least two calls of that size gets a lease
// topped up in the background; later calls take from the lease synchronously,
// and a lease running low is topped up again while calls go on. A call the
// lease cannot cover goes to the shared limit as before, so a refusal is still
// decided there, on every replica's use.
//
// What it costs, and the bounds (docs/spend.md):
// - tokens given back when a call settles for less return to the lease, and
//   what a lease holds beyond two lease sizes goes back to the shared limit at
//   the next flush (every 250 ms);
// - a lease not topped up for two seconds is retired: what it holds goes back;
//   so another replica may find up to one lease size per replica held
//   elsewhere, for at most two seconds, and tokens reserved up to two seconds
//   before a minute may be spent in it (at most two lease sizes per replica);
// - limits too small to lease (a lease would not cover two calls) behave
//   exactly as before: one shared reservation per call.
import type { TokenDecision, TokenLimit } from './token-limiter.js';
import { WINDOW_MICROS } from './token-limiter.js';

/** The shared limit leases are taken from (Redis's scripts; tests use a LocalTokenLimiter). */
export interface SharedTokenLimit {
  reserve(limits: readonly TokenLimit[], tokens: number): Promise<TokenDecision>;
  /** Moves the limit by `delta` tokens (negative: given back); fire and forget. */
  settle(limits: readonly TokenLimit[], delta: number): void;
}

/** A lease is this share of its limit's tokens per minute. */
export const LEASE_SHARE = 1 / 20;
/** A lease not topped up this long is retired (µs). */
export const LEASE_TTL_MICROS = 2_000_000;
/** How often held leases are checked for expiry and excess (ms). */
export const LEASE_FLUSH_MS = 250;

interface Lease {
  limit: TokenLimit;
  /** Tokens reserved in the shared limit and not yet given to a call; negative: used beyond what was reserved. */
  balance: number;
  /** The shared limit's backlog (µs) at its last answer, and when that was (local µs). */
  backlog: number;
  readAt: number;
  /** Local µs after which the lease is retired. */
  expiresAt: number;
  toppingUp: boolean;
}

export function leaseSize(limit: TokenLimit): number {
  return Math.floor(limit.tpm * LEASE_SHARE);
}

export class TokenLeases {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly shared: SharedTokenLimit,
    /** µs; injected by tests that move time instead of sleeping. */
    private readonly now: () => number,
  ) {}

  /**
   * Takes `tokens` from every limit's lease, all or none; undefined when a
   * lease is missing, retired or short (the call then asks the shared limit).
   */
  take(limits: readonly TokenLimit[], tokens: number): TokenDecision | undefined {
    const now = this.now();
    for (let i = 0; i < limits.length; i++) {
      const lease = this.live(limits[i]!, now);
      if (lease === undefined || lease.balance < tokens) return undefined;
    }
    const backlogs: number[] = new Array<number>(limits.length);
    for (let i = 0; i < limits.length; i++) {
      const lease = this.leases.get(limits[i]!.key)!;
      lease.balance -= tokens;
      backlogs[i] = this.backlogOf(lease, now);
      if (lease.balance < leaseSize(lease.limit) / 2) this.topUp(lease);
    }
    return { allowed: true, retryAfterSeconds: 0, backlogs, where: 'lease' };
  }

  /** A call the shared limit admitted: lease the limits where a lease covers two calls like it. */
  admittedShared(limits: readonly TokenLimit[], tokens: number, d: TokenDecision): void {
    if (!d.allowed) return;
    const now = this.now();
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i]!;
      if (tokens <= 0 || leaseSize(l) < 2 * tokens) continue; // a probe, or calls too big for a lease to help
      let lease = this.live(l, now);
      if (lease === undefined) {
        lease = {
          limit: l,
          balance: 0,
          backlog: d.backlogs[i]!,
          readAt: now,
          expiresAt: now + LEASE_TTL_MICROS,
          toppingUp: false,
        };
        this.leases.set(l.key, lease);
      }
      if (lease.balance < leaseSize(l) / 2) this.topUp(lease);
    }
  }

  /**
   * Settles a call's reservation: into the lease where this replica holds
   * one (the tokens are reserved in the shared limit either way), else in the
   * shared limit.
   */
  settle(limits: readonly TokenLimit[], delta: number): void {
    const now = this.now();
    let unleased: TokenLimit[] | undefined;
    for (const l of limits) {
      const lease = this.live(l, now);
      if (lease === undefined) (unleased ??= []).push(l);
      else lease.balance -= delta;
    }
    if (unleased !== undefined) this.shared.settle(unleased, delta);
  }

  /** Retires expired leases and gives back what a lease holds beyond two lease sizes. */
  flush(): void {
    const now = this.now();
    for (const lease of this.leases.values()) {
      if (this.live(lease.limit, now) === undefined) continue;
      const excess = lease.balance - 2 * leaseSize(lease.limit);
      if (excess > 0) {
        lease.balance -= excess;
        this.shared.settle([lease.limit], -excess);
      }
    }
  }

  /** Gives every lease back (closing). */
  retireAll(): void {
    for (const lease of this.leases.values()) this.retire(lease);
  }

  /** Tokens held in leases now (tests, metrics). */
  held(key: string): number {
    return this.leases.get(key)?.balance ?? 0;
  }

  /** The limit's lease if it is live for this limit; a lease past its time, or for another tpm, is retired. */
  private live(l: TokenLimit, now: number): Lease | undefined {
    const lease = this.leases.get(l.key);
    if (lease === undefined) return undefined;
    if (lease.expiresAt > now && lease.limit.tpm === l.tpm) return lease;
    this.retire(lease);
    return undefined;
  }

  private retire(lease: Lease): void {
    this.leases.delete(lease.limit.key);
    if (lease.balance !== 0) this.shared.settle([lease.limit], -lease.balance);
    lease.balance = 0;
  }

  private topUp(lease: Lease): void {
    if (lease.toppingUp) return;
    lease.toppingUp = true;
    const ask = leaseSize(lease.limit) - lease.balance;
    this.shared.reserve([lease.limit], ask).then(
      (d) => {
        lease.toppingUp = false;
        const at = this.now();
        lease.backlog = d.backlogs[0]!;
        lease.readAt = at;
        if (!d.allowed) return; // the shared limit is short: calls ask it themselves, and are refused there
        if (this.leases.get(lease.limit.key) !== lease) {
          this.shared.settle([lease.limit], -ask); // retired meanwhile: give the new tokens straight back
          return;
        }
        lease.balance += ask;
        lease.expiresAt = at + LEASE_TTL_MICROS;
      },
      () => {
        lease.toppingUp = false; // the shared limit did not answer: calls go to it (and its fallback) themselves
      },
    );
  }

  /** The limit's backlog as this replica sees it: the shared one now, less what this lease still holds. */
  private backlogOf(lease: Lease, now: number): number {
    const shared = Math.max(0, lease.backlog - (now - lease.readAt));
    const held = (lease.balance * WINDOW_MICROS) / lease.limit.tpm;
    return Math.min(WINDOW_MICROS, Math.max(0, shared - held));
  }
}
