// The fleet's traffic (SPEC §19). Every process (replica or --workers worker)
// counts its own slots (traffic-stats.ts) and publishes the ones counted into
// since its last publish, in one batched write every `publishMs` (2 s) whatever
// the traffic, off the request path. GET /admin/traffic on any process sums
// its own slots (as counted this instant) with every other reporting
// process's published ones.
//
// A process is left out of the sum, and named as stale, when its last publish
// is older than `staleMs` by the store's clock (it died, or cannot reach the
// store), or when its clock is more than `maxSkewMs` off the store's (its
// slots would land in the wrong windows). While the store is down, slots wait
// in the ring of the last five minutes and go out with the next publish that
// succeeds (the process then reports again, caught up); a slot reused before
// that is dropped and counted (junction_dropped_total{sink="fleet_traffic"}).
// Serving never waits on any of it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import type { FleetProcess, FleetTrafficStore, TrafficRow } from './fleet-traffic-types.js';
import { trafficObjectives } from './fleet-traffic-view.js';
import {
  SLOT_MS,
  SLOT_SECONDS,
  SLOTS,
  type FleetSummary,
  type TrafficSnapshot,
  type TrafficStats,
} from './traffic-stats.js';

export const DEFAULT_PUBLISH_MS = 2000;
/** Five publishes missed: long enough for a GC pause or a slow store, short enough to see a dead replica. */
export const DEFAULT_STALE_MS = 10_000;
/** Half a slot: past it, a process's slots and the reader's disagree on which ten seconds they are. */
export const DEFAULT_MAX_SKEW_MS = 5000;
/** Rows and processes are kept twice the longest window, then deleted (by whichever process prunes). */
const RETAIN_MS = 2 * SLOTS * SLOT_MS;
const PRUNE_EVERY_MS = 30_000;

export interface FleetTrafficOptions {
  store: FleetTrafficStore;
  stats: TrafficStats;
  /** This process's name in the fleet (default host:pid:random, new at every start). */
  name?: string;
  publishMs?: number;
  staleMs?: number;
  maxSkewMs?: number;
  /** Told how many per-target slot aggregates were lost unpublished. */
  onDropped?: (count: number) => void;
  /** Told when a publish failed (its slots stay dirty for the next one). */
  onPublishError?: (err: unknown) => void;
  /** Told when the store says this process's clock is off by more than maxSkewMs. */
  onSkew?: (skewMs: number) => void;
}

export class FleetTraffic {
  readonly name: string;
  private readonly publishMs: number;
  private readonly staleMs: number;
  private readonly maxSkewMs: number;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  private seq = 0;
  /** This process's clock minus the store's, measured at the last publish that succeeded. */
  private skewMs = 0;
  private lastPrune = 0;
  private closed = false;

  constructor(private readonly opts: FleetTrafficOptions) {
    this.name = opts.name ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.publishMs = opts.publishMs ?? DEFAULT_PUBLISH_MS;
    this.staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  get stats(): TrafficStats {
    return this.opts.stats;
  }

  /** Publishes now, then every publishMs. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    void this.publish();
    this.timer = setInterval(() => void this.publish(), this.publishMs);
    this.timer.unref();
  }

  /** One publish of the dirty slots (and the heartbeat, even with none); one at a time, a second call joins the first. */
  publish(): Promise<void> {
    this.publishing ??= this.publishOnce().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private async publishOnce(): Promise<void> {
    const { stats, store } = this.opts;
    const { rows, slots } = stats.takeDirty();
    const lost = stats.takeUnpublished();
    if (lost > 0) this.opts.onDropped?.(lost);
    const now = stats.clock.now();
    try {
      const { storeNow } = await store.publishTraffic({
        process: this.name,
        startedAt: stats.startedAt,
        seq: ++this.seq,
        skewMs: this.skewMs,
        rows,
      });
      // The store read its clock somewhere within the round trip: only a time outside it is skew (a slow
      // store or a loaded machine makes the trip long, not the clock wrong). The next publish records it.
      const answered = stats.clock.now();
      this.skewMs = storeNow < now ? now - storeNow : storeNow > answered ? answered - storeNow : 0;
      if (Math.abs(this.skewMs) > this.maxSkewMs) this.opts.onSkew?.(this.skewMs);
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        await store.pruneTraffic(Math.floor((now - RETAIN_MS) / SLOT_MS), RETAIN_MS);
      }
    } catch (err) {
      stats.markDirty(slots);
      this.opts.onPublishError?.(err);
    }
  }

  /** The last `minutes` (1–5): this process's slots as counted now, plus every reporting process's published ones. */
  async snapshot(config: Config | undefined, minutes: number): Promise<TrafficSnapshot> {
    const { stats, store } = this.opts;
    const w = stats.window(minutes);
    const windowMs = w.count * SLOT_MS;
    const rows: TrafficRow[][] = [stats.rowsIn(w.first, w.last)];
    const reporting: FleetProcess[] = [];
    const stale: FleetSummary['stale'] = [];
    let storeError: string | undefined;
    try {
      for (const p of await store.fleetProcesses(windowMs)) {
        if (p.name === this.name) continue;
        if (p.ageMs > this.staleMs) stale.push({ name: p.name, lastSeen: p.lastSeen, reason: 'silent' });
        else if (Math.abs(p.skewMs) > this.maxSkewMs)
          stale.push({ name: p.name, lastSeen: p.lastSeen, reason: 'clock-skew', skewMs: p.skewMs });
        else reporting.push(p);
      }
      rows.push(
        await store.trafficRows(
          reporting.map((p) => p.name),
          w.first,
          w.last,
        ),
      );
    } catch (err) {
      // The admin API still answers: this process's own numbers, and why they are only that.
      reporting.length = 0;
      rows.length = 1;
      storeError = String((err as Error)?.message ?? err);
    }
    // The rate's denominator: the window, or less while the oldest reporting process has not counted that long.
    const since = Math.min(stats.startedAt, ...reporting.map((p) => p.startedAt));
    const seconds = Math.max(1, Math.min(w.count * SLOT_SECONDS, (w.now - since) / 1000));
    return {
      scope: { kind: 'fleet', host: hostname(), pid: process.pid, process: this.name },
      slotSeconds: SLOT_SECONDS,
      from: w.first * SLOT_MS,
      to: w.now,
      objectives: trafficObjectives(rows.flat(), config, { first: w.first, count: w.count, slotMs: SLOT_MS, seconds }),
      fleet: {
        processes: reporting.length + 1,
        reporting: [this.name, ...reporting.map((p) => p.name)],
        stale,
        windowSeconds: w.count * SLOT_SECONDS,
        ...(storeError === undefined ? {} : { storeError }),
      },
    };
  }

  /** Stops the timer and publishes the last slots (a process that stops leaves its complete numbers). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.publishing;
    if (this.seq > 0) await this.publish();
  }
}
