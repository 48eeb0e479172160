// Each replica's share of the fleet readout (issue 28, item 2; SPEC §19):
// experiment exposures, per-cell counts and latency, and feedback, gathered in
// memory off the request path and written to PostgreSQL in batches every
// `flushMs` (and on close). On the request path: a few string keys and Map
// lookups for calls that reached an experiment; nothing waits on the store.
//
// Bounded: at most `maxEntries` keys wait (the batch being retried included);
// a new key past it is dropped and counted (junction_dropped_total
// {sink="fleet_readout"}), so with PostgreSQL down serving is unaffected and
// memory stays put. A failed batch is sent again as it was, under the same
// (process, seq), so a flush that PostgreSQL applied but whose answer was lost
// is not counted twice. A replica killed outright loses what it gathered since
// its last flush: at most `flushMs` of its traffic, and never more than
// `maxEntries` keys.
//
// Feedback names its unit, or the request it answers. A request this process
// served in the last `recentRequests` is resolved here; another is parked in
// the store for the replica that served it to resolve at its next flush.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { EndedRecord, Observer } from '../observe/record.js';
import { latencyBucket } from '../readout/latency-buckets.js';
import { ReadoutBatch } from './fleet-readout-batch.js';
import { applyBatch, prune, resolvePending } from './fleet-readout-sql.js';
import { fleetSchema } from './fleet-readout-schema.js';
import { RecentMap } from './recent-map.js';

export interface FleetReadoutWriterOptions {
  /** The store's postgres:// URL (`?schema=` as the store reads it). */
  url: string;
  /** How often a batch is written (default 2 s). */
  flushMs?: number;
  /** Keys held at most between flushes (default 200,000: about 40 MB). */
  maxEntries?: number;
  /** Requests remembered to resolve feedback by request id (default 100,000). */
  recentRequests?: number;
  /** Told how many keys were dropped (the bound was reached, or the last batch failed on close). */
  onDropped?: (count: number) => void;
  /** Told when a flush failed (its batch is kept and sent again). */
  onFlushError?: (err: unknown) => void;
}

/** One line of feedback, as the feedback route checked it. */
export interface FeedbackItem {
  requestId: string | null;
  objective: string | null;
  unit: string | null;
  metric: string;
  value: number;
}

const PRUNE_EVERY_MS = 60_000;

export class FleetReadoutWriter {
  /** This process in readout_batches: a restarted process is a new one. */
  readonly process = randomUUID();
  private readonly pool: pg.Pool;
  private readonly q: string;
  private readonly timer: NodeJS.Timeout;
  private readonly maxEntries: number;
  private pending = new ReadoutBatch();
  /** A batch the store did not take, with the seq it is sent again under. */
  private retry: { seq: number; batch: ReadoutBatch } | undefined;
  private seq = 0;
  private flushing: Promise<void> | undefined;
  private lastPrune = 0;
  private closed = false;
  /** Requests served lately → their objective and unit (feedback by request id). */
  private readonly recent: RecentMap<{ objective: string; unit: string }>;
  /** Units already gathered with their cell: a repeat exposure in the same cell adds nothing to the exposures table. */
  private readonly sent: RecentMap<string>;

