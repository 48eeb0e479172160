// Change preview over the admin API (SPEC §18), on a real Junction whose
// decision log is written by real requests: the replay's counts against
// buckets computed here, the context the log keeps, an empty window, corrupt
// lines, the refusal of an apply that breaks an experiment and its
// acknowledgement recorded in the revision, a preview against a named revision.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { stringify } from 'yaml';
import { startJunction, type Junction } from '../../src/app.js';
import { bucketOf } from '../../src/routing/bucket.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const TOKEN = 'preview-token';
const UNITS = Array.from({ length: 300 }, (_, i) => `user-${i}`);
const file = join(mkdtempSync(join(tmpdir(), 'junction-preview-')), 'decisions.jsonl');
let a: Upstream;
let b: Upstream;
let j: Junction;
let admin: string;

function config(weightA: number, extra: Record<string, unknown> = {}) {
  return {
    models: {
      m: {
        versions: {
          '1': { backend: { type: 'http', endpoints: [a.url] } },
          '2': { backend: { type: 'http', endpoints: [b.url] } },
        },
      },
    },
    objectives: {
      cw: {
        default: 'm@1',
        rules: [{ id: 'latam', when: { context: { country: ['BR'] } }, use: 'm@2' }],
        experiments: [
          {
            id: 'cw-42',
            population: 0.5,
            cells: { A: { weight: weightA, use: 'm@1' }, B: { weight: 100 - weightA, use: 'm@2' } },
          },
        ],
        ...extra,
      },
    },
  };
}

