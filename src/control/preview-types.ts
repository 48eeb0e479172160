// The answer of a change preview (SPEC §18): POST /admin/config/preview, the
// refusal of an apply that breaks an experiment, `junction apply --preview`
// and the console's Preview step all read this one shape. Field names are part
// of the admin API's contract.

/** Requests to one target per objective, replayed through the running config (`before`) and the proposed one (`after`). */
export interface TargetTraffic {
  target: string;
  before: number;
  after: number;
  /** Whether the target has a healthy replica now; null when this Junction runs no backend for it (a target the change adds). */
  healthy: boolean | null;
}

/** Exposed units of one experiment moving from one cell to another (`to: null`: out of the experiment). */
export interface CellMove {
  from: string;
  to: string | null;
  units: number;
}

/** An experiment whose already exposed units would change cell: its readout would mix treatments. */
export interface ExperimentBreak {
  experiment: string;
  /** Distinct live units exposed to it (in the replay of the running config) that would change cell. */
  units: number;
  cells: CellMove[];
}

export interface RolloutChange {
  /** The candidate's label before and after (null: no rollout on that side). */
  candidate: string | null;
  candidateAfter: string | null;
  /** Percent before and after (0 without a rollout). */
  from: number;
  to: number;
  /** Distinct units the running config's rollout sends to the candidate that the proposed one would not. */
  unitsBack: number;
  /** Units would leave the candidate, or the same candidate's percent goes down. */
  backwards: boolean;
}

export interface ObjectivePreview {
  objective: string;
  /** The proposed config no longer has this objective: every request would be refused. */
  removed: boolean;
  requests: number;
  /** Distinct units (requests with a unit). */
  units: number;
  changedRequests: number;
  /** Distinct units of which at least one request would change target. */
  changedUnits: number;
  shareRequestsChanged: number;
  shareUnitsChanged: number;
  targets: TargetTraffic[];
  breaks: ExperimentBreak[];
  rollouts: RolloutChange[];
  /** Requests the proposed config would send to a target with no healthy replica. */
  unhealthy: Array<{ target: string; requests: number }>;
  /**
   * Context keys the proposed config's rules or experiments read that the
   * decision log does not keep: replayed lines lack them, so decisions on
   * them are previewed as if the key was absent.
   */
  unlogged: string[];
}

export interface PreviewSkipped {
  /** Lines that are not JSON objects. */
  corrupt: number;
  /** Lines that are not decisions (rollout events). */
  notDecisions: number;
  /** Decisions of objectives neither config has. */
  unknownObjective: number;
}

export interface PreviewReport {
  /** The revision the "before" side is (the one named with ?revision=, else the live one, read once at the start). */
  revision: number;
  /** The live revision when the preview ended: differs from `revision` when another apply landed meanwhile. */
  live: number;
  /** `decision log`, or `no decision log` (nothing was replayed: breaks cannot be known). */
  basis: 'decision log' | 'no decision log';
  /** ISO 8601 bounds of the window replayed, or null with ?sample=. */
  window: { from: string; to: string } | null;
  /** The number of most recent log lines read with ?sample=N, else null. */
  sample: number | null;
  /** Decision lines replayed. */
  decisions: number;
  skipped: PreviewSkipped;
  /** Nothing was replayed: no logged traffic in the window (or no log). */
  empty: boolean;
  /** Says why the preview is empty or partial, in words; absent when it is neither. */
  note?: string;
  /** The change in words, as `PUT /admin/config?dryRun=true` gives it. */
  diff: string[];
  objectives: ObjectivePreview[];
  /** Every experiment break, flattened: what an apply must acknowledge. */
  breaks: Array<{ experiment: string; objective: string; units: number }>;
}