  constructor(private readonly opts: FleetReadoutWriterOptions) {
    const { url, schema } = fleetSchema(opts.url);
    this.q = `"${schema}"`;
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
    // An idle client that loses its connection must not crash the process; the next flush reconnects.
    this.pool.on('error', () => undefined);
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.recent = new RecentMap(opts.recentRequests ?? 100_000);
    this.sent = new RecentMap(opts.recentRequests ?? 100_000);
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 2000);
    this.timer.unref();
  }

  /** Request observer: live calls and reported exposures that reached an experiment's cell. */
  readonly observe: Observer = (r) => {
    const o = r.outcome;
    if (o?.experiment === undefined || o.cell === undefined || r.trafficClass !== 'live' || this.closed) return;
    // A call without a unit is its own unit, as the decision-log readout counts it.
    const unit = r.unit ?? `request:${r.requestId}`;
    const at = performance.timeOrigin + r.start;
    const key = `${o.experiment}\u0001${unit}`;
    const sentCell = this.sent.get(key);
    if (sentCell !== o.cell && !this.pending.exposures.has(key) && !this.room()) return;
    if (sentCell !== o.cell) {
      this.pending.addExposure(
        {
          experiment: o.experiment,
          unit,
          objective: o.objective,
          cell: o.cell,
          revision: o.revision,
          at,
          several: sentCell !== undefined,
        },
        key,
      );
      this.sent.set(key, o.cell);
    }
    this.countCell(r, o.experiment, o.cell);
    this.recent.set(r.requestId, { objective: o.objective, unit });
  };

  /** Feedback the route accepted: by request (resolved here, or parked for its replica) or by objective and unit. */
  feedback(items: readonly FeedbackItem[]): void {
    if (this.closed) return;
    for (const f of items) {
      if (f.requestId !== null) {
        const u = this.recent.get(f.requestId);
        if (u !== undefined) this.addFeedback(u.objective, u.unit, f.metric, f.value);
        else if (this.pending.pending.has(`${f.requestId}\u0001${f.metric}`) || this.room())
          this.pending.addPending(f.requestId, f.metric, f.value);
      } else if (f.objective !== null && f.unit !== null) {
        this.addFeedback(f.objective, f.unit, f.metric, f.value);
      }
    }
  }

  /** Keys waiting for a flush (the retried batch included). */
  get size(): number {
    return this.pending.size + (this.retry?.batch.size ?? 0);
  }

  /** Writes the retried batch, then what is pending; one flush at a time. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Stops the timer and flushes once more; what still does not reach the store is dropped (counted). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    const left = this.size;
    if (left > 0) this.opts.onDropped?.(left);
    await this.pool.end().catch(() => undefined);
  }

  private async write(): Promise<void> {
    try {
      if (this.retry !== undefined) {
        await applyBatch(this.pool, this.q, this.process, this.retry.seq, this.retry.batch);
        this.retry = undefined;
      }
      if (this.pending.size > 0) {
        const batch = this.pending;
        this.pending = new ReadoutBatch();
        this.retry = { seq: ++this.seq, batch };
        await applyBatch(this.pool, this.q, this.process, this.retry.seq, batch);
        this.retry = undefined;
      }
      await resolvePending(this.pool, this.q, (id) => this.recent.get(id));
      const now = Date.now();
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        // Parked feedback no replica resolved within the hour (its request was no experiment's, or its replica died first).
        const unresolved = await prune(this.pool, this.q);
        if (unresolved > 0) this.opts.onDropped?.(unresolved);
      }
    } catch (err) {
      this.opts.onFlushError?.(err);
    }
  }

  private room(): boolean {
    if (this.size < this.maxEntries) return true;
    this.opts.onDropped?.(1);
    return false;
  }

  private addFeedback(objective: string, unit: string, metric: string, value: number): void {
    if (this.pending.feedback.has(`${objective}\u0001${unit}\u0001${metric}`) || this.room())
      this.pending.addFeedback(objective, unit, metric, value);
  }

  private countCell(r: EndedRecord, experiment: string, cell: string): void {
    const o = r.outcome!;
    const balance = o.balance ?? '';
    const key = `${experiment}\u0001${cell}\u0001${o.revision}\u0001${o.target.id}\u0001${balance}\u0001${o.objective}`;
    if (!this.pending.cells.has(key) && !this.room()) return;
    const c = this.pending.cell(key, () => ({
      experiment,
      objective: o.objective,
      cell,
      revision: o.revision,
      target: o.target.id,
      balance,
    }));
    c.exposures++;
    if (r.via !== 'invoke') return;
    c.served++;
    if (r.status >= 500 || r.fallback !== undefined) c.errors++;
    c.latency[latencyBucket(r.end - r.start)]!++;
    if (r.firstByte !== undefined) c.ttft[latencyBucket(r.firstByte - r.start)]!++;
  }
}
