// The admin API over real sockets: auth, dry run, refused configs, rollback,
// models, rollout actions, and the snapshot following applied revisions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stringify } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'test-admin-token';
let a: Upstream;
let b: Upstream;
let j: Junction;
let admin: string;

beforeAll(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  j = await startJunction({
    config: twoTargets(a.url, b.url),
    port: 0,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  admin = j.control!.adminUrl!;
});
afterAll(async () => {
  await j.close();
  await a.close();
  await b.close();
});

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const res = await request(`${admin}${path}`, {
    method: method as 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

async function served(): Promise<string> {
  const res = await request(`${j.url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
  await res.body.text();
  return String(res.headers['x-model']);
}

describe('admin API', () => {
  it('refuses requests without the right bearer token', async () => {
    expect((await call('GET', '/admin/config', undefined, null)).json.error.code).toBe('unauthorized');
    expect((await call('GET', '/admin/config', undefined, 'wrong')).status).toBe(401);
  });

  it('an in-process config is stored as revision 1', async () => {
    const r = await call('GET', '/admin/config');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ revision: 1, config: twoTargets(a.url, b.url) });
  });

  it('dry run validates and diffs, changing nothing', async () => {
    const r = await call('PUT', '/admin/config?dryRun=true', twoTargets(a.url, b.url, 'm@2'));
    expect(r.json).toEqual({
      valid: true,
      dryRun: true,
      revision: 1,
      diff: ['~ objectives.cw.default: "m@1" → "m@2"'],
    });
    const yaml = await call('PUT', '/admin/config?dryRun=true', stringify(twoTargets(a.url, b.url, 'm@2')));
    expect(yaml.json.diff).toEqual(r.json.diff); // YAML bodies too
    expect(j.runtime.current!.number).toBe(1);
  });

  it('a bad config is a 400 listing every issue, and the running revision stays', async () => {
    const bad = twoTargets(a.url, b.url, 'm@9', { rollout: { candidate: 'nope@1', percent: 500 } });
    const r = await call('PUT', '/admin/config', bad);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_request');
    const paths = r.json.error.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain('objectives.cw.rollout.percent');
    expect((await call('PUT', '/admin/config?dryRun=true', '{not json or yaml: [')).status).toBe(400);
    // Valid, but cannot be served (no such model file): refused before it is stored.
    const unservable = twoTargets(a.url, b.url);
    (unservable.models.m.versions as Record<string, unknown>)['3'] = {
      backend: { type: 'onnx', path: 'no-such-model.onnx' },
    };
    const refused = await call('PUT', '/admin/config', unservable);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/nothing was stored, revision 1 stays live/);
    expect(refused.json.error.issues[0].path).toBe('models.m.versions.3.backend.path');
    expect(j.runtime.current!.number).toBe(1);
    expect((await call('GET', '/admin/revisions')).json.revisions).toHaveLength(1);
    expect(await served()).toBe('m@1');
  });

  it('apply makes revision N+1 live; the snapshot ETag follows it', async () => {
    const before = await request(`${j.url}/v1/config/snapshot`);
    const etag = String(before.headers.etag);
    await before.body.text();
    const r = await call('PUT', '/admin/config?message=to%202&author=ana', twoTargets(a.url, b.url, 'm@2'));
    expect(r.json).toEqual({ revision: 2, unchanged: false, diff: ['~ objectives.cw.default: "m@1" → "m@2"'] });
    expect(await served()).toBe('m@2');
    const same = await call('PUT', '/admin/config', twoTargets(a.url, b.url, 'm@2'));
    expect(same.json).toMatchObject({ revision: 2, unchanged: true });
    const snap = await request(`${j.url}/v1/config/snapshot`, { headers: { 'if-none-match': etag } });
    expect(snap.statusCode).toBe(200);
    expect(((await snap.body.json()) as { revision: number }).revision).toBe(2);
    const detail = await call('GET', '/admin/revisions/2');
    expect(detail.json).toMatchObject({
      number: 2,
      author: 'ana',
      message: 'to 2',
      live: true,
      source: twoTargets(a.url, b.url, 'm@2'),
    });
    // The editor gets back the document as it was sent, not a re-serialization.
    expect((await call('GET', '/admin/config')).json.text).toBe(JSON.stringify(twoTargets(a.url, b.url, 'm@2')));
  });

  it('rollback N applies revision N as a new revision', async () => {
    const r = await call('POST', '/admin/revisions/1/rollback');
    expect(r.json).toMatchObject({ revision: 3, unchanged: false });
    expect(await served()).toBe('m@1');
    const list = await call('GET', '/admin/revisions');
    expect(list.json.live).toBe(3);
    expect(list.json.revisions[0]).toMatchObject({ number: 3, message: 'rollback to revision 1' });
    expect((await call('POST', '/admin/revisions/77/rollback')).json.error.code).toBe('not_found');
  });

  it('rollout start, pause, resume, promote each write a revision', async () => {
    const path = '/admin/objectives/cw/rollout';
    const start = await call('POST', `${path}/start`, {
      candidate: 'm@2',
      steps: [10, 50, 100],
      gates: { maxErrorRate: 0.01 }, // a stepped rollout without a health gate is refused (rollout-start.test.ts)
    });
    expect(start.json).toMatchObject({
      revision: 4,
      default: 'm@1',
      rollout: { candidate: 'm@2', percent: 10, state: 'running' },
    });
    expect((await call('POST', `${path}/pause`)).json.rollout.state).toBe('paused');
    expect((await call('GET', path)).json.rollout).toMatchObject({ percent: 10, state: 'paused' });
    expect((await call('POST', `${path}/resume`)).json.rollout.state).toBe('running');
    const models = await call('GET', '/admin/models');
    const m2 = models.json.models.find((m: { target: string }) => m.target === 'm@2');
    expect(m2.usedBy).toEqual([{ objective: 'cw', as: 'rollout', detail: '10% running' }]);
    const promoted = await call('POST', `${path}/promote`);
    expect(promoted.json).toMatchObject({ revision: 7, default: 'm@2', rollout: null });
    expect(await served()).toBe('m@2');
    const abort = await call('POST', `${path}/abort`);
    expect(abort.status).toBe(400);
    expect(abort.json.error.message).toMatch(/no rollout/);
    expect((await call('POST', `${path}/explode`)).status).toBe(404);
    expect((await call('POST', '/admin/objectives/nope/rollout/start', { candidate: 'm@2' })).json.error.code).toBe(
      'objective_not_found',
    );
  });

  it('answers unknown routes and methods with catalogue codes', async () => {
    expect((await call('GET', '/admin/nothing')).json.error.code).toBe('not_found');
    expect((await call('DELETE', '/admin/config')).json.error.code).toBe('method_not_allowed');
  });

  it("names errors by the caller's x-request-id, as the data plane does, or by a new ULID", async () => {
    const mine = await request(`${admin}/admin/nothing`, {
      headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': 'ops-42' },
    });
    expect(((await mine.body.json()) as { error: { requestId: string } }).error.requestId).toBe('ops-42');
    expect(mine.headers['x-request-id']).toBe('ops-42');
    const made = await call('GET', '/admin/nothing');
    expect(made.json.error.requestId).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });
});
