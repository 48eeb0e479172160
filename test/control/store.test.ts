// Both stores, one contract: numbering, content, rollback material, migrations.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyCounters } from '../../src/control/gate-stats.js';
import { MIGRATIONS } from '../../src/control/migrations.js';
import { PostgresStore } from '../../src/control/postgres-store.js';
import { SqliteStore } from '../../src/control/sqlite-store.js';
import type { Store } from '../../src/control/store.js';
import { dropSchema, PGURL, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';

const pgSkip = await postgresSkipReason();
const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

interface Backend {
  name: string;
  skip?: string;
  /** Opens a store; the same `place` opens the same data again. */
  open(place?: string): Promise<{ store: Store; place: string }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open(place) {
      const dir = place ?? mkdtempSync(join(tmpdir(), 'junction-store-'));
      if (!place) dirs.push(dir);
      return { store: new SqliteStore(dir), place: dir };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async open(place) {
      const schema = place ?? uniqueSchema();
      if (!place) schemas.push(schema);
      return { store: await PostgresStore.open(storeUrl(schema)), place: schema };
    },
  },
];

const cfg = (d: string) => ({ objectives: { cw: { default: d } }, models: {} });

for (const b of backends) {
  describe.skipIf(b.skip !== undefined)(`${b.name} store${b.skip ? ` (skipped: ${b.skip})` : ''}`, () => {
    it('keeps the submitted text (comments, order) and the notes an author recorded; a comment-only edit is a revision', async () => {
      const { store } = await b.open();
      try {
        const text = '# the ranking team owns this\nobjectives:\n  cw: { default: m@1 }\nmodels: {}\n';
        const r1 = await store.append({
          author: 'ana',
          message: 'first',
          source: cfg('m@1'),
          text,
          notes: { acknowledged: ['cw-42'], forced: 'canary on staff only' },
        });
        expect(r1).toMatchObject({ text, notes: { acknowledged: ['cw-42'], forced: 'canary on staff only' } });
        expect(await store.get(1)).toMatchObject({ text, notes: { acknowledged: ['cw-42'] } });
        expect((await store.list(5))[0]!.notes).toEqual({ acknowledged: ['cw-42'], forced: 'canary on staff only' });
        // Same meaning, same text: nothing new. Same meaning, new comment: kept.
        expect(
          await store.append({ author: 'ana', message: 'again', source: cfg('m@1'), text, onlyIfChanged: true }),
        ).toBeUndefined();
        const r2 = await store.append({
          author: 'ana',
          message: 'comment',
          source: cfg('m@1'),
          text: text.replace('ranking', 'home'),
          onlyIfChanged: true,
        });
        expect(r2).toMatchObject({ number: 2 });
        expect(r2!.notes).toBeUndefined();
        // An edit Junction made (no text) keeps none, and says nothing it was not told.
        const r3 = await store.append({
          author: 'controller',
          message: 'step',
          source: cfg('m@2'),
          notes: { acknowledged: [] },
        });
        expect(r3!.text).toBeUndefined();
        expect(r3!.notes).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('appends N+1 with author, message, source and diff; lists newest first', async () => {
      const { store } = await b.open();
      try {
        expect(await store.latest()).toBeUndefined();
        expect(await store.latestNumber()).toBe(0);
        const r1 = await store.append({ author: 'ana', message: 'first', source: cfg('m@1') });
        const r2 = await store.append({ author: 'bo', message: 'second', source: cfg('m@2') });
        expect(r1!.number).toBe(1);
        expect(r2).toMatchObject({ number: 2, author: 'bo', message: 'second', source: cfg('m@2') });
        expect(r2!.diff).toBe('~ objectives.cw.default: "m@1" → "m@2"');
        expect(Date.parse(r2!.createdAt)).not.toBeNaN();
        expect((await store.get(1))!.source).toEqual(cfg('m@1'));
        expect(await store.get(99)).toBeUndefined();
        expect((await store.list(10)).map((r) => r.number)).toEqual([2, 1]);
        expect(await store.latestNumber()).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('onlyIfChanged writes nothing for the same config in another key order', async () => {
      const { store } = await b.open();
      try {
        await store.append({
          author: 'a',
          message: '',
          source: { models: {}, objectives: { cw: { default: 'm@1' } } },
        });
        const again = await store.append({
          author: 'a',
          message: '',
          source: { objectives: { cw: { default: 'm@1' } }, models: {} },
          onlyIfChanged: true,
        });
        expect(again).toBeUndefined();
        expect(await store.latestNumber()).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('concurrent writers get distinct consecutive numbers', async () => {
      const { store, place } = await b.open();
      const { store: other } = await b.open(place);
      try {
        const made = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? store : other).append({ author: 'x', message: String(i), source: cfg(`m@${i}`) }),
          ),
        );
        expect(made.map((r) => r!.number).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        await store.close();
        await other.close();
      }
    });

    it('reopening runs no migration twice and keeps the data', async () => {
      const { store, place } = await b.open();
      await store.append({ author: 'a', message: 'kept', source: cfg('m@1') });
      await store.close();
      const { store: again } = await b.open(place);
      try {
        expect((await again.latest())!.message).toBe('kept');
      } finally {
        await again.close();
      }
      const versions = b.name === 'sqlite' ? await sqliteMigrations(place) : await postgresMigrations(place);
      expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it('gate statistics: each replica replaces its own counters, reads sum them', async () => {
      const { store } = await b.open();
      const c = (requests: number, errors: number) => ({
        ...emptyCounters(),
        requests,
        errors,
        buckets: [requests - 1, 1],
        agree: requests,
        scores: [errors, 1],
      });
      try {
        await store.publishGateStats('r1', [{ objective: 'cw', target: 'm@2', counters: c(5, 1) }]);
        await store.publishGateStats('r1', [{ objective: 'cw', target: 'm@2', counters: c(7, 1) }]);
        await store.publishGateStats('r2', [
          { objective: 'cw', target: 'm@2', counters: c(3, 0) },
          { objective: 'other', target: 'm@2', counters: c(9, 9) },
        ]);
        const sum = (await store.readGateStats('cw')).get('m@2')!;
        expect([
          sum.requests,
          sum.errors,
          sum.buckets[0],
          sum.buckets[1],
          sum.agree,
          sum.scores[0],
          sum.scores[1],
        ]).toEqual([10, 1, 8, 2, 10, 1, 2]);
        expect([...(await store.readGateStats('cw')).keys()]).toEqual(['m@2']);
      } finally {
        await store.close();
      }
    });

    it('one leader at a time; leadership passes on when the leader goes away', async () => {
      const { store: a, place } = await b.open();
      const { store: other } = await b.open(place);
      try {
        expect(await a.tryLead('a', 60_000)).toBe(true);
        expect(await other.tryLead('b', 60_000)).toBe(false);
        expect(await a.tryLead('a', 60_000)).toBe(true);
        if (b.name === 'sqlite') {
          await a.tryLead('a', 1); // a short lease that a stops renewing
          const since = Date.now();
          while (Date.now() <= since + 1) await new Promise((r) => setImmediate(r));
        } else {
          await a.close(); // the session lock goes with the connection
        }
        expect(await other.tryLead('b', 60_000)).toBe(true);
      } finally {
        if (b.name === 'sqlite') await a.close();
        await other.close();
      }
    });
  });
}

async function sqliteMigrations(dir: string): Promise<number[]> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'junction.db'), { readonly: true });
  try {
    return (db.prepare('SELECT version FROM junction_migrations ORDER BY version').all() as { version: number }[]).map(
      (r) => r.version,
    );
  } finally {
    db.close();
  }
}

async function postgresMigrations(schema: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: PGURL });
  await c.connect();
  try {
    const { rows } = await c.query<{ version: number }>(
      `SELECT version FROM "${schema}".junction_migrations ORDER BY version`,
    );
    return rows.map((r) => r.version);
  } finally {
    await c.end();
  }
}
