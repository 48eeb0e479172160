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
}

export function bodyLimits(opts: BodyLimitOptions = {}): BodyLimits {
  return {
    minBytesPerSecond: opts.minBodyBytesPerSecond ?? 1024,
    graceMs: opts.bodyGraceMs ?? 5000,
    memory: new MemoryBudget(opts.maxBufferedBytes ?? 256 * 1024 * 1024),
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

/**
 * Calls `onSlow` once if the body of `source` (an IncomingMessage) arrives
 * slower than the minimum rate. Measured on the socket's byte count, so the
 * body itself streams untouched. Returns the function that stops watching, or
 * undefined when the whole body is already here.
 */
export function watchBodyRate(source: Readable, limits: BodyLimits, onSlow: () => void): (() => void) | undefined {
  const s = source as SocketSource;
  const socket = s.socket;
  // Nothing left to arrive (or not a socket): nothing to watch.
  if (socket === undefined || socket === null || s.complete === true || s.readableEnded) return undefined;
  const from = socket.bytesRead;
  const started = performance.now();
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed < limits.graceMs) return;
    if (socket.bytesRead - from < (limits.minBytesPerSecond * elapsed) / 1000) {
      stop();
      onSlow();
    }
  }, Math.max(50, Math.min(1000, limits.graceMs / 2)));
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    source.off('end', stop);
    source.off('close', stop);
  };
  source.once('end', stop);
  source.once('close', stop);
  return stop;
}
