// Schema versions of the store. Append a migration, never edit a shipped one:
// each runs once, in order, recorded in junction_migrations, inside the same
// transaction as its bookkeeping, so a crash half-way leaves nothing applied.

export interface Migration {
  version: number;
  description: string;
  /** SQL for each dialect (absent: nothing to do there, the version is still recorded); `{schema}` is replaced by the (quoted) schema prefix. */
  sqlite?: string;
  postgres?: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'revisions',
    sqlite: `CREATE TABLE revisions (
      number INTEGER PRIMARY KEY,
      author TEXT NOT NULL,
      created_at TEXT NOT NULL,
      message TEXT NOT NULL,
      source TEXT NOT NULL,
      diff TEXT NOT NULL
    )`,
    postgres: `CREATE TABLE {schema}.revisions (
      number INTEGER PRIMARY KEY,
      author TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      message TEXT NOT NULL,
      source JSONB NOT NULL,
      source_text TEXT NOT NULL,
      diff TEXT NOT NULL
    )`,
  },
  {
    version: 2,
    description: 'leases (leader election where there are no advisory locks)',
    sqlite: `CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  },
  {
    version: 3,
    description: 'gate statistics published by every replica for the rollout controller',
    sqlite: `CREATE TABLE gate_stats (replica TEXT NOT NULL, objective TEXT NOT NULL, target TEXT NOT NULL,
      requests INTEGER NOT NULL, errors INTEGER NOT NULL, buckets TEXT NOT NULL, updated_at INTEGER NOT NULL,
      PRIMARY KEY (replica, objective, target))`,
    postgres: `CREATE TABLE {schema}.gate_stats (replica TEXT NOT NULL, objective TEXT NOT NULL, target TEXT NOT NULL,
      requests BIGINT NOT NULL, errors BIGINT NOT NULL, buckets TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (replica, objective, target))`,
  },
  {
    version: 4,
    description: 'the spend ledger: cost and tokens per hour, client, objective, target, currency and client tags',
    sqlite: `CREATE TABLE spend (hour TEXT NOT NULL, client TEXT NOT NULL, objective TEXT NOT NULL, target TEXT NOT NULL,
      currency TEXT NOT NULL, tags TEXT NOT NULL, cost REAL NOT NULL, prompt INTEGER NOT NULL,
      completion INTEGER NOT NULL, cached INTEGER NOT NULL, requests INTEGER NOT NULL, estimated INTEGER NOT NULL,
      PRIMARY KEY (hour, client, objective, target, currency, tags))`,
    postgres: `CREATE TABLE {schema}.spend (hour TIMESTAMPTZ NOT NULL, client TEXT NOT NULL, objective TEXT NOT NULL,
      target TEXT NOT NULL, currency TEXT NOT NULL, tags JSONB NOT NULL, cost DOUBLE PRECISION NOT NULL,
      prompt BIGINT NOT NULL, completion BIGINT NOT NULL, cached BIGINT NOT NULL, requests BIGINT NOT NULL,
      estimated BIGINT NOT NULL, PRIMARY KEY (hour, client, objective, target, currency, tags))`,
  },
  {
    version: 5,
    description: "revisions keep the submitted text (comments, order) and the author's notes (acknowledged, forced)",
    sqlite: `ALTER TABLE revisions ADD COLUMN text TEXT;
      ALTER TABLE revisions ADD COLUMN notes TEXT`,
    postgres: `ALTER TABLE {schema}.revisions ADD COLUMN text TEXT, ADD COLUMN notes JSONB`,
  },
  {
    version: 6,
    description: "the fleet's traffic: each process's 10-second slots and its heartbeat (fleet-traffic-sql.ts)",
    sqlite: `CREATE TABLE fleet_processes (process TEXT PRIMARY KEY, started_at INTEGER NOT NULL, seq INTEGER NOT NULL,
        skew_ms INTEGER NOT NULL, last_seen INTEGER NOT NULL);
      CREATE TABLE fleet_traffic (process TEXT NOT NULL, slot INTEGER NOT NULL, objective TEXT NOT NULL,
        target TEXT NOT NULL, experiment TEXT NOT NULL, cell TEXT NOT NULL, currency TEXT NOT NULL, seq INTEGER NOT NULL,
        requests INTEGER NOT NULL, errors INTEGER NOT NULL, fallbacks INTEGER NOT NULL, decided INTEGER NOT NULL,
        latency TEXT NOT NULL, ttft TEXT NOT NULL, prompt INTEGER NOT NULL, completion INTEGER NOT NULL, cost REAL NOT NULL,
        PRIMARY KEY (process, slot, objective, target, experiment, cell, currency));
      CREATE INDEX fleet_traffic_slot ON fleet_traffic (slot)`,
    postgres: `CREATE TABLE {schema}.fleet_processes (process TEXT PRIMARY KEY, started_at BIGINT NOT NULL,
        seq BIGINT NOT NULL, skew_ms BIGINT NOT NULL, last_seen TIMESTAMPTZ NOT NULL DEFAULT now());
      CREATE TABLE {schema}.fleet_traffic (process TEXT NOT NULL, slot BIGINT NOT NULL, objective TEXT NOT NULL,
        target TEXT NOT NULL, experiment TEXT NOT NULL, cell TEXT NOT NULL, currency TEXT NOT NULL, seq BIGINT NOT NULL,
        requests BIGINT NOT NULL, errors BIGINT NOT NULL, fallbacks BIGINT NOT NULL, decided BIGINT NOT NULL,
        latency TEXT NOT NULL, ttft TEXT NOT NULL, prompt BIGINT NOT NULL, completion BIGINT NOT NULL,
        cost DOUBLE PRECISION NOT NULL, PRIMARY KEY (process, slot, objective, target, experiment, cell, currency));
      CREATE INDEX fleet_traffic_slot ON {schema}.fleet_traffic (slot)`,
  },
  {
    version: 7,
    description:
      'fleet readouts: first exposures, feedback sums, per-cell aggregates, applied batches (PostgreSQL only)',
    postgres: `CREATE TABLE {schema}.readout_exposures (experiment TEXT NOT NULL, unit TEXT NOT NULL,
        objective TEXT NOT NULL, cell TEXT NOT NULL, revision INTEGER NOT NULL, first_at TIMESTAMPTZ NOT NULL,
        several BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (experiment, unit));
      CREATE TABLE {schema}.readout_feedback (objective TEXT NOT NULL, unit TEXT NOT NULL, metric TEXT NOT NULL,
        sum DOUBLE PRECISION NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (objective, unit, metric));
      CREATE TABLE {schema}.readout_feedback_pending (request_id TEXT NOT NULL, metric TEXT NOT NULL,
        sum DOUBLE PRECISION NOT NULL, count BIGINT NOT NULL, received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, metric));
      CREATE TABLE {schema}.readout_cells (experiment TEXT NOT NULL, objective TEXT NOT NULL, cell TEXT NOT NULL,
        revision INTEGER NOT NULL, target TEXT NOT NULL, balance TEXT NOT NULL, exposures BIGINT NOT NULL,
        served BIGINT NOT NULL, errors BIGINT NOT NULL, latency BIGINT[] NOT NULL, ttft BIGINT[] NOT NULL,
        PRIMARY KEY (experiment, cell, revision, target, balance, objective));
      CREATE TABLE {schema}.readout_batches (process TEXT NOT NULL, seq BIGINT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (process, seq))`,
  },
];
