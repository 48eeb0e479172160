// Keys issued by API (SPEC §16) over real sockets: a key created through the
// admin API is accepted by the data plane, a rotated key stops working at
// once, a revoked one too; every change is a revision (history, diff,
// rollback); bad bodies are 400s naming the path with the running revision
// kept; and the key itself is found nowhere but in the one answer that gave it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest, newKey } from '../../src/tenancy/keys.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'keys-admin-token';
const FILE_KEY = newKey();
const dir = mkdtempSync(join(tmpdir(), 'junction-keys-'));
const decisionLog = join(dir, 'decisions.jsonl');
const logged: string[] = [];
const log = {
  error: (o: object, m: string) => logged.push(JSON.stringify(o), m),
  warn: (o: object, m: string) => logged.push(JSON.stringify(o), m),
  info: (o: object, m: string) => logged.push(JSON.stringify(o), m),
};
/** Every key any answer gave out, to look for everywhere else. */
const issued: string[] = [];
let up: Upstream;
let j: Junction;

const config = (extra: Record<string, unknown> = {}) => ({
  ...twoTargets(up.url, up.url),
  clients: { web: { keySha256: keyDigest(FILE_KEY), objectives: ['cw'] } },
  ...extra,
});

beforeAll(async () => {
  up = await startUpstream('up');
  j = await startJunction({
    config: config(),
    port: 0,
    log,
    accessLog: true,
    decisionLog,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
  });
});
afterAll(async () => {
  await j.close();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  json: any;
  text: string;
}

async function admin(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const res = await request(`${j.control!.adminUrl!}${path}`, {
    method: method as 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (json && typeof json === 'object' && 'key' in json) issued.push(String(json.key));
  return { status: res.statusCode, json, text };
}

/** The data plane's status for a call to objective `cw` with `key`. */
async function call(key: string | undefined, objective = 'cw'): Promise<number> {
  const res = await request(`${j.url}/v1/objectives/${objective}`, {
    method: 'POST',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: '{}',
  });
  await res.body.text();
  return res.statusCode;
}

const live = () => j.runtime.current!.number;

describe('keys issued by API', () => {
  it('admin auth applies: no token, no keys', async () => {
    expect((await admin('GET', '/admin/keys', undefined, null)).status).toBe(401);
    expect((await admin('POST', '/admin/keys', { name: 'x' }, 'wrong')).status).toBe(401);
    expect(live()).toBe(1);
  });

  it('create → the data plane takes the key; rotate → old 401, new 200; revoke → 401', async () => {
    expect(await call(undefined)).toBe(401);
    expect(await call(FILE_KEY)).toBe(200);

    const made = await admin('POST', '/admin/keys?author=ana%40laptop', {
      name: 'search-team',
      objectives: ['cw'],
      rateLimit: { rps: 100, tpm: 400000 },
      tags: { team: 'search' },
      budgets: [{ per: 'month', max: 500, unit: 'USD' }],
    });
    expect(made.status).toBe(201);
    const key = made.json.key as string;
    expect(key).toMatch(/^jk_[A-Za-z0-9_-]{43}$/);
    expect(made.json).toMatchObject({
      client: 'search-team',
      keySha256: keyDigest(key),
      revision: 2,
      warnings: [],
      settings: { name: 'search-team', objectives: ['cw'], tags: { team: 'search' }, priority: 'default' },
    });
    // The digest leads the new client's diff line (long values are cut at 200 characters).
    expect(made.json.diff).toHaveLength(1);
    expect(made.json.diff[0]).toMatch(
      new RegExp(`^\\+ clients\\.search-team: \\{"keySha256":"${keyDigest(key)}","objectives":\\["cw"\\],"rateLimit"`),
    );
    expect(live()).toBe(2);
    expect(await call(key)).toBe(200);
    expect(await call(key, 'nope')).toBe(404);

    const rotated = await admin('PATCH', '/admin/keys/search-team', { rotate: true });
    expect(rotated.status).toBe(200);
    const next = rotated.json.key as string;
    expect(next).not.toBe(key);
    expect(rotated.json).toMatchObject({ client: 'search-team', keySha256: keyDigest(next), revision: 3 });
    expect(rotated.json.diff).toEqual([`~ clients.search-team.keySha256: "${keyDigest(key)}" → "${keyDigest(next)}"`]);
    expect(await call(key)).toBe(401);
    expect(await call(next)).toBe(200);

    const revoked = await admin('DELETE', '/admin/keys/search-team');
    expect(revoked.json).toEqual({
      client: 'search-team',
      revoked: true,
      revision: 4,
      diff: ['- clients.search-team'],
    });
    expect(await call(next)).toBe(401);
    expect(await call(FILE_KEY)).toBe(200);

    const history = await admin('GET', '/admin/revisions?limit=3');
    expect(history.json.revisions.map((r: { message: string; author: string }) => [r.message, r.author])).toEqual([
      ['keys: revoke search-team', 'admin-api'],
      ['keys: rotate search-team', 'admin-api'],
      ['keys: create search-team', 'ana@laptop'],
    ]);
  });

  it('PATCH changes settings (the key stays), null removes one, and a no-op stores nothing', async () => {
    const made = await admin('POST', '/admin/keys', { name: 'batch', objectives: ['cw'], tags: { team: 'etl' } });
    const key = made.json.key as string;
    expect(await call(key)).toBe(200);
    const narrowed = await admin('PATCH', '/admin/keys/batch', { objectives: ['other-*'], priority: 'sheddable' });
    expect(narrowed.status).toBe(200);
    expect(narrowed.json.key).toBeUndefined();
    expect(narrowed.json.settings).toMatchObject({ objectives: ['other-*'], priority: 'sheddable' });
    expect(narrowed.json.warnings).toEqual(['objectives[0]: "other-*" matches no objective of the config yet']);
    expect(await call(key)).toBe(403);
    const rev = narrowed.json.revision as number;
    expect((await admin('GET', `/admin/revisions/${rev}`)).json.message).toBe(
      'keys: update batch: objectives, priority',
    );

    const reset = await admin('PATCH', '/admin/keys/batch', { objectives: ['cw'], tags: null, priority: null });
    expect(reset.json.settings).toMatchObject({ objectives: ['cw'], tags: {}, priority: 'default' });
    expect(await call(key)).toBe(200);
    const same = await admin('PATCH', '/admin/keys/batch', { objectives: ['cw'] });
    expect(same.json).toMatchObject({ unchanged: true, revision: reset.json.revision, diff: [] });
  });

  it('lists clients with their settings, a digest prefix and where their key came from', async () => {
    const list = await admin('GET', '/admin/keys');
    expect(list.status).toBe(200);
    expect(list.json.revision).toBe(live());
    const byName = Object.fromEntries((list.json.clients as Array<{ name: string }>).map((c) => [c.name, c])) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(byName)).toEqual(['batch', 'web']);
    expect(byName.web).toMatchObject({
      issuedBy: 'config',
      keySha256Prefix: keyDigest(FILE_KEY).slice(0, 12),
      objectives: ['cw'],
      rateLimit: null,
      maxConcurrency: null,
    });
    expect(byName.batch).toMatchObject({ issuedBy: 'api', objectives: ['cw'] });
    expect(list.text).not.toContain(keyDigest(FILE_KEY)); // a prefix only
    const one = await admin('GET', '/admin/keys/web');
    expect(one.json).toMatchObject({ name: 'web', issuedBy: 'config', revision: live() });
    expect((await admin('GET', '/admin/keys/nobody')).status).toBe(404);
    expect((await admin('PATCH', '/admin/keys/nobody', { tags: {} })).status).toBe(404);
    expect((await admin('DELETE', '/admin/keys/nobody')).status).toBe(404);
  });

  it('a name with reserved URL characters is addressed percent-encoded', async () => {
    const made = await admin('POST', '/admin/keys', { name: 'team/a@b', objectives: ['cw'] });
    expect(made.status).toBe(201);
    expect((await admin('GET', `/admin/keys/${encodeURIComponent('team/a@b')}`)).json.name).toBe('team/a@b');
    expect((await admin('DELETE', `/admin/keys/${encodeURIComponent('team/a@b')}`)).status).toBe(200);
  });

  it('a bad body is a 400 naming the path, and the running revision stays', async () => {
    const before = live();
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/admin/keys', { name: 'bad name' }, 'name'],
      ['POST', '/admin/keys', { name: 'x'.repeat(129) }, 'name'],
      ['POST', '/admin/keys', { objectives: ['cw'] }, 'name'],
      ['POST', '/admin/keys', { name: 'web' }, 'name'], // exists
      [
        'POST',
        '/admin/keys',
        { name: 't', tags: Object.fromEntries([...Array(9).keys()].map((i) => [`k${i}`, 'v'])) },
        'tags',
      ],
      ['POST', '/admin/keys', { name: 't', tags: { team: 'x'.repeat(129) } }, 'tags.team'],
      ['POST', '/admin/keys', { name: 't', tags: { 'bad tag': 'x' } }, 'tags.bad tag'],
      ['POST', '/admin/keys', { name: 't', objectives: ['CW'] }, 'objectives[0]'],
      ['POST', '/admin/keys', { name: 't', rateLimit: { burst: 5 } }, 'rateLimit'],
      ['POST', '/admin/keys', { name: 't', rateLimit: { rps: -1 } }, 'rateLimit.rps'],
      ['POST', '/admin/keys', { name: 't', budgets: [{ per: 'week', max: 1, unit: 'USD' }] }, 'budgets[0].per'],
      ['POST', '/admin/keys', { name: 't', maxConcurrency: 0 }, 'maxConcurrency'],
      ['POST', '/admin/keys', { name: 't', keySha256: keyDigest('mine') }, 'keySha256'],
      ['POST', '/admin/keys', { name: 't', colour: 'red' }, 'colour'],
      ['POST', '/admin/keys', [1], '(root)'],
      ['POST', '/admin/keys', '{not json', '(root)'],
      ['PATCH', '/admin/keys/web', { rotate: 'yes' }, 'rotate'],
      ['PATCH', '/admin/keys/web', { name: 'other' }, 'name'],
      ['PATCH', '/admin/keys/web', { priority: 'urgent' }, 'priority'],
    ];
    for (const [method, path, body, at] of cases) {
      const r = await admin(method, path, body);
      expect(r.status, `${method} ${JSON.stringify(body)}`).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
      expect(
        (r.json.error.issues as Array<{ path: string }>).map((i) => i.path),
        `${method} ${JSON.stringify(body)}: ${r.text}`,
      ).toContain(at);
    }
    expect(live()).toBe(before);
    expect(await j.control!.plane.store.latestNumber()).toBe(before);
  });

  it('the last client is not revoked: with none, every caller would be served without a key', async () => {
    const list = (await admin('GET', '/admin/keys')).json.clients as Array<{ name: string }>;
    for (const c of list.slice(1)) expect((await admin('DELETE', `/admin/keys/${c.name}`)).status).toBe(200);
    const last = list[0]!.name;
    const refused = await admin('DELETE', `/admin/keys/${last}`);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/is the last client, and with no client Junction serves every caller/);
    expect(await call(undefined)).toBe(401);
  });

  it('concurrent creates all land, each in its own revision', async () => {
    const before = live();
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const made = await Promise.all(names.map((name) => admin('POST', '/admin/keys', { name, objectives: ['cw'] })));
    expect(made.map((m) => m.status)).toEqual(names.map(() => 201));
    expect(made.map((m) => m.json.revision as number).sort((x, y) => x - y)).toEqual(
      names.map((_, i) => before + i + 1),
    );
    for (const m of made) expect(await call(m.json.key as string)).toBe(200);
    const listed = ((await admin('GET', '/admin/keys')).json.clients as Array<{ name: string }>).map((c) => c.name);
    for (const name of names) expect(listed).toContain(name);
  });

  it('history and rollback hold: rolling back a create refuses the key, rolling forward takes it again', async () => {
    const made = await admin('POST', '/admin/keys', { name: 'temp', objectives: ['cw'] });
    const key = made.json.key as string;
    const created = made.json.revision as number;
    expect(await call(key)).toBe(200);
    const back = await admin('POST', `/admin/revisions/${created - 1}/rollback`);
    expect(back.json.diff).toEqual(['- clients.temp']);
    expect(await call(key)).toBe(401);
    const forward = await admin('POST', `/admin/revisions/${created}/rollback`);
    expect(forward.status).toBe(200);
    expect(await call(key)).toBe(200);
    // Still known as issued by the API: its digest came from a keys revision.
    expect((await admin('GET', '/admin/keys/temp')).json.issuedBy).toBe('api');
  });

  it('the key is nowhere but in the answer that issued it: not in the store, revisions, diffs, config, lists or logs', async () => {
    expect(issued.length).toBeGreaterThanOrEqual(10);
    const store = j.control!.plane.store;
    const texts: string[] = [];
    for (let n = 1; n <= (await store.latestNumber()); n++) texts.push(JSON.stringify(await store.get(n)));
    texts.push(JSON.stringify(await store.list(1000)));
    texts.push((await admin('GET', '/admin/config')).text);
    texts.push((await admin('GET', '/admin/revisions?limit=1000')).text);
    texts.push((await admin('GET', '/admin/keys')).text);
    texts.push(logged.join('\n'));
    texts.push(readFileSync(decisionLog, 'utf8'));
    const all = texts.join('\n');
    expect(all).toContain('keys: create'); // the haystack is the right one
    expect(readFileSync(decisionLog, 'utf8')).toContain('"client":"temp"');
    for (const key of issued) expect(all).not.toContain(key);
  });
});
