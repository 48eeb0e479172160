// The routing core's vocabulary. Everything here is built once per config
// revision (compile.ts) and only read on the request path.
import type {
  Balance,
  BackendConfig,
  InterfaceName,
  ModelClassName,
  ObjectiveConfig,
  PriceConfig,
  TrafficClass,
} from '../config/schema.js';

/** A deployable `model@version` with where it runs. Shared by every objective that names it. */
export interface Target {
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly modelClass: ModelClassName;
  readonly backend: BackendConfig;
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  /** What a call to it costs (SPEC §16), frozen with the revision: a request is costed at its own revision's price. */
  readonly price?: PriceConfig | undefined;
}

export type Step = 'override' | 'pin' | 'rule' | 'experiment' | 'rollout' | 'default';

/**
 * A possible result of routing, precomputed at compile time so that deciding
 * allocates nothing: the `x-decision` header strings are built once here.
 */
export interface Outcome {
  readonly objective: string;
  readonly target: Target;
  readonly step: Step;
  /** `override`, `pin`, `rule:<id>`, `experiment:<id>`, `rollout`, `default`. */
  readonly rule: string;
  readonly experiment: string | undefined;
  readonly cell: string | undefined;
  readonly revision: number;
  /** The balancer a cell or rollout names with its target (`use: { target, balance }`); the backend's own otherwise. */
  readonly balance?: Balance;
  /** `x-decision` value when the request carried a unit. */
  readonly header: string;
  /** `x-decision` value when it did not (`unit=none`: allocation was random). */
  readonly headerNoUnit: string;
}

export interface CompiledWhen {
  readonly context: ReadonlyArray<readonly [key: string, values: ReadonlySet<string>]>;
  readonly trafficClasses: ReadonlySet<TrafficClass> | undefined;
}

export interface CompiledRule {
  readonly id: string;
  readonly when: CompiledWhen;
  readonly outcome: Outcome;
}

export interface CompiledCell {
  readonly name: string;
  /** Exclusive upper bound of this cell's bucket range. */
  readonly upper: number;
  readonly outcome: Outcome;
}

export interface CompiledExperiment {
  readonly id: string;
  readonly salt: string;
  readonly when: CompiledWhen | undefined;
  /** Units whose bucket is below this are in the population (population × 10000). */
  readonly populationUpper: number;
  readonly cells: readonly CompiledCell[];
}

export interface CompiledRollout {
  readonly salt: string;
  readonly percent: number;
  /** percent × 100: buckets below go to the candidate. */
  readonly upper: number;
  readonly outcome: Outcome;
}

export interface CompiledObjective {
  readonly name: string;
  readonly interface: InterfaceName;
  readonly config: ObjectiveConfig;
  readonly revision: number;
  readonly allowOverride: boolean;
  readonly pins: ReadonlyMap<string, Outcome>;
  readonly rules: readonly CompiledRule[];
  readonly ruleIndex: RuleIndex;
  readonly experiments: readonly CompiledExperiment[];
  readonly rollout: CompiledRollout | undefined;
  readonly default: Outcome;
  /** Override outcomes, built on first use per target (bounded by the number of targets). */
  readonly overrides: Map<string, Outcome>;
}

export interface RoutingTable {
  readonly revision: number;
  readonly objectives: ReadonlyMap<string, CompiledObjective>;
  readonly targets: ReadonlyMap<string, Target>;
}

/** What routing reads from one request; the faces build it from headers. */
/** `header`: x-model-override; `path`: OIP `/versions/{v}`; `query`: explain's `override` parameter. */
export type OverrideSource = 'header' | 'path' | 'query';

export interface RoutingRequest {
  /** The allocation unit (`x-unit-id`); undefined → random allocation. */
  unit: string | undefined;
  /**
   * Used as the unit when `unit` is undefined: a random string chosen by the
   * caller, so this function stays pure and the allocation is still uniform.
   */
  randomUnit?: string;
  context: Readonly<Record<string, string>>;
  trafficClass: TrafficClass;
  override?: string | undefined;
  /** Where the caller named the override, so errors point at what it wrote (default `header`). */
  overrideSource?: OverrideSource | undefined;
  /** The caller may override (API key scope); the objective's allowOverride is checked too. */
  mayOverride?: boolean;
  /** When set, the only targets an override may name (those of objectives the caller may call, same interface). */
  overrideTargets?: ReadonlySet<string> | undefined;
}

/** One line of `explain`: a step considered, and why it did or did not decide. */
export interface TrailEntry {
  step: Step;
  id: string;
  matched: boolean;
  reason: string;
  target?: string;
}

// The rule index (rule-index.ts builds and reads it): rule ids by context value, as bitsets.
export interface KeyIndex {
  readonly key: string;
  /** Rules accepting each listed value (plus the rules that do not constrain this key). */
  readonly byValue: ReadonlyMap<string, Uint32Array>;
  /** Rules that do not constrain this key: all that an absent or unlisted value keeps. */
  readonly unconstrained: Uint32Array;
}

export interface RuleIndex {
  readonly count: number;
  readonly keys: readonly KeyIndex[];
  readonly byTrafficClass: ReadonlyMap<TrafficClass, Uint32Array>;
  /** Scratch bitset; decide() is synchronous, so one per index is safe. */
  readonly scratch: Uint32Array;
}
