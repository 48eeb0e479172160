// The replay of a change preview (SPEC §18): logged decisions go through the
// routing core twice, once with the running config and once with the proposed
// one (`decide`, the very function that routes requests, so the preview is
// exact for every context key the log kept), and what differs is counted.
// Pure: the caller hands it lines one at a time (it holds no line), the
// compiled tables and a health lookup; it holds one entry per distinct unit
// and objective, nothing per line.
import { armLabel } from '../config/schema.js';
import { BucketMemo } from '../routing/bucket-memo.js';
import { decide } from '../routing/decide.js';
import type { CompiledObjective, Outcome, RoutingRequest, RoutingTable } from '../routing/types.js';
import type { TrafficClass } from '../config/schema.js';
import { LineReader, type LoggedDecision } from './preview-line.js';
import type { CellMove, ExperimentBreak, ObjectivePreview, PreviewSkipped, RolloutChange } from './preview-types.js';

export type { LoggedDecision };

export interface ReplayOptions {
  before: RoutingTable;
  after: RoutingTable;
  /** Whether a target has a healthy replica now; undefined when unknown (no backend runs for it). */
  healthy: (target: string) => boolean | undefined;
  /** Per objective, the context keys the proposed config reads that the log does not keep. */
  unlogged?: (objective: string) => string[];
}

/** A unit's flags in one objective's tally. */
const CHANGED = 1;
const ROLLED_BACK = 2;

/** Buckets remembered across the replay: units come back, and a bucket is the same on both sides. */
const MEMO_CAPACITY = 1 << 16;

class ObjectiveTally {
  requests = 0;
  changedRequests = 0;
  readonly units = new Map<string, number>();
  changedUnits = 0;
  readonly before = new Map<string, number>();
  readonly after = new Map<string, number>();
  /** Per experiment, its exposed units that move, with the move each made first. */
  readonly moved = new Map<string, Map<string, string>>();
  unitsBack = 0;
  readonly unhealthy = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly was: CompiledObjective,
    readonly next: CompiledObjective | undefined,
  ) {}
}

export class Replay {
  readonly skipped: PreviewSkipped = { corrupt: 0, notDecisions: 0, unknownObjective: 0 };
  decisions = 0;
  private readonly tallies = new Map<string, ObjectiveTally>();
  private readonly memo = new BucketMemo(MEMO_CAPACITY);
  private readonly reader = new LineReader();
  /** One request object, refilled per line: decide() reads it synchronously and keeps nothing. */
  private readonly req: RoutingRequest = {
    unit: undefined,
    randomUnit: undefined,
    context: {},
    trafficClass: 'live',
    override: undefined,
    overrideSource: undefined,
    mayOverride: false,
    overrideTargets: undefined,
  };

  constructor(private readonly opts: ReplayOptions) {}

