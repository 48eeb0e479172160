// The spend ledger in SQL, for both stores (the `spend` table of migration 4):
// a flush adds each entry to its row (an upsert that sums), and a sum groups
// the rows of a window by one dimension. Tags are a JSON column: a call counts
// once under each tag of its client when grouped by tag.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { SAFE_ID } from '../config/safe-text.js';
import { JunctionError } from '../errors.js';
import { spendTotals, type SpendEntry, type SpendGroupRow, type SpendQuery, type SpendTotal } from './spend-types.js';

const SUMS =
  'sum(s.cost) AS cost, sum(s.prompt) AS prompt, sum(s.completion) AS completion, sum(s.cached) AS cached, ' +
  'sum(s.requests) AS requests, sum(s.estimated) AS estimated';

/** The grouping key's SQL, per dimension (tag: the tag row a lateral join adds, `j`). */
function keyOf(q: SpendQuery): string {
  switch (q.by) {
    case 'client':
    case 'objective':
    case 'target':
      return `s.${q.by}`;
    case 'tag':
      return `j.key || '=' || j.value`;
    default:
      return `''`;
  }
}

function checkTags(tags: Readonly<Record<string, string>> | undefined): Array<[string, string]> {
  const pairs = Object.entries(tags ?? {});
  for (const [name] of pairs)
    if (!SAFE_ID.test(name)) throw new JunctionError('invalid_request', `"${name.slice(0, 64)}" is not a tag name`);
  return pairs;
}

export function sqliteAddSpend(db: Database.Database, entries: readonly SpendEntry[]): void {
  const upsert = db.prepare(`INSERT INTO spend (hour, client, objective, target, currency, tags,
      cost, prompt, completion, cached, requests, estimated)
    VALUES (@hour, @client, @objective, @target, @currency, @tags, @cost, @prompt, @completion, @cached, @requests, @estimated)
    ON CONFLICT (hour, client, objective, target, currency, tags) DO UPDATE SET
      cost = cost + excluded.cost, prompt = prompt + excluded.prompt, completion = completion + excluded.completion,
      cached = cached + excluded.cached, requests = requests + excluded.requests, estimated = estimated + excluded.estimated`);
  db.transaction(() => {
    for (const e of entries) upsert.run({ ...e, hour: new Date(e.hour).toISOString() });
  }).immediate();
}

export function sqliteSumSpend(db: Database.Database, q: SpendQuery): SpendTotal[] {
  const where = ['s.hour >= ?', 's.hour < ?'];
  const args: unknown[] = [q.from.toISOString(), q.to.toISOString()];
  for (const field of ['client', 'objective', 'target'] as const) {
    if (q[field] === undefined) continue;
    where.push(`s.${field} = ?`);
    args.push(q[field]);
  }
  for (const [name, value] of checkTags(q.tags)) {
    where.push('json_extract(s.tags, ?) = ?');
    args.push(`$."${name}"`, value);
  }
  const key = keyOf(q);
  const rows = db
    .prepare(
      `SELECT ${key} AS key, s.currency AS currency, ${SUMS} FROM spend s${q.by === 'tag' ? ', json_each(s.tags) j' : ''}
       WHERE ${where.join(' AND ')} GROUP BY 1, 2`,
    )
    .all(...args) as SpendGroupRow[];
  return spendTotals(rows);
}

/** `q`: the quoted schema. */
export async function postgresAddSpend(pool: pg.Pool, q: string, entries: readonly SpendEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await pool.query(
    `INSERT INTO ${q}.spend AS s (hour, client, objective, target, currency, tags,
       cost, prompt, completion, cached, requests, estimated)
     SELECT to_timestamp(e.hour / 1000.0), e.client, e.objective, e.target, e.currency, e.tags::jsonb,
       e.cost, e.prompt, e.completion, e.cached, e.requests, e.estimated
     FROM json_to_recordset($1::json) AS e(hour bigint, client text, objective text, target text, currency text,
       tags text, cost float8, prompt bigint, completion bigint, cached bigint, requests bigint, estimated bigint)
     ON CONFLICT (hour, client, objective, target, currency, tags) DO UPDATE SET
       cost = s.cost + excluded.cost, prompt = s.prompt + excluded.prompt, completion = s.completion + excluded.completion,
       cached = s.cached + excluded.cached, requests = s.requests + excluded.requests,
       estimated = s.estimated + excluded.estimated`,
    [JSON.stringify(entries)],
  );
}

export async function postgresSumSpend(pool: pg.Pool, schema: string, q: SpendQuery): Promise<SpendTotal[]> {
  const args: unknown[] = [q.from.toISOString(), q.to.toISOString()];
  const where = ['s.hour >= $1', 's.hour < $2'];
  for (const field of ['client', 'objective', 'target'] as const) {
    if (q[field] === undefined) continue;
    args.push(q[field]);
    where.push(`s.${field} = $${args.length}`);
  }
  const pairs = checkTags(q.tags);
  if (pairs.length > 0) {
    args.push(JSON.stringify(Object.fromEntries(pairs)));
    where.push(`s.tags @> $${args.length}::jsonb`);
  }
  const key = keyOf(q);
  const { rows } = await pool.query<SpendGroupRow>(
    `SELECT ${key} AS key, s.currency AS currency, ${SUMS} FROM ${schema}.spend s
     ${q.by === 'tag' ? 'CROSS JOIN LATERAL jsonb_each_text(s.tags) AS j' : ''}
     WHERE ${where.join(' AND ')} GROUP BY 1, 2`,
    args,
  );
  return spendTotals(rows);
}
