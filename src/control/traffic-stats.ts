// What the console shows as live traffic (SPEC §11, §19): per objective and
// target, requests, errors, fallbacks, latency and time-to-first-byte
// histograms, tokens and cost in 10-second slots over the last five minutes,
// and per experiment cell its exposures. This is one process's share: the
// fleet view (fleet-traffic.ts) publishes the slots this marks dirty and sums
// every reporting process's.
//
// On the request path this is one Map lookup keyed by the precompiled Outcome
// object (no string is built) and a few increments, with no clock read: the
// slot comes from the record's end time, already measured. The grouping by
// objective, target and cell happens when the admin API asks or a publish is due.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/schema.js';
import type { Observer } from '../observe/record.js';
import type { Outcome } from '../routing/types.js';
import type { TrafficRow } from './fleet-traffic-types.js';
import { trafficObjectives, type TrafficObjectives } from './fleet-traffic-view.js';
import { bucketOf, LATENCY_BOUNDS_MS } from './gate-stats.js';

export type { CellExposure, ExperimentTraffic, TargetTraffic } from './fleet-traffic-view.js';

export const SLOT_SECONDS = 10;
export const SLOT_MS = SLOT_SECONDS * 1000;
/** Five minutes of slots: the longest window the admin API answers for, and what waits for a store that is down. */
export const SLOTS = 30;

interface Counters {
  /** Requests served through the invoke path. */
  requests: number;
  /** Answers with status ≥ 500. */
  errors: number;
  /** Answers a fallback gave (the routed target failed). */
  fallbacks: number;
  /** Routing-only decisions (POST /v1/decide): exposures, but no traffic on the target here. */
  decided: number;
  buckets: number[];
  ttft: number[];
  prompt: number;
  completion: number;
  cost: number;
  /**
   * The currency of `cost`: the first priced call's. An Outcome belongs to one
   * revision, so its target has one price; a fallback priced in another
   * currency is the one case left out of `cost` (its tokens still count).
   */
  currency: string;
}

interface Slot {
  /** Slot number (ms since epoch / SLOT_MS) the counters belong to. */
  index: number;
  byOutcome: Map<Outcome, Counters>;
  /**
   * Exposures arrive with an Outcome object of their own each (made from the
   * reported item): the first one of each decision stands for the rest, so the
   * slot grows with the decisions, not with the number of exposures.
   */
  exposed: Map<string, Outcome>;
  /** Counted into since its last publish (fleet-traffic.ts clears it, and sets it again when a publish fails). */
  dirty: boolean;
}

/** One process's traffic, as GET /admin/traffic answers it (`fleet` says whose, when the fleet view made it). */
export interface TrafficSnapshot {
  scope: { kind: 'process' | 'fleet'; host: string; pid: number; process?: string };
  slotSeconds: number;
  from: number;
  to: number;
  objectives: TrafficObjectives;
  fleet?: FleetSummary;
}

/** Who the fleet's numbers come from (SPEC §19). */
export interface FleetSummary {
  /** Processes whose numbers are in the sum (this one included). */
  processes: number;
  reporting: string[];
  /** Processes seen in the window whose numbers are left out: silent past the bound, or with a clock too far off. */
  stale: Array<{ name: string; lastSeen: string; reason: 'silent' | 'clock-skew'; skewMs?: number }>;
  windowSeconds: number;
  /** Set when the store could not be read: the numbers are this process's alone. */
  storeError?: string;
}

const newCounters = (): Counters => ({
  requests: 0,
  errors: 0,
  fallbacks: 0,
  decided: 0,
  buckets: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
  ttft: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
  prompt: 0,
  completion: 0,
  cost: 0,
  currency: '',
});

/**
 * Milliseconds since the epoch: `origin` + a record's `performance.now()`
 * times, and `now()` on the same scale (monotonic, so slots never go back).
 */
export interface TrafficClock {
  origin: number;
  now(): number;
}

const MONOTONIC: TrafficClock = {
  origin: performance.timeOrigin,
  now: () => performance.timeOrigin + performance.now(),
};

