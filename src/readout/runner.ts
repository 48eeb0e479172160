// Where readouts run: one DuckDB instance per owner (a Junction, or one
// `junction analyze`), with a memory limit, a thread count and a folder to
// spill to, and a queue in front of it. In the serving process a readout must
// not take the memory or the cores the data plane needs (issue 22, finding 9:
// eight concurrent readouts of a 423 MB log took RSS from 322 MB to 4.4 GB), so
// readouts run a few at a time (one by default), a bounded number wait, and
// past that the caller is told 503 `overloaded` with Retry-After. Identical
// requests (same key) share one run, and its result answers the same key for a
// few seconds after. A run past its time limit is interrupted (DuckDB's
// connection interrupt) and answers 504 `deadline_exceeded`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { JunctionError } from '../errors.js';

export interface ReadoutLimits {
  /** DuckDB `memory_limit` for every readout of this runner together, e.g. `256MiB`; DuckDB's default (80 % of RAM) when unset. */
  memoryLimit?: string | undefined;
  /** DuckDB `threads`; every core when unset. */
  threads?: number | undefined;
  /** Where sorts and aggregations past the memory limit spill (DuckDB `temp_directory`); a fresh folder under the OS temp folder, removed on close, when unset. */
  tempDirectory?: string | undefined;
  /** Readouts running at once (default 1). */
  concurrency?: number | undefined;
  /** Readouts that may wait for a turn (default 4); past it a new one is refused: 503 `overloaded`. */
  queue?: number | undefined;
  /** A readout running longer is interrupted: 504 `deadline_exceeded` (default none). */
  timeoutMs?: number | undefined;
  /** A finished readout answers the same key for this long (default 0: not kept). */
  cacheMs?: number | undefined;
}

/** The serving process: one readout at a time on one thread, in a few hundred MB; a queue of 4; 2 minutes at most; 5 s cache. */
export const SERVING_READOUT_LIMITS: Readonly<Required<Omit<ReadoutLimits, 'tempDirectory'>>> = Object.freeze({
  memoryLimit: '256MiB',
  threads: 1,
  concurrency: 1,
  queue: 4,
  timeoutMs: 120_000,
  cacheMs: 5_000,
});

export interface ReadoutSettings {
  memoryLimit: string;
  threads: number;
  tempDirectory: string;
  preserveInsertionOrder: boolean;
}

export interface RunnerStats {
  /** Runs started (a coalesced or cached answer starts none). */
  runs: number;
  running: number;
  waiting: number;
  /** Callers that shared a run already running or waiting. */
  coalesced: number;
  /** Callers answered from the cache. */
  cached: number;
  /** Callers refused because the queue was full. */
  refused: number;
  /** Runs interrupted at the time limit. */
  timedOut: number;
  /** The most runs ever running at once. */
  maxRunning: number;
}

type Work<T> = (db: DuckDBConnection) => Promise<T>;

interface Job {
  key: string;
  work: Work<unknown>;
  promise: Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class ReadoutRunner {
  private readonly limits: ReadoutLimits;
  private instance: Promise<DuckDBInstance> | undefined;
  private ownTemp: string | undefined;
  private closed = false;
  private readonly inflight = new Map<string, Job>();
  /** How to interrupt each running readout (close() does). */
  private readonly stops = new Set<() => void>();
  private readonly waiting: Job[] = [];
  private readonly cache = new Map<string, { at: number; value: unknown }>();
  private lastRunMs: number | undefined;
  private readonly counts: RunnerStats = {
    runs: 0,
    running: 0,
    waiting: 0,
    coalesced: 0,
    cached: 0,
    refused: 0,
    timedOut: 0,
    maxRunning: 0,
  };

  constructor(limits: ReadoutLimits = {}) {
    for (const [name, v] of [
      ['threads', limits.threads],
      ['concurrency', limits.concurrency],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1))
        throw new Error(`readout ${name} must be a whole number ≥ 1 (got ${v})`);
    }
    if (limits.queue !== undefined && (!Number.isInteger(limits.queue) || limits.queue < 0))
      throw new Error(`readout queue must be a whole number ≥ 0 (got ${limits.queue})`);
    this.limits = { ...limits };
  }

