// The fleet's traffic in SQL, for both stores (the tables of migration 6). A
// publish is one statement in PostgreSQL (the heartbeat and the rows in one
// round trip, one transaction) and one transaction in SQLite: rows are
// upserted whole (absolute counts of a slot, never added), so a publish sent
// twice (a retry after a lost answer) leaves what one would; `seq` keeps an
// older publish that lands late from replacing a newer one. Freshness is
// measured on the store's clock (PostgreSQL's now()), so replicas whose clocks
// disagree still agree on who is silent; each publish answers the store's
// time, from which the process measures its own skew (fleet-traffic.ts).
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { FleetProcess, TrafficPublish, TrafficRow } from './fleet-traffic-types.js';

const COLUMNS =
  'process, slot, objective, target, experiment, cell, currency, seq, requests, errors, fallbacks, decided, ' +
  'latency, ttft, prompt, completion, cost';

const UPDATES =
  'seq = excluded.seq, requests = excluded.requests, errors = excluded.errors, fallbacks = excluded.fallbacks, ' +
  'decided = excluded.decided, latency = excluded.latency, ttft = excluded.ttft, prompt = excluded.prompt, ' +
  'completion = excluded.completion, cost = excluded.cost';

const KEY = '(process, slot, objective, target, experiment, cell, currency)';

interface DbRow {
  slot: number | string;
  objective: string;
  target: string;
  experiment: string;
  cell: string;
  currency: string;
  requests: number | string;
  errors: number | string;
  fallbacks: number | string;
  decided: number | string;
  latency: string;
  ttft: string;
  prompt: number | string;
  completion: number | string;
  cost: number;
}

/** A stored row back (PostgreSQL's BIGINTs come as strings; a histogram that is not an array reads as none). */
function fromDb(r: DbRow): TrafficRow {
  return {
    slot: Number(r.slot),
    objective: r.objective,
    target: r.target,
    experiment: r.experiment,
    cell: r.cell,
    currency: r.currency,
    requests: Number(r.requests),
    errors: Number(r.errors),
    fallbacks: Number(r.fallbacks),
    decided: Number(r.decided),
    latency: histogram(r.latency),
    ttft: histogram(r.ttft),
    prompt: Number(r.prompt),
    completion: Number(r.completion),
    cost: Number(r.cost),
  };
}

function histogram(text: string): number[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.map(Number) : [];
  } catch {
    return [];
  }
}

export async function postgresPublishTraffic(
  pool: pg.Pool,
  q: string,
  p: TrafficPublish,
): Promise<{ storeNow: number }> {
  const rows = JSON.stringify(
    p.rows.map((r) => ({ ...r, latency: JSON.stringify(r.latency), ttft: JSON.stringify(r.ttft) })),
  );
  const { rows: out } = await pool.query<{ store_now: string }>(
    `WITH p AS (
       INSERT INTO ${q}.fleet_processes (process, started_at, seq, skew_ms)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (process) DO UPDATE SET started_at = excluded.started_at, seq = excluded.seq,
         skew_ms = excluded.skew_ms, last_seen = now()
       RETURNING (extract(epoch FROM now()) * 1000)::bigint AS store_now
     ), r AS (
       INSERT INTO ${q}.fleet_traffic AS t (${COLUMNS})
       SELECT $1, a.slot, a.objective, a.target, a.experiment, a.cell, a.currency, $3, a.requests, a.errors,
         a.fallbacks, a.decided, a.latency, a.ttft, a.prompt, a.completion, a.cost
       FROM json_to_recordset($5::json) AS a(slot bigint, objective text, target text, experiment text, cell text,
         currency text, requests bigint, errors bigint, fallbacks bigint, decided bigint, latency text, ttft text,
         prompt bigint, completion bigint, cost double precision)
       ON CONFLICT ${KEY} DO UPDATE SET ${UPDATES} WHERE t.seq <= excluded.seq
     )
     SELECT store_now FROM p`,
    [p.process, Math.round(p.startedAt), p.seq, Math.round(p.skewMs), rows],
  );
  return { storeNow: Number(out[0]!.store_now) };
}