export class TrafficStats {
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => ({
    index: -1,
    byOutcome: new Map(),
    exposed: new Map(),
    dirty: false,
  }));
  readonly startedAt: number;
  /** Per-target aggregates of slots reused before they were published (the store down five minutes). */
  private unpublished = 0;

  constructor(readonly clock: TrafficClock = MONOTONIC) {
    this.startedAt = clock.now();
  }

  readonly observe: Observer = (r) => {
    const outcome = r.outcome;
    if (outcome === undefined) return;
    const index = Math.floor((this.clock.origin + r.end) / SLOT_MS);
    // A request served here ends now; an exposure reported by an SDK may be late (or early):
    // only the window being kept has slots (the clock is read for exposures alone).
    if (r.via !== 'invoke') {
      const newest = Math.floor(this.clock.now() / SLOT_MS);
      if (index > newest || index <= newest - SLOTS) return;
    }
    const slot = this.slots[index % SLOTS]!;
    if (slot.index !== index) {
      if (slot.dirty) this.unpublished += slot.byOutcome.size;
      slot.index = index;
      slot.byOutcome = new Map();
      slot.exposed = new Map();
    }
    slot.dirty = true;
    let key = outcome;
    if (r.via === 'sdk' || r.via === 'edge') {
      // Reported from elsewhere: a fresh Outcome per item, merged by what the view shows of it.
      // Invoke and decide records carry the compiled (shared) outcomes already.
      const name = `${outcome.objective}\0${outcome.target.id}\0${outcome.experiment ?? ''}\0${outcome.cell ?? ''}`;
      const first = slot.exposed.get(name);
      if (first === undefined) slot.exposed.set(name, outcome);
      else key = first;
    }
    let c = slot.byOutcome.get(key);
    if (!c) slot.byOutcome.set(key, (c = newCounters()));
    if (r.via !== 'invoke') {
      // Decided here (POST /v1/decide) or elsewhere (SDK, edge exposures): an exposure, not a request served.
      c.decided++;
      return;
    }
    c.requests++;
    if (r.status >= 500) c.errors++;
    if (r.fallback !== undefined) c.fallbacks++;
    c.buckets[bucketOf(r.end - r.start)]!++;
    if (r.firstByte !== undefined) c.ttft[bucketOf(r.firstByte - r.start)]!++;
    // As the spend ledger counts: a priced call the tokens it was costed from, another what it reported.
    const cost = r.cost;
    const tokens = cost !== undefined ? cost.tokens : r.cache === 'hit' ? undefined : r.usage;
    if (tokens !== undefined) {
      c.prompt += tokens.prompt;
      c.completion += tokens.completion;
    }
    if (cost !== undefined && cost.amount > 0) {
      if (c.currency === '') c.currency = cost.currency;
      if (c.currency === cost.currency) c.cost += cost.amount;
    }
  };

  /** This process's rows in slots [first, last] (grouped per objective, target, cell and currency). */
  rowsIn(first: number, last: number): TrafficRow[] {
    const out: TrafficRow[] = [];
    for (const slot of this.slots) if (slot.index >= first && slot.index <= last) rowsOf(slot, out);
    return out;
  }

  /** The rows of every slot counted into since its last publish, and those slots (to mark again if the publish fails). */
  takeDirty(): { rows: TrafficRow[]; slots: number[] } {
    const rows: TrafficRow[] = [];
    const slots: number[] = [];
    for (const slot of this.slots) {
      if (!slot.dirty) continue;
      slot.dirty = false;
      slots.push(slot.index);
      rowsOf(slot, rows);
    }
    return { rows, slots };
  }

  /** Slots a failed publish held: published again next time, unless the ring has reused them meanwhile. */
  markDirty(slots: readonly number[]): void {
    for (const index of slots) {
      const slot = this.slots[index % SLOTS]!;
      if (slot.index === index) slot.dirty = true;
      else this.unpublished += 1;
    }
  }

  /** Aggregates lost since the last call (slots reused before a publish took them). */
  takeUnpublished(): number {
    const n = this.unpublished;
    this.unpublished = 0;
    return n;
  }

  /** The last `minutes` (1–5) of this process's traffic, grouped for the live config's objectives and experiments. */
  snapshot(config: Config | undefined, minutes: number): TrafficSnapshot {
    const w = this.window(minutes);
    return {
      scope: { kind: 'process', host: hostname(), pid: process.pid },
      slotSeconds: SLOT_SECONDS,
      from: w.first * SLOT_MS,
      to: w.now,
      objectives: trafficObjectives(this.rowsIn(w.first, w.last), config, {
        first: w.first,
        count: w.count,
        slotMs: SLOT_MS,
        // Seconds the window really covers: not more than this process has been counting.
        seconds: Math.max(1, Math.min(w.count * SLOT_SECONDS, (w.now - this.startedAt) / 1000)),
      }),
    };
  }

  /** The slots of the last `minutes` (1–5) on this process's clock. */
  window(minutes: number): { now: number; first: number; last: number; count: number } {
    const now = this.clock.now();
    const last = Math.floor(now / SLOT_MS);
    const count = Math.min(SLOTS, Math.max(1, Math.round((minutes * 60) / SLOT_SECONDS)));
    return { now, first: last - count + 1, last, count };
  }
}

/** A slot's counters summed per (objective, target, experiment, cell, currency): the rows the view and the store take. */
function rowsOf(slot: Slot, out: TrafficRow[]): void {
  const byKey = new Map<string, TrafficRow>();
  for (const [o, c] of slot.byOutcome) {
    const experiment = o.experiment !== undefined && o.cell !== undefined ? o.experiment : '';
    const cell = experiment === '' ? '' : o.cell!;
    const key = `${o.objective}\0${o.target.id}\0${experiment}\0${cell}\0${c.currency}`;
    let r = byKey.get(key);
    if (r === undefined) {
      r = {
        slot: slot.index,
        objective: o.objective,
        target: o.target.id,
        experiment,
        cell,
        currency: c.currency,
        requests: 0,
        errors: 0,
        fallbacks: 0,
        decided: 0,
        latency: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
        ttft: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0),
        prompt: 0,
        completion: 0,
        cost: 0,
      };
      byKey.set(key, r);
      out.push(r);
    }
    r.requests += c.requests;
    r.errors += c.errors;
    r.fallbacks += c.fallbacks;
    r.decided += c.decided;
    for (let i = 0; i < c.buckets.length; i++) {
      r.latency[i]! += c.buckets[i]!;
      r.ttft[i]! += c.ttft[i]!;
    }
    r.prompt += c.prompt;
    r.completion += c.completion;
    r.cost += c.cost;
  }
}
