// Walks gated rollouts through their steps (SPEC §6): every tick, the leader
// judges each running rollout on the live traffic since its step began
// (rollout-step.ts) and writes the outcome as a new revision: the next
// percent, a promotion, or an abort that names the broken gate. Exactly one
// process acts (the store's leader lease); each write is "only if changed", so
// even two overlapping leaders could not double-step a rollout.
//
// Gates are judged on every replica's traffic: each process publishes its
// counters to the store on every tick, the deciding process reads their sum.
// They count only the requests the rollout itself routed: the candidate's from
// the rollout step, the baseline's from the default it fell through to
// (gate-stats.ts), so the controller, `junction rollout status` and the
// console's gate view agree on one number.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../call/hooks.js';
import type { ControlPlane } from './control-plane.js';
import {
  DEFAULT_SCORE_SAMPLE,
  emptyCounters,
  GateStats,
  since,
  type ArmCounters,
  type TrackedObjective,
} from './gate-stats.js';
import { armLabel } from '../config/schema.js';
import { applyRolloutAction, setRolloutPercent } from './rollout-actions.js';
import { rolloutStep, type ArmStats, type GateVerdict, type StepDecision } from './rollout-step.js';
import { rolloutFindings } from './rollout-guard.js';

export const CONTROLLER_AUTHOR = 'rollout-controller';

export interface RolloutControllerOptions {
  control: ControlPlane;
  log: Logger;
  /** Default 5 s. */
  intervalMs?: number;
  /** Milliseconds clock; injected by tests. */
  now?: () => number;
  /** Told of every move the controller makes (the decision log writes it as a rollout event). */
  onMove?: (event: RolloutEvent) => void;
}

/** A rollout event line of the decision log: what moved, why, and every gate's numbers. */
export interface RolloutEvent {
  time: string;
  event: 'rollout';
  objective: string;
  candidate: string;
  action: 'advance' | 'promote' | 'rollback';
  fromPercent: number;
  toPercent: number | null;
  reason: string;
  gates: GateVerdict[];
  revision: number | undefined;
}

/** What the gates were judged on at the last pass: every replica's traffic since the step began. */
export interface GateWindow {
  candidate: ArmStats;
  baseline: ArmStats;
  heldSeconds: number;
}

interface StepStart {
  at: number;
  candidate: ArmCounters;
  baseline: ArmCounters;
}

