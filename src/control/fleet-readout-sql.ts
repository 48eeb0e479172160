// The fleet readout's writes in PostgreSQL (the tables of migration 7). A
// batch is one transaction that first records (process, seq) in
// readout_batches: a batch sent again after a lost answer finds its row and
// changes nothing, so a retry never counts twice. Every value travels as a
// bound parameter (one JSON document per table), never in the SQL text.
import type pg from 'pg';
import type { ReadoutBatch } from './fleet-readout-batch.js';

/** `q`: the quoted schema. Returns false when this batch was applied before (a retry of a flush whose answer was lost). */
export async function applyBatch(
  pool: pg.Pool,
  q: string,
  process: string,
  seq: number,
  batch: ReadoutBatch,
): Promise<boolean> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const fresh = await c.query(
      `INSERT INTO ${q}.readout_batches (process, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [process, seq],
    );
    if (fresh.rowCount === 0) {
      await c.query('ROLLBACK');
      return false;
    }
    if (batch.exposures.size > 0) await c.query(upsertExposures(q), [json(batch.exposures)]);
    if (batch.cells.size > 0) await c.query(upsertCells(q), [json(batch.cells)]);
    if (batch.feedback.size > 0) await c.query(upsertFeedback(q), [json(batch.feedback)]);
    if (batch.pending.size > 0)
      await c.query(
        `INSERT INTO ${q}.readout_feedback_pending AS p (request_id, metric, sum, count)
         SELECT e."requestId", e.metric, e.sum, e.count
         FROM json_to_recordset($1::json) AS e("requestId" text, metric text, sum float8, count bigint)
         ON CONFLICT (request_id, metric) DO UPDATE SET sum = p.sum + excluded.sum, count = p.count + excluded.count`,
        [json(batch.pending)],
      );
    await c.query('COMMIT');
    return true;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

const json = (m: ReadonlyMap<string, unknown>) => JSON.stringify([...m.values()]);

// A unit's row keeps its earliest exposure whichever replica flushes first; the
// WHERE skips the write (no new row version) when a flush brings nothing new.
const upsertExposures = (q: string) => `
  INSERT INTO ${q}.readout_exposures AS x (experiment, unit, objective, cell, revision, first_at, several)
  SELECT e.experiment, e.unit, e.objective, e.cell, e.revision, to_timestamp(e.at / 1000.0), e.several
  FROM json_to_recordset($1::json) AS e(experiment text, unit text, objective text, cell text, revision int,
    at float8, several bool)
  ON CONFLICT (experiment, unit) DO UPDATE SET
    cell = CASE WHEN excluded.first_at < x.first_at THEN excluded.cell ELSE x.cell END,
    objective = CASE WHEN excluded.first_at < x.first_at THEN excluded.objective ELSE x.objective END,
    revision = CASE WHEN excluded.first_at < x.first_at THEN excluded.revision ELSE x.revision END,
    first_at = least(x.first_at, excluded.first_at),
    several = x.several OR excluded.several OR x.cell <> excluded.cell
  WHERE excluded.first_at < x.first_at OR (NOT x.several AND (excluded.several OR x.cell <> excluded.cell))`;

const upsertCells = (q: string) => `
  INSERT INTO ${q}.readout_cells AS x (experiment, objective, cell, revision, target, balance, exposures, served,
    errors, latency, ttft)
  SELECT e.experiment, e.objective, e.cell, e.revision, e.target, e.balance, e.exposures, e.served, e.errors,
    ARRAY(SELECT json_array_elements_text(e.latency)::bigint), ARRAY(SELECT json_array_elements_text(e.ttft)::bigint)
  FROM json_to_recordset($1::json) AS e(experiment text, objective text, cell text, revision int, target text,
    balance text, exposures bigint, served bigint, errors bigint, latency json, ttft json)
  ON CONFLICT (experiment, cell, revision, target, balance, objective) DO UPDATE SET
    exposures = x.exposures + excluded.exposures, served = x.served + excluded.served,
    errors = x.errors + excluded.errors,
    latency = ARRAY(SELECT a + b FROM unnest(x.latency, excluded.latency) WITH ORDINALITY AS t(a, b, i) ORDER BY i),
    ttft = ARRAY(SELECT a + b FROM unnest(x.ttft, excluded.ttft) WITH ORDINALITY AS t(a, b, i) ORDER BY i)`;

const upsertFeedback = (q: string) => `
  INSERT INTO ${q}.readout_feedback AS f (objective, unit, metric, sum, count)
  SELECT e.objective, e.unit, e.metric, e.sum, e.count
  FROM json_to_recordset($1::json) AS e(objective text, unit text, metric text, sum float8, count bigint)
  ON CONFLICT (objective, unit, metric) DO UPDATE SET sum = f.sum + excluded.sum, count = f.count + excluded.count`;

/** Pending feedback looked at per flush: the table holds only feedback waiting for another replica's next flush. */
const PENDING_SCAN = 10_000;

/**
 * Moves parked feedback for requests this process served to its unit's sums,
 * in one transaction (a row moves once, whoever resolves it). Returns how many
 * rows moved.
 */
export async function resolvePending(
  pool: pg.Pool,
  q: string,
  unitOf: (requestId: string) => { objective: string; unit: string } | undefined,
): Promise<number> {
  const { rows } = await pool.query<{ request_id: string }>(
    `SELECT DISTINCT request_id FROM ${q}.readout_feedback_pending LIMIT ${PENDING_SCAN}`,
  );
  const mine = rows.map((r) => r.request_id).filter((id) => unitOf(id) !== undefined);
  if (mine.length === 0) return 0;
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const moved = await c.query<{ request_id: string; metric: string; sum: number; count: string }>(
      `DELETE FROM ${q}.readout_feedback_pending WHERE request_id = ANY($1::text[]) RETURNING request_id, metric, sum, count`,
      [mine],
    );
    const sums = new Map<string, { objective: string; unit: string; metric: string; sum: number; count: number }>();
    for (const r of moved.rows) {
      const u = unitOf(r.request_id)!;
      const key = `${u.objective}\u0001${u.unit}\u0001${r.metric}`;
      const s = sums.get(key);
      if (s === undefined) sums.set(key, { ...u, metric: r.metric, sum: r.sum, count: Number(r.count) });
      else {
        s.sum += r.sum;
        s.count += Number(r.count);
      }
    }
    if (sums.size > 0) await c.query(upsertFeedback(q), [json(sums)]);
    await c.query('COMMIT');
    return moved.rowCount ?? 0;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Forgets what no one will need: applied-batch marks older than a day (no
 * retry comes that late) and parked feedback no replica resolved within an
 * hour (its request was not an experiment's, or its replica is gone).
 * Returns the feedback rows dropped.
 */
export async function prune(pool: pg.Pool, q: string): Promise<number> {
  await pool.query(`DELETE FROM ${q}.readout_batches WHERE applied_at < now() - interval '1 day'`);
  const dropped = await pool.query(
    `DELETE FROM ${q}.readout_feedback_pending WHERE received_at < now() - interval '1 hour'`,
  );
  return dropped.rowCount ?? 0;
}