  /**
   * Runs `work` on its own connection when a turn comes. Callers with the same
   * key while it runs or waits share its result (and for `cacheMs` after it).
   * Throws 503 `overloaded` when `queue` runs already wait.
   */
  run<T>(key: string, work: Work<T>, now = Date.now()): Promise<T> {
    if (this.closed) return Promise.reject(new JunctionError('not_ready', 'the readout runner is closed'));
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.limits.cacheMs ?? 0)) {
      this.counts.cached++;
      return Promise.resolve(hit.value as T);
    }
    if (hit) this.cache.delete(key);
    const shared = this.inflight.get(key);
    if (shared) {
      this.counts.coalesced++;
      return shared.promise as Promise<T>;
    }
    const concurrency = this.limits.concurrency ?? 1;
    const queue = this.limits.queue ?? 4;
    if (this.counts.running >= concurrency && this.waiting.length >= queue) {
      this.counts.refused++;
      const retryAfterSeconds = Math.min(60, Math.max(1, Math.ceil((this.lastRunMs ?? 5000) / 1000)));
      return Promise.reject(
        new JunctionError(
          'overloaded',
          `${this.counts.running} experiment readout(s) running and ${this.waiting.length} waiting, the most this Junction takes; try again later, or run junction analyze on a copy of the logs`,
          { retryAfterSeconds },
        ),
      );
    }
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const job: Job = { key, work, promise, resolve, reject };
    this.inflight.set(key, job);
    if (this.counts.running < concurrency) this.start(job);
    else {
      this.waiting.push(job);
      this.counts.waiting = this.waiting.length;
    }
    return promise as Promise<T>;
  }

  /** The settings DuckDB applies, read back through a run (tests and operators check them). */
  settings(): Promise<ReadoutSettings> {
    return this.run('settings', async (db) => {
      const row = (
        await db.runAndReadAll(`SELECT current_setting('memory_limit') AS m, current_setting('threads')::INTEGER AS t,
            current_setting('temp_directory') AS d, current_setting('preserve_insertion_order') AS p`)
      ).getRowObjectsJS()[0] as { m: string; t: number; d: string; p: boolean };
      return { memoryLimit: row.m, threads: Number(row.t), tempDirectory: row.d, preserveInsertionOrder: row.p };
    });
  }

  stats(): RunnerStats {
    return { ...this.counts, waiting: this.waiting.length };
  }

  /** Refuses what waits, interrupts what runs, and closes DuckDB (and the spill folder it made). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      this.inflight.delete(job.key);
      job.reject(new JunctionError('not_ready', 'Junction is closing; the readout did not run'));
    }
    for (const stop of this.stops) stop();
    await Promise.allSettled([...this.inflight.values()].map((j) => j.promise));
    const instance = this.instance;
    this.instance = undefined;
    if (instance) (await instance.catch(() => undefined))?.closeSync();
    if (this.ownTemp) rmSync(this.ownTemp, { recursive: true, force: true });
  }

  private start(job: Job): void {
    this.counts.running++;
    this.counts.runs++;
    this.counts.maxRunning = Math.max(this.counts.maxRunning, this.counts.running);
    const started = Date.now();
    this.execute(job.work).then(
      (value) => {
        this.lastRunMs = Date.now() - started;
        const cacheMs = this.limits.cacheMs ?? 0;
        if (cacheMs > 0) {
          const now = Date.now();
          for (const [key, hit] of this.cache) if (now - hit.at >= cacheMs) this.cache.delete(key);
          this.cache.set(job.key, { at: now, value });
        }
        this.finish(job);
        job.resolve(value);
      },
      (err: unknown) => {
        this.lastRunMs = Date.now() - started;
        this.finish(job);
        job.reject(err);
      },
    );
  }

  private finish(job: Job): void {
    this.inflight.delete(job.key);
    this.counts.running--;
    const next = this.waiting.shift();
    if (next) this.start(next);
    else if (this.counts.running === 0) this.release();
  }

  /** Idle: DuckDB is closed so the memory it holds goes back (the next readout opens it again, in milliseconds). */
  private release(): void {
    const instance = this.instance;
    this.instance = undefined;
    void instance?.then((i) => i.closeSync()).catch(() => undefined);
  }

  private async execute<T>(work: Work<T>): Promise<T> {
    const db = await (await this.open()).connect();
    let timedOut = false;
    let stopping: ReturnType<typeof setInterval> | undefined;
    // An interrupt ends the statement running now; a readout is several, so it is repeated until the work gives up.
    const stop = () => {
      db.interrupt();
      stopping ??= setInterval(() => db.interrupt(), 50);
    };
    this.stops.add(stop);
    if (this.closed) stop();
    const timeoutMs = this.limits.timeoutMs;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            this.counts.timedOut++;
            stop();
          }, timeoutMs);
    try {
      return await work(db);
    } catch (err) {
      throw this.explain(err, timedOut);
    } finally {
      if (timer) clearTimeout(timer);
      if (stopping) clearInterval(stopping);
      this.stops.delete(stop);
      db.closeSync();
    }
  }

  private explain(err: unknown, timedOut: boolean): unknown {
    const message = err instanceof Error ? err.message : String(err);
    if (timedOut) {
      return new JunctionError(
        'deadline_exceeded',
        `the readout ran past its limit of ${this.limits.timeoutMs} ms and was cancelled; run junction analyze on a copy of the logs (it has no limit), or raise the readout time limit`,
        { cause: err },
      );
    }
    if (/out of memory/i.test(message)) {
      return new JunctionError(
        'overloaded',
        `the readout needs more memory than its limit (${this.limits.memoryLimit ?? 'DuckDB default'}) and could not spill to disk: ${message.slice(0, 300)}; run junction analyze on a copy of the logs`,
        { cause: err },
      );
    }
    return err;
  }

  private open(): Promise<DuckDBInstance> {
    this.instance ??= (async () => {
      // Loaded on first use: the engine is a large native library that `serve` should not pay for at startup.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      let temp = this.limits.tempDirectory;
      if (temp === undefined) temp = this.ownTemp = mkdtempSync(join(tmpdir(), 'junction-readout-'));
      const options: Record<string, string> = {
        temp_directory: temp,
        // Row order means nothing to an aggregate; keeping it makes DuckDB buffer a parallel scan's output.
        preserve_insertion_order: 'false',
      };
      if (this.limits.memoryLimit !== undefined) options.memory_limit = this.limits.memoryLimit;
      if (this.limits.threads !== undefined) options.threads = String(this.limits.threads);
      return DuckDBInstance.create(':memory:', options);
    })();
    return this.instance;
  }
}
