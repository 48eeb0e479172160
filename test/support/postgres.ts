// Real PostgreSQL for tests: PGURL (default the local test database). A test
// file asks `postgresOrSkip()`: when the server is absent it gets a one-line
// skip reason, unless JUNCTION_REQUIRE_SERVICES=1 makes absence a failure.
// Each run works in its own schema so parallel test files never collide.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PGURL = process.env.PGURL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** undefined when PostgreSQL answers; else why the tests are skipped. Throws when services are required. */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PGURL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    const reason = `PostgreSQL not reachable at ${PGURL} (${(err as Error).message}); set PGURL to run these tests`;
    if (process.env.JUNCTION_REQUIRE_SERVICES === '1')
      throw new Error(`JUNCTION_REQUIRE_SERVICES=1: ${reason}`, { cause: err });
    return reason;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function uniqueSchema(prefix = 'jtest'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** PGURL with `?schema=` set (the PostgreSQL store's way of choosing its schema). */
export function storeUrl(schema: string): string {
  const u = new URL(PGURL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PGURL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
