// The shared store for several replicas: PostgreSQL. Every append NOTIFYs a
// channel inside its transaction (delivered on commit), so every replica hears
// of a new revision at once; a transaction-scoped advisory lock serializes
// writers so numbers are N+1 without gaps or duplicates.
//
// `?schema=NAME` on the URL picks the schema (default `junction`): one database
// can hold several independent Junction installations (or test runs).
import pg from 'pg';
import { configDiff, formatDiff } from './config-diff.js';
import {
  postgresFleetProcesses,
  postgresPruneTraffic,
  postgresPublishTraffic,
  postgresTrafficRows,
} from './fleet-traffic-sql.js';
import type { FleetProcess, TrafficPublish, TrafficRow } from './fleet-traffic-types.js';
import { MIGRATIONS } from './migrations.js';
import { postgresAddSpend, postgresSumSpend } from './spend-sql.js';
import type { SpendEntry, SpendQuery, SpendTotal } from './spend-types.js';
import { encodeHistograms, sumRows, type ArmCounters } from './gate-stats.js';
import {
  GATE_STATS_TTL_MS,
  hasNotes,
  RevisionConflict,
  sameRevision,
  type GateArm,
  type RevisionDraft,
  type RevisionNotes,
  type RevisionSummary,
  type Store,
  type StoredRevision,
} from './store.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

interface Row {
  number: number;
  author: string;
  created_at: Date;
  message: string;
  source_text?: string;
  diff: string;
  text?: string | null;
  notes?: RevisionNotes | null;
}

export interface PostgresStoreOptions {
  /** How long the LISTEN connection waits before reconnecting after it drops. */
  reconnectMs?: number;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly q: string;
  private readonly channel: string;
  private readonly lockKey: string;
  private listener: pg.Client | undefined;
  private leader: pg.Client | undefined;
  private readonly subscribers: Array<() => void> = [];
  private closed = false;

