// Bounds on reading request bodies that hold across requests, not only per
// request: a body must arrive faster than a minimum rate (a slow client may
// not hold an upstream connection), and all bodies read into memory at once
// share one byte budget (many large bodies cannot exhaust memory). One
// instance per data plane; nothing module-level.
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';

export interface BodyLimitOptions {
  /** A body slower than this on average, once `bodyGraceMs` has passed, is cut with 408 (default 1024). */
  minBodyBytesPerSecond?: number;
  /** How long a body may take before its rate is judged (default 5000). */
  bodyGraceMs?: number;
  /** Bytes all request bodies buffered in memory may hold together (default 256 MiB); beyond it 503 overloaded. */
  maxBufferedBytes?: number;
}

export interface BodyLimits {
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
  readonly memory: MemoryBudget;
  /** Watches the bodies being read for the minimum rate. */
  readonly rates: BodyRateWatch;
}

export function bodyLimits(opts: BodyLimitOptions = {}): BodyLimits {
  const minBytesPerSecond = opts.minBodyBytesPerSecond ?? 1024;
  const graceMs = opts.bodyGraceMs ?? 5000;
  return {
    minBytesPerSecond,
    graceMs,
    memory: new MemoryBudget(opts.maxBufferedBytes ?? 256 * 1024 * 1024),
    rates: new BodyRateWatch(minBytesPerSecond, graceMs),
  };
}

/** Bytes held by buffered bodies across every request of a process. */
export class MemoryBudget {
  private used = 0;
  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `n` bytes if they fit. */
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

interface SocketSource extends Readable {
  socket?: { bytesRead: number } | null;
  complete?: boolean;
}

interface Watched {
  readonly socket: { bytesRead: number };
  readonly from: number;
  readonly started: number;
  readonly onSlow: () => void;
}

/**
 * One timer for every body being read, not one per request: a request adds
 * itself to a set and leaves it when its body ends, and a single sweep (only
 * while the set is not empty) judges each body's average rate. Measured on
 * the socket's byte count, so the body itself streams untouched.
 */
export class BodyRateWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private readonly periodMs: number;

  constructor(
    private readonly minBytesPerSecond: number,
    private readonly graceMs: number,
  ) {
    this.periodMs = Math.max(50, Math.min(1000, graceMs / 2));
  }

  /** Bodies being watched now. */
  get size(): number {
    return this.watched.size;
  }

  /**
   * Calls `onSlow` once if the body of `source` (an IncomingMessage) arrives
   * slower than the minimum rate. Returns the function that stops watching
   * (the caller calls it when the body ends or fails), or undefined when the
   * whole body is already here.
   */
  watch(source: Readable, onSlow: () => void): (() => void) | undefined {
    const s = source as SocketSource;
    const socket = s.socket;
    // Nothing left to arrive (or not a socket): nothing to watch.
    if (socket === undefined || socket === null || s.complete === true || s.readableEnded) return undefined;
    const w: Watched = { socket, from: socket.bytesRead, started: performance.now(), onSlow };
    this.watched.add(w);
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, this.periodMs);
      this.timer.unref();
    }
    return () => {
      this.watched.delete(w);
    };
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const w of this.watched) {
      const elapsed = now - w.started;
      if (elapsed < this.graceMs) continue;
      if (w.socket.bytesRead - w.from < (this.minBytesPerSecond * elapsed) / 1000) {
        this.watched.delete(w);
        try {
          w.onSlow();
        } catch {
          // A timer callback that throws ends the process; cutting one body must never do that.
        }
      }
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}

/**
 * `limits.rates.watch` for a body the caller does not follow to its end
 * itself: stops watching on the body's 'end' or 'close'.
 */
export function watchBodyRate(source: Readable, limits: BodyLimits, onSlow: () => void): (() => void) | undefined {
  const unwatch = limits.rates.watch(source, onSlow);
  if (unwatch === undefined) return undefined;
  const stop = () => {
    unwatch();
    source.off('end', stop);
    source.off('close', stop);
  };
  source.once('end', stop);
  source.once('close', stop);
  return stop;
}
