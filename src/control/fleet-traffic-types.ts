// The fleet view's vocabulary (SPEC §19): what each process publishes of its
// traffic (one row per 10-second slot and objective, target, experiment cell
// and currency) and how the store describes the processes that publish. The
// stores keep them in the tables of migration 6 (fleet-traffic-sql.ts).

/** One slot's aggregates of one (objective, target, experiment, cell, currency), as one process counted them. */
export interface TrafficRow {
  /** Slot number: ms since the epoch on the counting process's clock ÷ the slot length. */
  slot: number;
  objective: string;
  target: string;
  /** '' when the requests were not in an experiment. */
  experiment: string;
  cell: string;
  /** The price's currency of `cost`, '' when nothing was priced. */
  currency: string;
  /** Requests served through the invoke path. */
  requests: number;
  /** Answers with status ≥ 500. */
  errors: number;
  /** Answers a fallback gave. */
  fallbacks: number;
  /** Routing-only decisions and reported exposures: exposures, not requests served. */
  decided: number;
  /** Latency histogram over LATENCY_BOUNDS_MS (gate-stats.ts). */
  latency: number[];
  /** Time to first byte over the same bounds (requests whose reply had a first byte). */
  ttft: number[];
  prompt: number;
  completion: number;
  cost: number;
}

/** One publish: a process's dirty slots, with what tells the store who and when. */
export interface TrafficPublish {
  /** The process's name in the fleet (host:pid:random). */
  process: string;
  /** When it started counting, ms since the epoch on its clock. */
  startedAt: number;
  /** Grows with every publish: a late, older write never replaces a newer one (idempotent retries). */
  seq: number;
  /**
   * Its clock minus the store's, as measured at its previous publish (0 at the first): the store's
   * time then fell outside [sent, answered] on the process's clock by this much.
   */
  skewMs: number;
  rows: readonly TrafficRow[];
}

/** A process that published, as the store sees it now (freshness by the store's clock). */
export interface FleetProcess {
  name: string;
  startedAt: number;
  /** ms since its last publish, on the store's clock. */
  ageMs: number;
  /** Its last publish, ISO 8601 (the store's clock). */
  lastSeen: string;
  /** Its clock minus the store's, as it measured at its previous publish (0 when the store's time fell within the round trip). */
  skewMs: number;
}

/** The part of the Store the fleet view uses (store.ts lists it with the rest). */
export interface FleetTrafficStore {
  /** Upserts the rows (by process, slot and key; a lower `seq` never replaces a higher) and the process's heartbeat. */
  publishTraffic(p: TrafficPublish): Promise<{ storeNow: number }>;
  /** Processes whose last publish is at most `withinMs` old (the store's clock). */
  fleetProcesses(withinMs: number): Promise<FleetProcess[]>;
  /** The rows of these processes in slots [first, last]. */
  trafficRows(processes: readonly string[], first: number, last: number): Promise<TrafficRow[]>;
  /** Deletes rows of slots before `beforeSlot`, processes silent longer than `processTtlMs`, and their rows. */
  pruneTraffic(beforeSlot: number, processTtlMs: number): Promise<void>;
}