async function call(method: string, path: string, body?: unknown) {
  const res = await request(`${admin}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

function logLines(): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

async function logHas(n: number): Promise<void> {
  for (let i = 0; i < 500 && logLines().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(logLines().length).toBe(n);
}

beforeAll(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  j = await startJunction({
    config: config(50),
    port: 0,
    decisionLog: file,
    control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
    log: { error() {}, warn() {}, info() {} },
  });
  admin = j.control!.adminUrl!;
});
afterAll(async () => {
  await j?.close();
  await a?.close();
  await b?.close();
});

describe('POST /admin/config/preview', () => {
  it('says so when the window holds no logged traffic', async () => {
    const r = await call('POST', '/admin/config/preview?window=15m', config(30));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ revision: 1, live: 1, basis: 'decision log', decisions: 0, empty: true });
    expect(r.json.note).toMatch(/^no logged traffic from /);
    expect(r.json.breaks).toEqual([]);
  });

  it('replays the logged requests: exposed units moving cell are named and counted, per target before and after', async () => {
    for (const unit of UNITS) {
      const res = await request(`${j.url}/v1/objectives/cw`, {
        method: 'POST',
        headers: { 'x-unit-id': unit, 'x-context-email': `${unit}@example.com`, 'x-context-country': 'US' },
        body: '{}',
      });
      await res.body.text();
    }
    const br = await request(`${j.url}/v1/objectives/cw`, {
      method: 'POST',
      headers: { 'x-unit-id': 'user-br', 'x-context-country': 'BR' },
      body: '{}',
    });
    await br.body.text();
    await logHas(UNITS.length + 1);
    // The log keeps the keys routing reads (country), not the others a caller sent (email).
    const first = JSON.parse(logLines()[0]!);
    expect(first.context).toEqual({ country: 'US' });

    const r = await call('POST', '/admin/config/preview', stringify(config(30)));
    expect(r.status).toBe(200);
    // A: [0, 2500) → [0, 1500) of the population [0, 5000): units in [1500, 2500) move from A to B.
    const moving = UNITS.filter((u) => {
      const k = bucketOf('cw-42', u);
      return k >= 1500 && k < 2500;
    }).length;
    const inA = UNITS.filter((u) => bucketOf('cw-42', u) < 2500).length;
    const inB = UNITS.filter((u) => bucketOf('cw-42', u) >= 2500 && bucketOf('cw-42', u) < 5000).length;
    expect(moving).toBeGreaterThan(10);
    expect(r.json).toMatchObject({
      revision: 1,
      live: 1,
      basis: 'decision log',
      sample: null,
      decisions: UNITS.length + 1,
      skipped: { corrupt: 0, notDecisions: 0, unknownObjective: 0 },
      empty: false,
      breaks: [{ experiment: 'cw-42', objective: 'cw', units: moving }],
    });
    expect(r.json.diff).toEqual([expect.stringMatching(/^~ objectives\.cw\.experiments: .*"weight":30/)]);
    const [o] = r.json.objectives;
    expect(o).toMatchObject({
      objective: 'cw',
      requests: UNITS.length + 1,
      units: UNITS.length + 1,
      changedRequests: moving,
      changedUnits: moving,
      breaks: [{ experiment: 'cw-42', units: moving, cells: [{ from: 'A', to: 'B', units: moving }] }],
      rollouts: [],
      unhealthy: [],
      unlogged: [],
    });
    const rest = UNITS.length - inA - inB; // outside the population: the default, m@1
    expect(o.targets).toEqual([
      { target: 'm@1', before: inA + rest, after: inA + rest - moving, healthy: true },
      { target: 'm@2', before: inB + 1, after: inB + 1 + moving, healthy: true },
    ]);

    // The last N lines of the log.
    const sampled = await call('POST', '/admin/config/preview?sample=40', config(30));
    expect(sampled.json).toMatchObject({ window: null, sample: 40, decisions: 40 });

    // A key the proposed rules read that the log does not keep is named: decisions on it cannot be replayed.
    const device = await call(
      'POST',
      '/admin/config/preview',
      config(50, { rules: [{ when: { context: { device: 'tv' } }, use: 'm@2' }] }),
    );
    expect(device.json.objectives[0].unlogged).toEqual(['device']);
  });

  it('skips and counts corrupt lines', async () => {
    // A line cut short within the window, and one that is not JSON at all (no time: judged by the replay).
    appendFileSync(file, `this is not json\n{"time":"${new Date().toISOString()}","requestId":"cut\n`);
    const r = await call('POST', '/admin/config/preview', config(30));
    expect(r.json.skipped.corrupt).toBe(2);
    expect(r.json.decisions).toBe(UNITS.length + 1);
  });

  it('answers a config that does not validate as PUT /admin/config does', async () => {
    const bad = config(30, { default: 'm@9' });
    const preview = await call('POST', '/admin/config/preview', bad);
    const put = await call('PUT', '/admin/config', bad);
    expect(preview.status).toBe(400);
    expect(preview.json.error.code).toBe('invalid_request');
    expect(preview.json.error.issues).toEqual(put.json.error.issues);
    expect((await call('POST', '/admin/config/preview?window=soon', config(30))).json.error.message).toMatch(
      /window must be a duration/,
    );
  });

  it('refuses an apply that breaks an experiment until it is acknowledged, and records the acknowledgement', async () => {
    const refused = await call('PUT', '/admin/config', config(30));
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('experiment_break_unacknowledged');
    expect(refused.json.error.message).toMatch(/cw-42/);
    expect(refused.json.error.issues[0].path).toBe('objectives.cw.experiments');
    expect(j.runtime.current!.number).toBe(1);

    // A change that moves no exposed unit needs nothing.
    const harmless = await call('PUT', '/admin/config?dryRun=true', config(50, { description: 'ranking' }));
    expect(harmless.status).toBe(200);

    const applied = await call('PUT', '/admin/config?acknowledge=cw-42&message=reweigh', config(30));
    expect(applied.status).toBe(200);
    expect(applied.json.revision).toBe(2);
    const rev = await call('GET', '/admin/revisions/2');
    expect(rev.json.notes).toEqual({ acknowledged: ['cw-42'] });
  });

  it('previews against the revision the request names, and says which is live', async () => {
    const r = await call('POST', '/admin/config/preview?revision=1', config(30));
    expect(r.json).toMatchObject({ revision: 1, live: 2 });
    expect(r.json.breaks).toEqual([expect.objectContaining({ experiment: 'cw-42' })]);
    // Against the live revision (2, already at 30/70) the same config changes nothing.
    const live = await call('POST', '/admin/config/preview', config(30));
    expect(live.json).toMatchObject({ revision: 2, live: 2, breaks: [], diff: [] });
    expect(live.json.objectives[0].changedRequests).toBe(0);
    expect((await call('POST', '/admin/config/preview?revision=99', config(30))).status).toBe(404);
  });
});
