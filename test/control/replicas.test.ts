// Several replicas on one PostgreSQL store: three real Junction processes seed
// from the same file (one revision, not three), and a change applied through
// any one of them is served by all within about a second (LISTEN/NOTIFY). A
// revision written without a notification is still picked up (periodic check).
// A process started later on the same file neither writes when it cannot start
// nor reverts the store's newer revision (issue 22, finding 7).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stringify } from 'yaml';
import { startJunction } from '../../src/app.js';
import { PostgresStore } from '../../src/control/postgres-store.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { dropSchema, PGURL, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const skip = await postgresSkipReason();
const TOKEN = 'replica-token';
const quiet = { error() {}, warn() {}, info() {} };

async function revisionOf(url: string): Promise<number> {
  const res = await request(`${url}/v1/config/snapshot`);
  const body = (await res.body.json()) as { revision: number };
  return body.revision;
}

/** Waits until every replica serves `revision`; returns how long that took. */
async function converge(urls: string[], revision: number, timeoutMs = 15_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    const seen = await Promise.all(urls.map(revisionOf));
    if (seen.every((n) => n === revision)) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`replicas at ${seen.join(', ')}, expected ${revision}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(skip !== undefined)(`replicas on PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const schema = uniqueSchema('jrepl');
  let dir: string;
  let a: Upstream;
  let b: Upstream;
  let replicas: JunctionProcess[] = [];
  let file: string;

  beforeAll(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
    dir = mkdtempSync(join(tmpdir(), 'junction-replicas-'));
    file = join(dir, 'junction.yaml');
    writeFileSync(file, stringify(twoTargets(a.url, b.url)));
    const args = [
      'serve',
      '--config',
      file,
      '--store',
      storeUrl(schema),
      '--port',
      '0',
      '--admin-port',
      '0',
      '--host',
      '127.0.0.1',
    ];
    replicas = await Promise.all([0, 1, 2].map(() => spawnJunction(args, { JUNCTION_ADMIN_TOKEN: TOKEN })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('three replicas seeded from one file share revision 1', async () => {
    expect(await Promise.all(replicas.map((r) => revisionOf(r.url)))).toEqual([1, 1, 1]);
  });

  it('an apply through one replica is served by all three', async () => {
    const urls = replicas.map((r) => r.url);
    const times: number[] = [];
    for (const [i, def] of [
      [0, 'm@2'],
      [2, 'm@1'],
      [1, 'm@2'],
    ] as const) {
      const res = await request(`${replicas[i]!.adminUrl}/admin/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(twoTargets(a.url, b.url, def)),
      });
      const { revision } = (await res.body.json()) as { revision: number };
      times.push(await converge(urls, revision));
    }
    for (const url of urls) {
      const res = await request(`${url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
      await res.body.text();
      expect(res.headers['x-model']).toBe('m@2');
      expect(res.headers['x-decision']).toContain('revision=4');
    }
    console.log(`replicas converged in ${times.map((t) => t.toFixed(0)).join(', ')} ms after each apply`);
  });

  it('a second serve --config that cannot start writes nothing; one that starts does not revert the store', async () => {
    const urls = replicas.map((r) => r.url);
    const store = await PostgresStore.open(storeUrl(schema));
    try {
      const before = await store.latestNumber();
      expect(before).toBe(4); // the file is revision 1; three applies since
      const args = (port: string) => ['serve', '--config', file, '--store', storeUrl(schema), '--port', port];
      const common = ['--admin-port', '0', '--host', '127.0.0.1'];
      // Replica 0's data port is taken: the process fails, and the store is as it was.
      const taken = new URL(replicas[0]!.url).port;
      const failed = await spawnJunction([...args(taken), ...common], { JUNCTION_ADMIN_TOKEN: TOKEN }).then(
        async (p) => {
          await p.stop();
          return 'started';
        },
        (err: Error) => err.message,
      );
      expect(failed).toMatch(/exited with 1 before serving[\s\S]*another process holds the port/);
      expect(await store.latestNumber()).toBe(before);
      // One that starts serves the store's revision 4, not the file's revision 1, and writes nothing.
      const late = await spawnJunction([...args('0'), ...common], { JUNCTION_ADMIN_TOKEN: TOKEN });
      try {
        expect(await revisionOf(late.url)).toBe(before);
        await expect
          .poll(() => late.stdout() + late.stderr(), { timeout: 5000 })
          .toMatch(/differs from the store's revision 4 .*--apply-config/);
      } finally {
        await late.stop();
      }
      expect(await store.latestNumber()).toBe(before);
      for (const url of urls) {
        const res = await request(`${url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
        await res.body.text();
        expect(res.headers['x-decision']).toContain(`revision=${before}`);
        expect(res.headers['x-model']).toBe('m@2');
      }
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a revision written without a notification is found by the periodic check', async () => {
    const ownSchema = uniqueSchema('jpoll');
    const j = await startJunction({
      config: twoTargets(a.url, b.url),
      port: 0,
      log: quiet,
      control: { store: storeUrl(ownSchema), pollMs: 100 },
    });
    const c = new pg.Client({ connectionString: PGURL });
    await c.connect();
    try {
      const text = JSON.stringify(twoTargets(a.url, b.url, 'm@2'));
      await c.query(
        `INSERT INTO "${ownSchema}".revisions (number, author, message, source, source_text, diff) VALUES (2, 'sql', 'no notify', $1::jsonb, $2, '')`,
        [text, text],
      );
      await converge([j.url], 2);
      expect(j.runtime.current!.config.objectives.cw!.default).toBe('m@2');
    } finally {
      await c.end();
      await j.close();
      await dropSchema(ownSchema);
    }
  });

  it('the LISTEN connection comes back after the database drops it, and catches up', async () => {
    const ownSchema = uniqueSchema('jlisten');
    const j = await startJunction({
      config: twoTargets(a.url, b.url),
      port: 0,
      log: quiet,
      control: { store: storeUrl(ownSchema), pollMs: 3_600_000 }, // no periodic check: only LISTEN can tell
    });
    const writer = await PostgresStore.open(storeUrl(ownSchema));
    const c = new pg.Client({ connectionString: PGURL });
    await c.connect();
    try {
      const listening = () =>
        c.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "junction_${ownSchema}"`]);
      // The store opens its LISTEN connection in the background (subscribe does not wait for it).
      await expect.poll(async () => (await listening()).rowCount, { timeout: 10_000 }).toBe(1);
      const { rows } = await listening();
      expect(rows).toHaveLength(1);
      await c.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      // Written while nobody listens: the reconnect's catch-up must find it.
      await writer.append({ author: 't', message: 'while down', source: twoTargets(a.url, b.url, 'm@2') });
      await converge([j.url], 2);
      // And notifications flow again on the new connection.
      await writer.append({ author: 't', message: 'after', source: twoTargets(a.url, b.url, 'm@1') });
      await converge([j.url], 3);
    } finally {
      await c.end();
      await writer.close();
      await j.close();
      await dropSchema(ownSchema);
    }
  });
});
