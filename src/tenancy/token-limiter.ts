// Tokens per minute (SPEC §16), as GCRA over a 60-second window: each limit
// keeps one "theoretical arrival time" (TAT); reserving N tokens moves it
// N × 60 s / tpm later, and a reservation fits when the TAT stays within
// 60 s of now. That is a token bucket holding `tpm` tokens, refilled
// continuously at tpm/60 per second: a client idle for a minute may spend its
// whole minute at once, and over any longer stretch it averages `tpm`.
// Settling moves the TAT back (tokens given back) or on (more used than
// reserved), never past a full bucket nor below an empty one.
//
// This file holds the arithmetic and the local limiter; redis-token-limit.ts
// runs the same arithmetic in Redis, shared by every replica.
import { performance } from 'node:perf_hooks';

/** The window a tpm is counted over, in µs. */
export const WINDOW_MICROS = 60_000_000;

/** One tokens-per-minute limit: whose (`c:<client>`, `o:<objective>`) and how many. */
export interface TokenLimit {
  readonly key: string;
  readonly tpm: number;
}

export interface TokenDecision {
  allowed: boolean;
  /** When refused: seconds until the tokens asked for would fit (every limit). */
  retryAfterSeconds: number;
  /** Per limit, in the order given: µs until it is whole again, after the decision (a refusal changes nothing). */
  backlogs: readonly number[];
  /** Where the reservation was made (the shared limit, a lease taken from it, or this process alone): its settlement goes there. */
  where: 'redis' | 'lease' | 'local';
}

export interface TokenLimiter {
  /** Reserves `tokens` from every limit, all or none. */
  reserve(limits: readonly TokenLimit[], tokens: number): TokenDecision | Promise<TokenDecision>;
  /** Moves every limit by `delta` tokens (negative: given back), where the reservation was made; never fails. */
  settle(limits: readonly TokenLimit[], delta: number, where: TokenDecision['where']): void;
  close(): Promise<void>;
}

/** Float slack: a reservation of exactly the whole limit fits a whole bucket. */
const EPSILON_MICROS = 1e-3;

/** Entries kept before the whole ones (nothing reserved) are dropped. */
const PRUNE_AT = 4096;

/** Tokens left in a limit whose backlog is `backlogMicros`. */
export function remainingOf(limit: TokenLimit, backlogMicros: number): number {
  return Math.max(0, Math.floor(((WINDOW_MICROS - backlogMicros) * limit.tpm) / WINDOW_MICROS + 1e-9));
}

/** The same arithmetic as the Lua scripts of redis-token-limit.ts, on this process's clock. */
export class LocalTokenLimiter implements TokenLimiter {
  private readonly tats = new Map<string, number>();

  /** `now` in µs; injected by tests that move time instead of sleeping. */
  constructor(private readonly now: () => number = () => performance.now() * 1000) {}

  reserve(limits: readonly TokenLimit[], tokens: number): TokenDecision {
    const now = this.now();
    let wait = 0;
    const backlogs = limits.map((l) => {
      const backlog = Math.max(this.tats.get(l.key) ?? 0, now) - now;
      const over = backlog + (tokens * WINDOW_MICROS) / l.tpm - WINDOW_MICROS;
      if (over > EPSILON_MICROS && over > wait) wait = over;
      return backlog;
    });
    if (wait > 0) return { allowed: false, retryAfterSeconds: wait / 1e6, backlogs, where: 'local' };
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i]!;
      const backlog = Math.min(WINDOW_MICROS, backlogs[i]! + (tokens * WINDOW_MICROS) / l.tpm);
      this.tats.set(l.key, now + backlog);
      backlogs[i] = backlog;
    }
    if (this.tats.size > PRUNE_AT) this.prune(now);
    return { allowed: true, retryAfterSeconds: 0, backlogs, where: 'local' };
  }

  settle(limits: readonly TokenLimit[], delta: number): void {
    const now = this.now();
    for (const l of limits) {
      const tat = Math.max(this.tats.get(l.key) ?? 0, now) + (delta * WINDOW_MICROS) / l.tpm;
      if (tat <= now) this.tats.delete(l.key);
      else this.tats.set(l.key, Math.min(tat, now + WINDOW_MICROS));
    }
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  private prune(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
  }
}
