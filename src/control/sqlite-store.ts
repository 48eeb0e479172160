// The embedded store: one SQLite file in the data folder. WAL mode lets the
// processes of `--workers` read while one writes; BEGIN IMMEDIATE makes the
// read-latest-then-append of a revision atomic across them.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { configDiff, formatDiff } from './config-diff.js';
import {
  sqliteFleetProcesses,
  sqlitePruneTraffic,
  sqlitePublishTraffic,
  sqliteTrafficRows,
} from './fleet-traffic-sql.js';
import type { FleetProcess, TrafficPublish, TrafficRow } from './fleet-traffic-types.js';
import { MIGRATIONS } from './migrations.js';
import { sqliteAddSpend, sqliteSumSpend } from './spend-sql.js';
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

const LEADER = 'rollout-controller';

interface Row {
  number: number;
  author: string;
  created_at: string;
  message: string;
  source?: string;
  diff: string;
  text?: string | null;
  notes?: string | null;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly location: string;
  private readonly db: Database.Database;

  /** `dir` is the data folder (created if missing), or `:memory:`. */
  constructor(dir: string) {
    if (dir === ':memory:') {
      this.location = ':memory:';
      this.db = new Database(':memory:');
    } else {
      mkdirSync(dir, { recursive: true });
      this.location = join(resolve(dir), 'junction.db');
      this.db = new Database(this.location);
      this.db.pragma('journal_mode = WAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS junction_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    this.db
      .transaction(() => {
        const done = new Set(
          (this.db.prepare('SELECT version FROM junction_migrations').all() as { version: number }[]).map(
            (r) => r.version,
          ),
        );
        for (const m of MIGRATIONS) {
          if (done.has(m.version)) continue;
          if (m.sqlite) this.db.exec(m.sqlite);
          this.db
            .prepare('INSERT INTO junction_migrations VALUES (?, ?, ?)')
            .run(m.version, m.description, new Date().toISOString());
        }
      })
      .immediate();
  }

  async latest(): Promise<StoredRevision | undefined> {
    const row = this.db.prepare('SELECT * FROM revisions ORDER BY number DESC LIMIT 1').get() as Row | undefined;
    return row && full(row);
  }

  async latestNumber(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(number), 0) AS n FROM revisions').get() as { n: number }).n;
  }

  async get(number: number): Promise<StoredRevision | undefined> {
    const row = this.db.prepare('SELECT * FROM revisions WHERE number = ?').get(number) as Row | undefined;
    return row && full(row);
  }

  async list(limit: number): Promise<RevisionSummary[]> {
    const rows = this.db
      .prepare('SELECT number, author, created_at, message, diff, notes FROM revisions ORDER BY number DESC LIMIT ?')
      .all(limit) as Row[];
    return rows.map(summary);
  }

  async append(draft: RevisionDraft): Promise<StoredRevision | undefined> {
    return this.db
      .transaction(() => {
        const prev = this.db.prepare('SELECT * FROM revisions ORDER BY number DESC LIMIT 1').get() as Row | undefined;
        const prevSource: unknown = prev ? JSON.parse(prev.source!) : undefined;
        if (draft.onlyIfChanged && prev && sameRevision(prevSource, prev.text, draft)) return undefined;
        if (draft.onlyIfEmpty && prev) return undefined;
        if (draft.ifLatest !== undefined && (prev?.number ?? 0) !== draft.ifLatest)
          throw new RevisionConflict(draft.ifLatest, prev?.number ?? 0);
        const row: Row = {
          number: (prev?.number ?? 0) + 1,
          author: draft.author,
          created_at: new Date().toISOString(),
          message: draft.message,
          source: JSON.stringify(draft.source),
          diff: formatDiff(configDiff(prevSource, draft.source)),
          text: draft.text ?? null,
          notes: hasNotes(draft.notes) ? JSON.stringify(draft.notes) : null,
        };
        this.db
          .prepare(
            'INSERT INTO revisions (number, author, created_at, message, source, diff, text, notes) VALUES (@number, @author, @created_at, @message, @source, @diff, @text, @notes)',
          )
          .run(row);
        return full(row);
      })
      .immediate();
  }

  async tryLead(holder: string, ttlMs: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        const now = Date.now();
        const row = this.db.prepare('SELECT holder, expires_at FROM leases WHERE name = ?').get(LEADER) as
          { holder: string; expires_at: number } | undefined;
        if (row && row.holder !== holder && row.expires_at > now) return false;
        this.db
          .prepare(
            'INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at',
          )
          .run(LEADER, holder, now + ttlMs);
        return true;
      })
      .immediate();
  }

  async publishGateStats(replica: string, arms: readonly GateArm[]): Promise<void> {
    const now = Date.now();
    const upsert = this.db.prepare(`INSERT INTO gate_stats VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (replica, objective, target) DO UPDATE SET requests = excluded.requests, errors = excluded.errors,
      buckets = excluded.buckets, updated_at = excluded.updated_at`);
    this.db
      .transaction(() => {
        for (const a of arms)
          upsert.run(
            replica,
            a.objective,
            a.target,
            a.counters.requests,
            a.counters.errors,
            encodeHistograms(a.counters),
            now,
          );
        this.db.prepare('DELETE FROM gate_stats WHERE updated_at < ?').run(now - GATE_STATS_TTL_MS);
      })
      .immediate();
  }

  async readGateStats(objective: string): Promise<Map<string, ArmCounters>> {
    const rows = this.db
      .prepare('SELECT target, requests, errors, buckets FROM gate_stats WHERE objective = ?')
      .all(objective) as Array<{ target: string; requests: number; errors: number; buckets: string }>;
    return sumRows(rows);
  }

  async addSpend(entries: readonly SpendEntry[]): Promise<void> {
    sqliteAddSpend(this.db, entries);
  }

  async sumSpend(query: SpendQuery): Promise<SpendTotal[]> {
    return sqliteSumSpend(this.db, query);
  }

  async publishTraffic(p: TrafficPublish): Promise<{ storeNow: number }> {
    return sqlitePublishTraffic(this.db, p);
  }

  async fleetProcesses(withinMs: number): Promise<FleetProcess[]> {
    return sqliteFleetProcesses(this.db, withinMs);
  }

  async trafficRows(processes: readonly string[], first: number, last: number): Promise<TrafficRow[]> {
    return sqliteTrafficRows(this.db, processes, first, last);
  }

  async pruneTraffic(beforeSlot: number, processTtlMs: number): Promise<void> {
    sqlitePruneTraffic(this.db, beforeSlot, processTtlMs);
  }

  subscribe(): void {
    // Nothing to listen to: other processes on this file are seen by the control plane's periodic check.
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function summary(row: Row): RevisionSummary {
  const s: RevisionSummary = {
    number: row.number,
    author: row.author,
    createdAt: row.created_at,
    message: row.message,
    diff: row.diff,
  };
  if (row.notes) s.notes = JSON.parse(row.notes) as RevisionNotes;
  return s;
}

function full(row: Row): StoredRevision {
  const r: StoredRevision = { ...summary(row), source: JSON.parse(row.source!) };
  if (row.text != null) r.text = row.text;
  return r;
}
