// Exposures of local decisions, reported to POST /v1/exposures in batches (by
// size and by time). `add` is O(1) and never blocks or throws: the buffer is
// bounded, and what does not fit, or what Junction refuses, is dropped and
// counted. One batch is in flight at a time; a failed batch is retried once
// with the next flush if there is room, then dropped.
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { Outcome } from '../../../src/routing/types.js';
import type { EventHook } from './events.js';

/** The server's per-call limit (faces/exposures.ts). */
const SERVER_MAX_BATCH = 10_000;

export interface ExposureOptions {
  url: string;
  apiKey: string | undefined;
  /** Exposures sent per call (≤ 10,000). */
  batchSize: number;
  /** Longest an exposure waits before its batch is sent. */
  flushMs: number;
  /** Exposures held at most; beyond, new ones are dropped. */
  maxBuffered: number;
  dispatcher: Dispatcher;
  emit: EventHook;
}

interface Pending {
  time: number;
  outcome: Outcome;
  unit: string | undefined;
  trafficClass: string;
  retried: boolean;
}

export class ExposureQueue {
  sent = 0;
  dropped = 0;
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private closed = false;
  /** Drops counted by add() and not yet told through the hook. */
  private unreported = 0;
  private readonly batchSize: number;

  constructor(private readonly opts: ExposureOptions) {
    this.batchSize = Math.max(1, Math.min(opts.batchSize, SERVER_MAX_BATCH));
  }

  add(outcome: Outcome, unit: string | undefined, trafficClass: string): void {
    if (this.closed || this.buffer.length >= this.opts.maxBuffered) {
      // Counted now, told once per batch (kick): a full buffer must not flood the host's hook.
      this.dropped++;
      this.unreported++;
      return;
    }
    this.buffer.push({ time: Date.now(), outcome, unit, trafficClass, retried: false });
    if (this.buffer.length >= this.batchSize) this.kick();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
      this.timer.unref(); // pending exposures never keep a process alive; close() flushes them
    }
  }

  /** Sends everything buffered (in batches), then resolves. */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.inflight !== undefined) {
      if (this.inflight !== undefined) await this.inflight;
      else this.kick();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private kick(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.unreported > 0) {
      this.opts.emit({
        type: 'exposures_dropped',
        count: this.unreported,
        total: this.dropped,
        reason: this.closed ? 'client closed' : 'buffer full',
      });
      this.unreported = 0;
    }
    if (this.inflight !== undefined || this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.batchSize);
    this.inflight = this.send(batch).finally(() => {
      this.inflight = undefined;
      if (this.buffer.length >= this.batchSize) this.kick();
      else if (this.buffer.length > 0 && this.timer === undefined && !this.closed) {
        this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
        this.timer.unref();
      }
    });
  }

  private async send(batch: Pending[]): Promise<void> {
    const body = JSON.stringify({
      via: 'sdk',
      exposures: batch.map((p) => ({
        time: new Date(p.time).toISOString(),
        objective: p.outcome.objective,
        unit: p.unit ?? null,
        target: p.outcome.target.id,
        rule: p.outcome.rule,
        experiment: p.outcome.experiment ?? null,
        cell: p.outcome.cell ?? null,
        revision: p.outcome.revision,
        trafficClass: p.trafficClass,
      })),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    try {
      const res = await request(`${this.opts.url}/v1/exposures`, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.opts.dispatcher,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await res.body.text();
      if (res.statusCode === 202) {
        this.sent += batch.length;
        return;
      }
      // Refused (400: e.g. a revision two applies old): retrying would be refused again.
      if (res.statusCode < 500 && res.statusCode !== 429) {
        this.drop(batch.length, `refused: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
        return;
      }
      this.retryLater(batch, `HTTP ${res.statusCode}`);
    } catch (err) {
      this.retryLater(batch, (err as Error).message);
    }
  }

  private retryLater(batch: Pending[], reason: string): void {
    const again = batch.filter((p) => !p.retried);
    const room = Math.max(0, this.opts.maxBuffered - this.buffer.length);
    const kept = this.closed ? [] : again.slice(0, room);
    for (const p of kept) p.retried = true;
    this.buffer.unshift(...kept);
    this.drop(batch.length - kept.length, `not delivered: ${reason}`);
    // Do not spin against a Junction that is down: the kept batch waits for the next timer.
    if (kept.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => this.kick(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  private drop(count: number, reason: string): void {
    if (count <= 0) return;
    this.dropped += count;
    this.opts.emit({ type: 'exposures_dropped', count, total: this.dropped, reason });
  }
}