  private constructor(
    private readonly url: string,
    schema: string,
    private readonly opts: PostgresStoreOptions,
  ) {
    this.schema = schema;
    this.q = `"${schema}"`;
    this.channel = `junction_${schema}`;
    this.lockKey = `junction:${schema}`;
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('schema');
    this.location = `${u.toString()} (schema ${schema})`;
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? 'junction';
    if (!SCHEMA_NAME.test(schema)) throw new Error(`schema "${schema}" must match ${SCHEMA_NAME}`);
    u.searchParams.delete('schema');
    const store = new PostgresStore(u.toString(), schema, opts);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end();
      throw err;
    }
    return store;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockKey]);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  private migrate(): Promise<void> {
    // The advisory lock makes replicas that start together migrate one at a time.
    return this.tx(async (c) => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.q}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.q}.junction_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const { rows } = await c.query<{ version: number }>(`SELECT version FROM ${this.q}.junction_migrations`);
      const done = new Set(rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        if (m.postgres) await c.query(m.postgres.replaceAll('{schema}', this.q));
        await c.query(`INSERT INTO ${this.q}.junction_migrations (version, description) VALUES ($1, $2)`, [
          m.version,
          m.description,
        ]);
      }
    });
  }

  async latest(): Promise<StoredRevision | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.q}.revisions ORDER BY number DESC LIMIT 1`);
    return rows[0] && full(rows[0]);
  }

  async latestNumber(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT coalesce(max(number), 0)::int AS n FROM ${this.q}.revisions`,
    );
    return rows[0]!.n;
  }

  async get(number: number): Promise<StoredRevision | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.q}.revisions WHERE number = $1`, [number]);
    return rows[0] && full(rows[0]);
  }

  async list(limit: number): Promise<RevisionSummary[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT number, author, created_at, message, diff, notes FROM ${this.q}.revisions ORDER BY number DESC LIMIT $1`,
      [limit],
    );
    return rows.map(summary);
  }

  append(draft: RevisionDraft): Promise<StoredRevision | undefined> {
    return this.tx(async (c) => {
      const prev = (await c.query<Row>(`SELECT * FROM ${this.q}.revisions ORDER BY number DESC LIMIT 1`)).rows[0];
      const prevSource: unknown = prev ? JSON.parse(prev.source_text!) : undefined;
      if (draft.onlyIfChanged && prev && sameRevision(prevSource, prev.text, draft)) return undefined;
      if (draft.onlyIfEmpty && prev) return undefined;
      if (draft.ifLatest !== undefined && (prev?.number ?? 0) !== draft.ifLatest)
        throw new RevisionConflict(draft.ifLatest, prev?.number ?? 0);
      const text = JSON.stringify(draft.source);
      const { rows } = await c.query<Row>(
        `INSERT INTO ${this.q}.revisions (number, author, message, source, source_text, diff, text, notes)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8::jsonb) RETURNING *`,
        [
          (prev?.number ?? 0) + 1,
          draft.author,
          draft.message,
          text,
          text,
          formatDiff(configDiff(prevSource, draft.source)),
          draft.text ?? null,
          hasNotes(draft.notes) ? JSON.stringify(draft.notes) : null,
        ],
      );
      await c.query('SELECT pg_notify($1, $2)', [this.channel, String(rows[0]!.number)]);
      return full(rows[0]!);
    });
  }

  async tryLead(): Promise<boolean> {
    // A session lock on a connection of its own: held as long as that connection lives.
    if (this.leader) return true;
    if (this.closed) return false;
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `${this.lockKey}:leader`,
      ]);
      if (rows[0]!.ok) {
        this.leader = client;
        const lost = () => {
          if (this.leader === client) this.leader = undefined;
        };
        client.on('error', lost);
        client.on('end', lost);
        return true;
      }
    } catch {
      // not leading this time; the next attempt reconnects
    }
    await client.end().catch(() => undefined);
    return false;
  }

  async publishGateStats(replica: string, arms: readonly GateArm[]): Promise<void> {
    if (arms.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.q}.gate_stats (replica, objective, target, requests, errors, buckets)
       SELECT $1, a.objective, a.target, a.requests, a.errors, a.buckets
       FROM json_to_recordset($2::json) AS a(objective text, target text, requests bigint, errors bigint, buckets text)
       ON CONFLICT (replica, objective, target) DO UPDATE SET requests = excluded.requests, errors = excluded.errors,
         buckets = excluded.buckets, updated_at = now()`,
      [
        replica,
        JSON.stringify(
          arms.map((a) => ({
            objective: a.objective,
            target: a.target,
            requests: a.counters.requests,
            errors: a.counters.errors,
            buckets: encodeHistograms(a.counters),
          })),
        ),
      ],
    );
    await this.pool.query(`DELETE FROM ${this.q}.gate_stats WHERE updated_at < now() - make_interval(secs => $1)`, [
      GATE_STATS_TTL_MS / 1000,
    ]);
  }

  async readGateStats(objective: string): Promise<Map<string, ArmCounters>> {
    const { rows } = await this.pool.query<{ target: string; requests: string; errors: string; buckets: string }>(
      `SELECT target, requests, errors, buckets FROM ${this.q}.gate_stats WHERE objective = $1`,
      [objective],
    );
    return sumRows(rows);
  }

  addSpend(entries: readonly SpendEntry[]): Promise<void> {
    return postgresAddSpend(this.pool, this.q, entries);
  }

  sumSpend(query: SpendQuery): Promise<SpendTotal[]> {
    return postgresSumSpend(this.pool, this.q, query);
  }

  publishTraffic(p: TrafficPublish): Promise<{ storeNow: number }> {
    return postgresPublishTraffic(this.pool, this.q, p);
  }

  fleetProcesses(withinMs: number): Promise<FleetProcess[]> {
    return postgresFleetProcesses(this.pool, this.q, withinMs);
  }

  trafficRows(processes: readonly string[], first: number, last: number): Promise<TrafficRow[]> {
    return postgresTrafficRows(this.pool, this.q, processes, first, last);
  }

  pruneTraffic(beforeSlot: number, processTtlMs: number): Promise<void> {
    return postgresPruneTraffic(this.pool, this.q, beforeSlot, processTtlMs);
  }

  subscribe(onChange: () => void): void {
    this.subscribers.push(onChange);
    if (!this.listener) void this.listen();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    this.listener = client;
    const retry = () => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      void client.end().catch(() => undefined);
      // Missed notifications meanwhile are caught by the control plane's periodic check.
      setTimeout(() => {
        if (!this.listener) void this.listen();
      }, this.opts.reconnectMs ?? 1000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => {
      for (const s of this.subscribers) s();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      // Anything appended while we were not listening: let subscribers check now.
      for (const s of this.subscribers) s();
    } catch {
      retry();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
    const leader = this.leader;
    this.leader = undefined;
    await leader?.end().catch(() => undefined);
    await this.pool.end();
  }
}

function summary(row: Row): RevisionSummary {
  return {
    number: row.number,
    author: row.author,
    createdAt: row.created_at.toISOString(),
    message: row.message,
    diff: row.diff,
    ...(row.notes ? { notes: row.notes } : {}),
  };
}

function full(row: Row): StoredRevision {
  const r: StoredRevision = { ...summary(row), source: JSON.parse(row.source_text!) };
  if (row.text != null) r.text = row.text;
  return r;
}