export class RolloutController {
  readonly stats: GateStats;
  private readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly starts = new Map<string, StepStart>();
  /** The latest judgement per objective, for `junction rollout OBJECTIVE status` (any replica can answer). */
  private readonly judged = new Map<string, { candidate: string; decision: StepDecision; window?: GateWindow }>();
  /** Per objective whose rollout reaches no live unit (rollout-guard.ts), why: it is never advanced nor promoted. */
  private unreached: ReadonlyMap<string, string> = new Map();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly opts: RolloutControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.stats = new GateStats();
    opts.control.runtime.onRevision((next) => {
      const tracked = new Map<string, TrackedObjective>();
      const unreached = new Map<string, string>();
      for (const [name, o] of Object.entries(next.config.objectives)) {
        const nobody = o.rollout && rolloutFindings(name, o)?.warnings.find((w) => w.code === 'reaches_no_units');
        if (nobody) unreached.set(name, nobody.message);
        const gates = o.rollout?.gates;
        if (o.rollout)
          tracked.set(name, {
            scoreSample: gates?.maxScoreDrift === undefined ? 0 : (gates.scoreSample ?? DEFAULT_SCORE_SAMPLE),
            baseline: o.default,
            candidate: o.rollout.candidate,
          });
      }
      this.stats.track(tracked);
      this.unreached = unreached;
    });
  }

  start(): void {
    const every = this.opts.intervalMs ?? 5000;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** One pass over every rollout (the timer calls it; tests call it with an injected clock). */
  tick(): Promise<void> {
    this.ticking ??= this.pass().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    const { control, log } = this.opts;
    const live = control.runtime.current;
    if (!live) return;
    const mine = this.stats.entries();
    const active = new Set<string>();
    let leads: boolean | undefined;
    try {
      if (mine.length > 0) await control.store.publishGateStats(this.holder, mine);
    } catch (err) {
      log.error({ err: String(err) }, 'rollout controller: cannot publish gate statistics');
      return;
    }
    for (const [objective, o] of Object.entries(live.config.objectives)) {
      const r = o.rollout;
      if (!r) continue;
      let merged: Map<string, ArmCounters>;
      try {
        merged = await control.store.readGateStats(objective);
      } catch (err) {
        log.error({ objective, err: String(err) }, 'rollout controller: cannot read gate statistics');
        continue;
      }
      // Arms are published by label: `chat@1`, or `chat@1 balance=prefix` for a balancer arm (gate-stats.ts).
      const read = (arm: string) => merged.get(arm) ?? emptyCounters();
      const candidate = armLabel(r.candidate);
      // A new step (or a new candidate, or a resume) starts a new judgement window.
      const key = `${objective}\0${candidate}\0${r.percent}\0${r.state}`;
      active.add(key);
      let start = this.starts.get(key);
      if (!start) {
        start = { at: this.now(), candidate: read(candidate), baseline: read(o.default) };
        this.starts.set(key, start);
        this.judged.set(objective, {
          candidate,
          decision: { kind: 'hold', reason: `step ${r.percent}% just began` },
        });
        continue;
      }
      const window: GateWindow = {
        candidate: since(read(candidate), start.candidate),
        baseline: since(read(o.default), start.baseline),
        heldSeconds: (this.now() - start.at) / 1000,
      };
      let decision = rolloutStep({ rollout: r, ...window });
      // Steps are shares of units: walking them while none is reached would tell nothing (a forced start, or a config
      // applied as a whole). A gate still rolls back what traffic it saw.
      const nobody = this.unreached.get(objective);
      if (nobody !== undefined && (decision.kind === 'advance' || decision.kind === 'promote'))
        decision = { kind: 'hold', reason: `held at ${r.percent}%: ${nobody}`, gates: decision.gates };
      this.judged.set(objective, { candidate, decision, window });
      if (decision.kind === 'hold') continue;
      try {
        leads ??= await control.store.tryLead(this.holder, (this.opts.intervalMs ?? 5000) * 3);
        if (leads) await this.act(objective, candidate, r.percent, decision);
      } catch (err) {
        log.error({ objective, err: String(err) }, 'rollout controller: could not act');
      }
    }
    for (const key of this.starts.keys()) if (!active.has(key)) this.starts.delete(key);
    for (const objective of this.judged.keys())
      if (!live.config.objectives[objective]?.rollout) this.judged.delete(objective);
  }

  /** What the controller last concluded about an objective's rollout, if it has judged it. */
  lastJudgement(objective: string, candidate: string): StepDecision | undefined {
    const j = this.judged.get(objective);
    return j?.candidate === candidate ? j.decision : undefined;
  }

  /** The gate values behind that judgement (none before the step's first full pass). */
  lastWindow(objective: string, candidate: string): GateWindow | undefined {
    const j = this.judged.get(objective);
    return j?.candidate === candidate ? j.window : undefined;
  }

  private async act(
    objective: string,
    candidate: string,
    fromPercent: number,
    d: Exclude<StepDecision, { kind: 'hold' }>,
  ): Promise<void> {
    const { control, log } = this.opts;
    const judgedOn = control.liveNumber;
    const verb = d.kind === 'rollback' ? 'rolled back' : d.kind === 'promote' ? 'promoted' : 'advanced';
    const message = `rollout controller ${verb} ${candidate} on ${objective}: ${d.reason}`;
    let stale = false;
    const result = await control.edit({
      // Judged on the live revision: if the store moved on (a pause, an abort, another step),
      // change nothing now and judge again next tick.
      edit: (latest, number) => {
        if (number !== judgedOn) {
          stale = true;
          return latest;
        }
        return d.kind === 'advance'
          ? setRolloutPercent(latest, objective, d.percent)
          : applyRolloutAction(latest, objective, d.kind === 'promote' ? 'promote' : 'abort');
      },
      author: CONTROLLER_AUTHOR,
      message,
      onlyIfChanged: true,
    });
    if (stale) return;
    if (result.unchanged) return;
    log[d.kind === 'rollback' ? 'warn' : 'info'](
      { objective, candidate, revision: result.revision, gates: d.gates },
      message,
    );
    this.opts.onMove?.({
      time: new Date(this.now()).toISOString(),
      event: 'rollout',
      objective,
      candidate,
      action: d.kind,
      fromPercent,
      toPercent: d.kind === 'advance' ? d.percent : d.kind === 'promote' ? 100 : 0,
      reason: d.reason,
      gates: d.gates ?? [],
      revision: result.revision,
    });
  }

  /** Stops ticking and lets a pass in progress finish (it still needs the store). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }
}
