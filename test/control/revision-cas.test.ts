// Compare-and-set on the revision number: an edit computed from revision N is
// never stored on top of N+1 (it would undo N+1's change). The store refuses
// it (`ifLatest`), and the control plane computes the edit again from the
// newer revision, so edits made at once through two processes both land.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startJunction } from '../../src/app.js';
import { PostgresStore } from '../../src/control/postgres-store.js';
import { SqliteStore } from '../../src/control/sqlite-store.js';
import { RevisionConflict, type Store } from '../../src/control/store.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { twoTargets } from './configs.js';

const skip = await postgresSkipReason();
const up = 'http://127.0.0.1:9';
const dir = mkdtempSync(join(tmpdir(), 'junction-cas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusesStale(store: Store): Promise<void> {
  const first = await store.append({ author: 't', message: 'one', source: twoTargets(up, up), ifLatest: 0 });
  expect(first?.number).toBe(1);
  await store.append({ author: 't', message: 'two', source: twoTargets(up, up, 'm@2') });
  const stale = store.append({ author: 't', message: 'stale', source: twoTargets(up, up), ifLatest: 1 });
  await expect(stale).rejects.toBeInstanceOf(RevisionConflict);
  await expect(stale).rejects.toMatchObject({ expected: 1, found: 2 });
  expect(await store.latestNumber()).toBe(2);
  const fresh = await store.append({ author: 't', message: 'fresh', source: twoTargets(up, up), ifLatest: 2 });
  expect(fresh?.number).toBe(3);
}

describe('revision compare-and-set', () => {
  it('SQLite refuses an append computed from an older revision', async () => {
    const store = new SqliteStore(':memory:');
    try {
      await refusesStale(store);
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip !== undefined)('PostgreSQL refuses an append computed from an older revision', async () => {
    const schema = uniqueSchema('jcas');
    const store = await PostgresStore.open(storeUrl(schema));
    try {
      await refusesStale(store);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('edits through two processes at once both land, neither undoing the other', async () => {
    const quiet = { error() {}, warn() {}, info() {} };
    const start = () =>
      startJunction({ config: twoTargets(up, up), port: 0, log: quiet, control: { data: dir, pollMs: 3_600_000 } });
    const p1 = await start();
    const p2 = await start();
    try {
      // Each edit adds one pin to whatever the latest revision holds.
      const pin = (unit: string) => (latest: unknown) => {
        const s = structuredClone(latest) as { objectives: { cw: { pins?: Record<string, string> } } };
        s.objectives.cw.pins = { ...s.objectives.cw.pins, [unit]: 'm@2' };
        return s;
      };
      await Promise.all(
        ['a', 'b', 'c', 'd'].map((u, i) =>
          (i % 2 ? p1 : p2).control!.plane.edit({ edit: pin(u), author: u, message: `pin ${u}` }),
        ),
      );
      const latest = await p1.control!.plane.store.latest();
      expect(latest!.number).toBe(5);
      expect((latest!.source as { objectives: { cw: { pins: object } } }).objectives.cw.pins).toEqual({
        a: 'm@2',
        b: 'm@2',
        c: 'm@2',
        d: 'm@2',
      });
    } finally {
      await p1.close();
      await p2.close();
    }
  });
});