  /** One line of the decision log. Never throws: a line that is not a decision is counted and skipped. */
  line(text: string): void {
    const quick = this.reader.read(text);
    if (quick !== undefined) {
      this.decision(quick);
      return;
    }
    let d: unknown;
    try {
      d = JSON.parse(text);
    } catch {
      this.skipped.corrupt++;
      return;
    }
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      this.skipped.corrupt++;
      return;
    }
    this.decision(d);
  }

  /** One decision already parsed (the line's fields as the log writes them). */
  decision(d: LoggedDecision): void {
    if (typeof d.via !== 'string' || typeof d.objective !== 'string') {
      this.skipped.notDecisions++;
      return;
    }
    const t = this.tally(d.objective);
    if (t === undefined) {
      this.skipped.unknownObjective++;
      return;
    }
    const unit = typeof d.unit === 'string' && d.unit !== '' ? d.unit : undefined;
    const trafficClass: TrafficClass =
      d.trafficClass === 'test' || d.trafficClass === 'synthetic' ? d.trafficClass : 'live';
    this.decisions++;
    t.requests++;
    // An override named its target itself: no config decides it, on either side.
    if (d.rule === 'override' && typeof d.target === 'string') {
      count(t.before, d.target);
      count(t.after, d.target);
      if (unit !== undefined && !t.units.has(unit)) t.units.set(unit, 0);
      this.health(t, d.target);
      return;
    }
    const req = this.req;
    req.unit = unit;
    // A request without a unit was allocated at random: its request id stands in, the same on both sides.
    req.randomUnit = unit === undefined ? (typeof d.requestId === 'string' ? d.requestId : '') : undefined;
    req.context = isContext(d.context) ? d.context : NO_CONTEXT;
    req.trafficClass = trafficClass;
    const was = decide(this.opts.before, t.was, req, undefined, this.memo);
    const next = t.next === undefined ? undefined : decide(this.opts.after, t.next, req, undefined, this.memo);
    count(t.before, was.target.id);
    if (next !== undefined) {
      count(t.after, next.target.id);
      this.health(t, next.target.id);
    }
    const changed = next === undefined || next.target.id !== was.target.id;
    if (changed) t.changedRequests++;
    if (unit === undefined) return;
    let flags = t.units.get(unit);
    if (flags === undefined) flags = 0;
    if (changed && (flags & CHANGED) === 0) {
      flags |= CHANGED;
      t.changedUnits++;
    }
    if (was.step === 'rollout' && changed && (flags & ROLLED_BACK) === 0) {
      flags |= ROLLED_BACK;
      t.unitsBack++;
    }
    t.units.set(unit, flags);
    // Exposure counts for live traffic only (SPEC §2.1): a unit exposed to a cell that the proposed config moves.
    if (trafficClass === 'live' && was.experiment !== undefined && t.next !== undefined) {
      if (next!.experiment !== was.experiment || next!.cell !== was.cell) this.moved(t, was, next!, unit);
    }
  }

  private moved(t: ObjectiveTally, was: Outcome, next: Outcome, unit: string): void {
    // An experiment the proposed config ends (removes) has nothing left to read out: not a break.
    if (!t.next!.experiments.some((e) => e.id === was.experiment)) return;
    let units = t.moved.get(was.experiment!);
    if (units === undefined) t.moved.set(was.experiment!, (units = new Map<string, string>()));
    if (units.has(unit)) return;
    units.set(unit, `${was.cell}\u0000${next.experiment === was.experiment ? next.cell : ''}`);
  }

  private health(t: ObjectiveTally, target: string): void {
    if (this.opts.healthy(target) === false) count(t.unhealthy, target);
  }

  private tally(objective: string): ObjectiveTally | undefined {
    let t = this.tallies.get(objective);
    if (t === undefined) {
      const was = this.opts.before.objectives.get(objective);
      if (was === undefined) return undefined;
      t = new ObjectiveTally(objective, was, this.opts.after.objectives.get(objective));
      this.tallies.set(objective, t);
    }
    return t;
  }

  /** What the lines so far add up to, per objective (sorted by name). */
  objectives(): ObjectivePreview[] {
    return [...this.tallies.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => this.report(t));
  }

  private report(t: ObjectiveTally): ObjectivePreview {
    const names = new Set([...t.before.keys(), ...t.after.keys()]);
    const targets = [...names].sort().map((target) => ({
      target,
      before: t.before.get(target) ?? 0,
      after: t.after.get(target) ?? 0,
      healthy: this.opts.healthy(target) ?? null,
    }));
    return {
      objective: t.name,
      removed: t.next === undefined,
      requests: t.requests,
      units: t.units.size,
      changedRequests: t.changedRequests,
      changedUnits: t.changedUnits,
      shareRequestsChanged: share(t.changedRequests, t.requests),
      shareUnitsChanged: share(t.changedUnits, t.units.size),
      targets,
      breaks: breaksOf(t),
      rollouts: rolloutChange(t),
      unhealthy: [...t.unhealthy]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([target, requests]) => ({ target, requests })),
      unlogged: this.opts.unlogged?.(t.name) ?? [],
    };
  }
}

const NO_CONTEXT: Readonly<Record<string, string>> = Object.freeze({});

function isContext(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}

function breaksOf(t: ObjectiveTally): ExperimentBreak[] {
  const out: ExperimentBreak[] = [];
  for (const [experiment, units] of [...t.moved].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const moves = new Map<string, number>();
    for (const move of units.values()) count(moves, move);
    const cells: CellMove[] = [...moves]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([move, n]) => {
        const [from, to] = move.split('\u0000') as [string, string];
        return { from, to: to === '' ? null : to, units: n };
      });
    out.push({ experiment, units: units.size, cells });
  }
  return out;
}

function rolloutChange(t: ObjectiveTally): RolloutChange[] {
  const was = t.was.config.rollout;
  const next = t.next?.config.rollout;
  if (was === undefined && next === undefined) return [];
  const candidate = was === undefined ? null : armLabel(was.candidate);
  const candidateAfter = next === undefined ? null : armLabel(next.candidate);
  const from = was?.percent ?? 0;
  const to = next?.percent ?? 0;
  return [
    {
      candidate,
      candidateAfter,
      from,
      to,
      unitsBack: t.unitsBack,
      backwards: t.unitsBack > 0 || (candidate !== null && candidate === candidateAfter && to < from),
    },
  ];
}
