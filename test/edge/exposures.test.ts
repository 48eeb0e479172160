// POST /v1/exposures: decisions made by the SDK or a proxy join the decision
// log (via sdk/edge) and junction_decisions_total; a bad item refuses the
// whole call, naming the item, and writes nothing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { keyDigest } from '../../src/tenancy/keys.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

const file = join(mkdtempSync(join(tmpdir(), 'junction-exposures-')), 'decisions.jsonl');
const backend = { type: 'http', endpoints: ['http://127.0.0.1:9'] };
const config = (versions: string[], def: string) => ({
  models: { ranker: { versions: Object.fromEntries(versions.map((v) => [v, { backend }])) } },
  objectives: { 'ex-ranking': { default: def } },
});
let j: Junction;

beforeAll(async () => {
  j = await startJunction({
    port: 0,
    decisionLog: file,
    config: config(['6', '7'], 'ranker@6'),
    control: { data: ':memory:' },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => j?.close());

async function post(body: unknown) {
  const res = await request(`${j.url}/v1/exposures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

async function decisions(via: string, target = 'ranker@7'): Promise<number> {
  const samples = parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
  return sampleValue(samples, 'junction_decisions_total', { objective: 'ex-ranking', target, via });
}

/** A decision an SDK made a minute ago (reported times must be within the last 24 hours). */
const WHEN = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000).toISOString();
const item = (over: Record<string, unknown> = {}) => ({
  time: WHEN,
  objective: 'ex-ranking',
  unit: 'user-1',
  target: 'ranker@7',
  rule: 'experiment:e1',
  experiment: 'e1',
  cell: 'B',
  revision: 1,
  trafficClass: 'live',
  ...over,
});

it('accepts a batch (202), counts it by via and refuses a bad one whole, naming the item', async () => {
  expect(await post({ exposures: [item(), item({ unit: 'user-2' })] })).toEqual({
    status: 202,
    json: { accepted: 2, written: 2 },
  });
  expect(
    (await post({ via: 'edge', exposures: [item({ rule: 'default', experiment: null, cell: null })] })).status,
  ).toBe(202);
  expect(await decisions('sdk')).toBe(2);
  expect(await decisions('edge')).toBe(1);

  const bad = await post({ exposures: [item(), item({ revision: 'one' })] });
  expect(bad.status).toBe(400);
  expect(bad.json.error.code).toBe('invalid_request');
  expect(bad.json.error.message).toMatch(/^exposures\[1\]\.revision/);
  expect(await decisions('sdk')).toBe(2); // nothing half-written

  const unknownTarget = await post({ exposures: [item({ target: 'ranker@99' })] });
  expect(unknownTarget.status).toBe(400);
  expect(unknownTarget.json.error.message).toMatch(/^exposures\[0\]: .*ranker@99/);
  expect((await post({ exposures: [item({ objective: 'nope' })] })).status).toBe(400);
  expect((await post({ exposures: [item({ via: 'carrier-pigeon' })] })).status).toBe(400);
  expect((await post({ exposures: new Array(10_001).fill(item()) })).status).toBe(400);
  // A time outside the last day, or a rule that is only an inherited property name, is refused whole.
  const old = await post({ exposures: [item(), item({ time: '1969-12-31T00:00:00Z' })] });
  expect(old.status).toBe(400);
  expect(JSON.stringify(old.json)).toContain('exposures[1].time');
  expect((await post({ exposures: [item({ rule: 'constructor' })] })).status).toBe(400);
  expect(await decisions('sdk')).toBe(2);
});

it('an exposure decided on the previous revision is accepted after an apply removed its target; two revisions back is not', async () => {
  await j.control!.plane.apply({ source: config(['6', '8'], 'ranker@8'), author: 'test', message: 'drop 7' });
  expect((await post({ exposures: [item({ revision: 1 })] })).status).toBe(202);
  expect((await post({ exposures: [item({ target: 'ranker@8', revision: 2 })] })).status).toBe(202);
  await j.control!.plane.apply({ source: config(['6', '8'], 'ranker@6'), author: 'test', message: 'again' });
  expect((await post({ exposures: [item({ revision: 1 })] })).status).toBe(400);
});

it('writes decision-log lines with via, the reported time, rule, cell and revision', async () => {
  await j.close(); // flushes the log
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const sdk = lines.filter((l) => l.via === 'sdk');
  const edge = lines.filter((l) => l.via === 'edge');
  expect(sdk).toHaveLength(4);
  expect(edge).toHaveLength(1);
  expect(sdk[0]).toMatchObject({
    time: WHEN,
    objective: 'ex-ranking',
    unit: 'user-1',
    target: 'ranker@7',
    rule: 'experiment:e1',
    experiment: 'e1',
    cell: 'B',
    revision: 1,
    trafficClass: 'live',
    status: 200,
    latencyMs: null,
  });
  expect(edge[0]).toMatchObject({ rule: 'default', cell: null, experiment: null });
});

it('with clients configured, exposures need an API key whose client may call each objective', async () => {
  const key = 'jk_exposures-test-key';
  const k = await startJunction({
    port: 0,
    log: { error() {}, warn() {}, info() {} },
    config: {
      ...config(['6', '7'], 'ranker@6'),
      objectives: { 'ex-ranking': { default: 'ranker@6' }, 'ex-other': { default: 'ranker@6' } },
      clients: { web: { keySha256: keyDigest(key), objectives: ['ex-ranking'] } },
    },
  });
  try {
    const send = async (headers: Record<string, string>, objective = 'ex-ranking') => {
      const res = await request(`${k.url}/v1/exposures`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ exposures: [item({ objective })] }),
      });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
    };
    expect((await send({})).status).toBe(401);
    expect((await send({ authorization: 'Bearer jk_wrong' })).status).toBe(401);
    const forbidden = await send({ authorization: `Bearer ${key}` }, 'ex-other');
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.message).toContain('exposures[0]');
    expect((await send({ authorization: `Bearer ${key}` })).status).toBe(202);
  } finally {
    await k.close();
  }
});