export async function postgresFleetProcesses(pool: pg.Pool, q: string, withinMs: number): Promise<FleetProcess[]> {
  const { rows } = await pool.query<{
    process: string;
    started_at: string;
    skew_ms: string;
    age_ms: string;
    last_seen: Date;
  }>(
    `SELECT process, started_at, skew_ms, last_seen,
       (extract(epoch FROM now() - last_seen) * 1000)::bigint AS age_ms
     FROM ${q}.fleet_processes WHERE last_seen > now() - make_interval(secs => $1) ORDER BY process`,
    [withinMs / 1000],
  );
  return rows.map((r) => ({
    name: r.process,
    startedAt: Number(r.started_at),
    ageMs: Math.max(0, Number(r.age_ms)),
    lastSeen: r.last_seen.toISOString(),
    skewMs: Number(r.skew_ms),
  }));
}

export async function postgresTrafficRows(
  pool: pg.Pool,
  q: string,
  processes: readonly string[],
  first: number,
  last: number,
): Promise<TrafficRow[]> {
  if (processes.length === 0) return [];
  const { rows } = await pool.query<DbRow>(
    `SELECT ${COLUMNS} FROM ${q}.fleet_traffic WHERE process = ANY($1::text[]) AND slot BETWEEN $2 AND $3`,
    [processes, first, last],
  );
  return rows.map(fromDb);
}

export async function postgresPruneTraffic(
  pool: pg.Pool,
  q: string,
  beforeSlot: number,
  processTtlMs: number,
): Promise<void> {
  await pool.query(
    `WITH gone AS (
       DELETE FROM ${q}.fleet_processes WHERE last_seen < now() - make_interval(secs => $2) RETURNING process
     )
     DELETE FROM ${q}.fleet_traffic WHERE slot < $1 OR process IN (SELECT process FROM gone)`,
    [beforeSlot, processTtlMs / 1000],
  );
}

export function sqlitePublishTraffic(db: Database.Database, p: TrafficPublish): { storeNow: number } {
  const now = Date.now();
  const upsert = db.prepare(`INSERT INTO fleet_traffic (${COLUMNS})
    VALUES (@process, @slot, @objective, @target, @experiment, @cell, @currency, @seq, @requests, @errors, @fallbacks,
      @decided, @latency, @ttft, @prompt, @completion, @cost)
    ON CONFLICT ${KEY} DO UPDATE SET ${UPDATES} WHERE fleet_traffic.seq <= excluded.seq`);
  db.transaction(() => {
    db.prepare(
      `INSERT INTO fleet_processes (process, started_at, seq, skew_ms, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (process) DO UPDATE SET started_at = excluded.started_at, seq = excluded.seq,
         skew_ms = excluded.skew_ms, last_seen = excluded.last_seen`,
    ).run(p.process, Math.round(p.startedAt), p.seq, Math.round(p.skewMs), now);
    for (const r of p.rows)
      upsert.run({
        ...r,
        process: p.process,
        seq: p.seq,
        latency: JSON.stringify(r.latency),
        ttft: JSON.stringify(r.ttft),
      });
  }).immediate();
  return { storeNow: now };
}

export function sqliteFleetProcesses(db: Database.Database, withinMs: number): FleetProcess[] {
  const now = Date.now();
  const rows = db
    .prepare('SELECT process, started_at, skew_ms, last_seen FROM fleet_processes WHERE last_seen > ? ORDER BY process')
    .all(now - withinMs) as Array<{ process: string; started_at: number; skew_ms: number; last_seen: number }>;
  return rows.map((r) => ({
    name: r.process,
    startedAt: r.started_at,
    ageMs: Math.max(0, now - r.last_seen),
    lastSeen: new Date(r.last_seen).toISOString(),
    skewMs: r.skew_ms,
  }));
}

export function sqliteTrafficRows(
  db: Database.Database,
  processes: readonly string[],
  first: number,
  last: number,
): TrafficRow[] {
  if (processes.length === 0) return [];
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM fleet_traffic WHERE slot BETWEEN ? AND ? AND process IN (SELECT value FROM json_each(?))`,
    )
    .all(first, last, JSON.stringify(processes)) as DbRow[];
  return rows.map(fromDb);
}

export function sqlitePruneTraffic(db: Database.Database, beforeSlot: number, processTtlMs: number): void {
  db.transaction(() => {
    const cutoff = Date.now() - processTtlMs;
    db.prepare(
      'DELETE FROM fleet_traffic WHERE slot < ? OR process IN (SELECT process FROM fleet_processes WHERE last_seen < ?)',
    ).run(beforeSlot, cutoff);
    db.prepare('DELETE FROM fleet_processes WHERE last_seen < ?').run(cutoff);
  }).immediate();
}
