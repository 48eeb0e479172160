// Keys issued by API on two replicas sharing a PostgreSQL store: a key created
// through one replica's admin API is accepted by the other's data plane once
// it follows the new revision (LISTEN/NOTIFY, about a second); a rotated or
// revoked key is refused there; creates sent to both replicas at once all land
// (the store's compare-and-set: none undoes another).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stringify } from 'yaml';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { spawnJunction, type JunctionProcess } from '../support/junction-process.js';
import { dropSchema, postgresSkipReason, storeUrl, uniqueSchema } from '../support/postgres.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const skip = await postgresSkipReason();
const TOKEN = 'keys-replica-token';
const FILE_KEY = newKey();
/** How long a replica may take to follow a revision another one stored. */
const CONVERGE_MS = 5000;

describe.skipIf(skip !== undefined)(`keys on replicas over PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const schema = uniqueSchema('jkeys');
  let dir: string;
  let up: Upstream;
  let a: JunctionProcess;
  let b: JunctionProcess;

  beforeAll(async () => {
    up = await startUpstream('up');
    dir = mkdtempSync(join(tmpdir(), 'junction-keys-replicas-'));
    const file = join(dir, 'junction.yaml');
    writeFileSync(
      file,
      stringify({
        ...twoTargets(up.url, up.url),
        clients: { web: { keySha256: keyDigest(FILE_KEY), objectives: ['cw'] } },
      }),
    );
    const args = ['serve', '--config', file, '--store', storeUrl(schema), '--port', '0', '--admin-port', '0'];
    const started = await Promise.all(
      [0, 1].map(() => spawnJunction([...args, '--host', '127.0.0.1'], { JUNCTION_ADMIN_TOKEN: TOKEN })),
    );
    [a, b] = [started[0]!, started[1]!];
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].map((r) => r?.stop()));
    await up.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  async function admin(at: JunctionProcess, method: string, path: string, body?: unknown): Promise<any> {
    const res = await request(`${at.adminUrl!}${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    return { status: res.statusCode, ...json };
  }

  async function call(at: JunctionProcess, key: string): Promise<number> {
    const res = await request(`${at.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: '{}',
    });
    await res.body.text();
    return res.statusCode;
  }

  it('a key created on one replica is taken by the other; rotated and revoked keys are refused there', async () => {
    expect(await call(b, FILE_KEY)).toBe(200);
    const made = await admin(a, 'POST', '/admin/keys', { name: 'search-team', objectives: ['cw'] });
    expect(made.status).toBe(201);
    const key = made.key as string;
    expect(await call(a, key)).toBe(200); // live where it was made as soon as it answers
    await expect.poll(() => call(b, key), { timeout: CONVERGE_MS, interval: 20 }).toBe(200);
    expect((await admin(b, 'GET', '/admin/keys/search-team')).issuedBy).toBe('api');

    const rotated = await admin(b, 'PATCH', '/admin/keys/search-team', { rotate: true });
    expect(rotated.status).toBe(200);
    const next = rotated.key as string;
    expect(await call(b, key)).toBe(401);
    await expect.poll(() => call(a, key), { timeout: CONVERGE_MS, interval: 20 }).toBe(401);
    expect(await call(a, next)).toBe(200);

    const revoked = await admin(a, 'DELETE', '/admin/keys/search-team');
    expect(revoked.status).toBe(200);
    await expect.poll(() => call(b, next), { timeout: CONVERGE_MS, interval: 20 }).toBe(401);
    expect(await call(b, FILE_KEY)).toBe(200);
  }, 30_000);

  it('creates sent to both replicas at once all land, each in its own revision', async () => {
    const names = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'];
    const made = await Promise.all(
      names.map((name, i) => admin(i % 2 ? a : b, 'POST', '/admin/keys', { name, objectives: ['cw'] })),
    );
    expect(made.map((m) => m.status)).toEqual(names.map(() => 201));
    const revisions = made.map((m) => m.revision as number);
    expect(new Set(revisions).size).toBe(names.length);
    const last = Math.max(...revisions);
    for (const at of [a, b]) {
      await expect
        .poll(async () => ((await admin(at, 'GET', '/admin/keys')).revision as number) >= last, {
          timeout: CONVERGE_MS,
        })
        .toBe(true);
      const listed = ((await admin(at, 'GET', '/admin/keys')).clients as Array<{ name: string }>).map((c) => c.name);
      expect(listed).toEqual(expect.arrayContaining([...names, 'web']));
      for (const m of made) expect(await call(at, m.key as string)).toBe(200);
    }
  }, 30_000);
});
