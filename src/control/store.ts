// Where revisions live. Two implementations with one contract: embedded SQLite
// (one machine, `--data DIR`) and PostgreSQL (several replicas, `--store
// postgres://…`). Revisions are append-only; numbering is assigned by the store
// inside one transaction so two writers never get the same number.
import type { FleetTrafficStore } from './fleet-traffic-types.js';
import type { SpendEntry, SpendQuery, SpendTotal } from './spend-types.js';

export interface RevisionSummary {
  number: number;
  author: string;
  /** ISO 8601, UTC. */
  createdAt: string;
  message: string;
  /** Readable change from the previous revision (config-diff.ts). */
  diff: string;
  /** What the author vouched for when the change needed it; absent when nothing was. */
  notes?: RevisionNotes;
}

/** Safety checks an author overrode, recorded in the revision so that anyone reading history sees it (SPEC §18). */
export interface RevisionNotes {
  /** Experiments this change was previewed to break (exposed units change cell), acknowledged by the author. */
  acknowledged?: string[];
  /** Why a refused change was forced (a rollout that reaches no units, or has no health gate). */
  forced?: string;
}

export interface StoredRevision extends RevisionSummary {
  /** The config as its author wrote it (a plain JSON value). */
  source: unknown;
  /**
   * The text the author submitted (YAML or JSON, comments and key order as
   * written), when the change came as text; absent for edits Junction made
   * (rollout actions, keys) and for revisions stored before it was kept.
   */
  text?: string;
}

export interface RevisionDraft {
  author: string;
  message: string;
  source: unknown;
  /** The submitted text `source` was parsed from, kept for editors (comments and order survive). */
  text?: string;
  notes?: RevisionNotes;
  /** Write nothing when the source equals the latest revision's (seeding, watch). */
  onlyIfChanged?: boolean;
  /** Write nothing when the store already has a revision (seeding from a config given at start). */
  onlyIfEmpty?: boolean;
  /**
   * Compare-and-set: write only while the latest revision is this number (0: none), else throw
   * RevisionConflict. An edit computed from revision N then never lands on top of N+1 and undoes it.
   */
  ifLatest?: number;
}

/** `append` with `ifLatest` found a newer revision than the one the change was computed from. */
export class RevisionConflict extends Error {
  constructor(
    readonly expected: number,
    readonly found: number,
  ) {
    super(`revision ${found} was stored while a change to revision ${expected} was being made`);
    this.name = 'RevisionConflict';
  }
}

/** One arm's gate counters as a replica publishes them and the store sums them (gate-stats.ts fills them). */
export interface ArmCounters {
  requests: number;
  errors: number;
  /** Latency histogram over BOUNDS_MS. */
  buckets: number[];
  /** Time to first byte (first token of a stream) over BOUNDS_MS. */
  ttft: number[];
  /** Shadow comparisons in which this target was the shadow. */
  agree: number;
  disagree: number;
  /** Output scores of sampled replies, SCORE_BUCKETS equal buckets over [0, 1]. */
  scores: number[];
}

export interface GateArm {
  objective: string;
  target: string;
  counters: ArmCounters;
}

/** Published counters of replicas silent this long are dropped (they stopped long ago). */
export const GATE_STATS_TTL_MS = 24 * 3600_000;

/** The fleet's traffic (SPEC §19: every process publishes its slots, any admin API sums them) is in FleetTrafficStore. */
export interface Store extends FleetTrafficStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, for logs (never includes a password). */
  readonly location: string;
  latest(): Promise<StoredRevision | undefined>;
  latestNumber(): Promise<number>;
  get(number: number): Promise<StoredRevision | undefined>;
  /** Newest first. */
  list(limit: number): Promise<RevisionSummary[]>;
  /** Appends revision N+1; undefined when `onlyIfChanged` and nothing changed, or `onlyIfEmpty` and there is a revision. */
  append(draft: RevisionDraft): Promise<StoredRevision | undefined>;
  /**
   * Leadership for work exactly one process may do (the rollout controller):
   * true while `holder` leads. PostgreSQL: a session advisory lock (released
   * when the connection drops); SQLite: a lease renewed within `ttlMs`.
   */
  tryLead(holder: string, ttlMs: number): Promise<boolean>;
  /** Replaces this replica's cumulative gate counters (every replica publishes; the leader sums). */
  publishGateStats(replica: string, arms: readonly GateArm[]): Promise<void>;
  /** Every replica's counters for an objective, summed per target. */
  readGateStats(objective: string): Promise<Map<string, ArmCounters>>;
  /** Adds a process's spend ledger batch to the store's rows (summed per hour and key: spend-types.ts). */
  addSpend(entries: readonly SpendEntry[]): Promise<void>;
  /** Sums the spend ledger over [from, to), by one dimension or in all (GET /admin/spend; budgets seed their counters from it). */
  sumSpend(query: SpendQuery): Promise<SpendTotal[]>;
  /** Calls back when another process may have appended (PostgreSQL NOTIFY); a no-op where there is none. */
  subscribe(onChange: () => void): void;
  close(): Promise<void>;
}

/** Stable text of a config source: same meaning, same text, whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** True when a draft's notes say anything (an empty list or blank reason is nothing to record). */
export function hasNotes(notes: RevisionNotes | undefined): notes is RevisionNotes {
  return notes !== undefined && ((notes.acknowledged?.length ?? 0) > 0 || (notes.forced ?? '').trim() !== '');
}

/**
 * Whether a draft would store nothing new: the same meaning, and no new text
 * (a comment-only edit of the submitted text is a change worth keeping).
 */
export function sameRevision(prevSource: unknown, prevText: string | null | undefined, draft: RevisionDraft): boolean {
  if (canonicalJson(prevSource) !== canonicalJson(draft.source)) return false;
  return draft.text === undefined || draft.text === (prevText ?? undefined);
}
