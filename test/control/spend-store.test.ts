// The spend ledger in both stores, one contract: batches add up per hour and
// key, sums are over [from, to) by client, tag, objective or target, filtered
// by client and tags (a tag budget's scope), with cost per currency.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/control/postgres-store.js';
import { SqliteStore } from '../../src/control/sqlite-store.js';
import type { Store } from '../../src/control/store.js';
import type { SpendEntry } from '../../src/control/spend-types.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';

const pgSkip = await postgresSkipReason();
const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

const backends: Array<{ name: string; skip?: string; open(): Promise<Store> }> = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'junction-spend-'));
      dirs.push(dir);
      return new SqliteStore(dir);
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async open() {
      const schema = uniqueSchema();
      schemas.push(schema);
      return PostgresStore.open(storeUrl(schema));
    },
  },
];

const H = Date.UTC(2026, 11, 3, 10); // 2026-12-03T10:00Z
const HOUR = 3600_000;

function entry(over: Partial<SpendEntry>): SpendEntry {
  return {
    hour: H,
    client: 'search',
    objective: 'chat',
    target: 'chat@1',
    currency: 'USD',
    tags: '{"team":"search"}',
    cost: 1,
    prompt: 10,
    completion: 5,
    cached: 0,
    requests: 1,
    estimated: 0,
    ...over,
  };
}

for (const b of backends) {
  describe.skipIf(b.skip !== undefined)(`${b.name} spend ledger${b.skip ? ` (skipped: ${b.skip})` : ''}`, () => {
    it('adds batches to the same hour and key, and sums by each dimension over [from, to)', async () => {
      const store = await b.open();
      try {
        await store.addSpend([
          entry({}),
          entry({ client: 'ads', tags: '{"project":"x","team":"ads"}', cost: 0.25, target: 'chat@2', cached: 3 }),
          entry({ client: '', tags: '{}', currency: '', cost: 0, objective: 'embed', target: 'embed@1' }),
        ]);
        // A second flush of the same hour and key adds up; the next hour is a row of its own.
        await store.addSpend([entry({ cost: 0.5, requests: 2, estimated: 1, prompt: 4 }), entry({ hour: H + HOUR })]);
        // Another currency for the same client.
        await store.addSpend([entry({ currency: 'EUR', cost: 2, target: 'eu@1' })]);

        const window = { from: new Date(H), to: new Date(H + HOUR) };
        expect(await store.sumSpend({ ...window, by: 'client' })).toEqual([
          { key: '', cost: {}, tokens: { prompt: 10, completion: 5, cached: 0 }, requests: 1, estimatedRequests: 0 },
          {
            key: 'ads',
            cost: { USD: 0.25 },
            tokens: { prompt: 10, completion: 5, cached: 3 },
            requests: 1,
            estimatedRequests: 0,
          },
          {
            key: 'search',
            cost: { USD: 1.5, EUR: 2 },
            tokens: { prompt: 24, completion: 15, cached: 0 },
            requests: 4,
            estimatedRequests: 1,
          },
        ]);
        const byTag = await store.sumSpend({ ...window, by: 'tag' });
        expect(byTag.map((r) => [r.key, r.cost, r.requests])).toEqual([
          ['project=x', { USD: 0.25 }, 1],
          ['team=ads', { USD: 0.25 }, 1],
          ['team=search', { USD: 1.5, EUR: 2 }, 4],
        ]);
        const byObjective = await store.sumSpend({ ...window, by: 'objective' });
        expect(byObjective.map((r) => [r.key, r.requests])).toEqual([
          ['chat', 5],
          ['embed', 1],
        ]);
        const byTarget = await store.sumSpend({ ...window, by: 'target' });
        expect(byTarget.map((r) => [r.key, r.cost])).toEqual([
          ['chat@1', { USD: 1.5 }],
          ['chat@2', { USD: 0.25 }],
          ['embed@1', {}],
          ['eu@1', { EUR: 2 }],
        ]);
        // The next hour only with a window that reaches it; the total has key ''.
        const [total] = await store.sumSpend({ from: new Date(H), to: new Date(H + 2 * HOUR) });
        expect(total).toMatchObject({ key: '', cost: { USD: 2.75, EUR: 2 }, requests: 7 });
        expect(await store.sumSpend({ from: new Date(H + 2 * HOUR), to: new Date(H + 3 * HOUR) })).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('filters by client and by every tag of a tag budget', async () => {
      const store = await b.open();
      try {
        await store.addSpend([
          entry({ client: 'a', tags: '{"project":"x","team":"search"}', cost: 1 }),
          entry({ client: 'b', tags: '{"team":"search"}', cost: 2 }),
          entry({ client: 'c', tags: '{"project":"x"}', cost: 4 }),
        ]);
        const window = { from: new Date(H), to: new Date(H + HOUR) };
        const cost = async (q: object) => (await store.sumSpend({ ...window, ...q }))[0]?.cost.USD ?? 0;
        expect(await cost({ tags: { team: 'search' } })).toBe(3);
        expect(await cost({ tags: { team: 'search', project: 'x' } })).toBe(1);
        expect(await cost({ tags: { project: 'x' } })).toBe(5);
        expect(await cost({ client: 'c' })).toBe(4);
        expect(await cost({ client: 'c', tags: { team: 'search' } })).toBe(0);
        await expect(store.sumSpend({ ...window, tags: { 'a"b': 'x' } })).rejects.toThrow(/not a tag name/);
      } finally {
        await store.close();
      }
    });
  });
}
