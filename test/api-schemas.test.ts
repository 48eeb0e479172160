// schema/decide-*.schema.json and schema/exposures-*.schema.json describe what a
// running Junction accepts and answers: real requests that the request schema
// accepts are served, and their answers match the answer schema; requests it
// refuses are refused by Junction too (400), case by case; and the enums and
// bounds the schemas write down are the ones src/ uses.
import { mkdtempSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startJunction, type Junction } from '../src/app.js';
import { BALANCERS, TRAFFIC_CLASSES } from '../src/config/schema.js';
import { MAX_EXPOSURES } from '../src/faces/exposures.js';
import { REPO_ROOT } from './support/onnx.js';

const read = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../schema/${name}.schema.json`, import.meta.url)), 'utf8')) as Record<
    string,
    any
  >;
const raw = {
  decideRequest: read('decide-request'),
  decideResponse: read('decide-response'),
  exposuresRequest: read('exposures-request'),
  exposuresResponse: read('exposures-response'),
};
const schemas = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, z.fromJSONSchema(v)])) as Record<
  keyof typeof raw,
  z.ZodType
>;

function valid(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

let j: Junction;
beforeAll(async () => {
  j = await startJunction({
    port: 0,
    baseDir: REPO_ROOT,
    decisionLog: join(mkdtempSync(join(tmpdir(), 'junction-api-schemas-')), 'decisions.jsonl'),
    config: {
      models: {
        ranker: {
          versions: {
            '6': { backend: { type: 'onnx', path: 'models/ranker-6.onnx' } },
            '7': { backend: { type: 'http', protocol: 'oip', endpoints: ['http://127.0.0.1:9'] } },
          },
        },
      },
      objectives: {
        cw: {
          interface: 'oip',
          default: 'ranker@6',
          rules: [{ id: 'br', when: { context: { country: 'BR' } }, use: 'ranker@7' }],
          experiments: [
            {
              id: 'cw-42',
              population: 1,
              cells: { A: { weight: 50, use: 'ranker@6' }, B: { weight: 50, use: 'ranker@7' } },
            },
          ],
        },
      },
    },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => {
  await j?.close();
});

async function post(path: string, body: unknown) {
  const res = await request(`${j.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as any };
}

const DECIDE_REQUESTS = {
  'one decision by an experiment': { objective: 'cw', unit: 'user-1', trafficClass: 'live' },
  'one decision by a rule, with context': { objective: 'cw', unit: 'user-2', context: { Country: 'BR' } },
  'no unit': { objective: 'cw' },
  'a batch, one item naming no objective': {
    requests: [{ objective: 'cw', unit: 'user-3' }, { objective: 'nope' }, { objective: 'cw', trafficClass: 'test' }],
  },
};

describe('POST /v1/decide', () => {
  it.each(Object.entries(DECIDE_REQUESTS))('%s: the request and its answer match the schemas', async (_, body) => {
    expect(valid(schemas.decideRequest, body)).toEqual([]);
    const res = await post('/v1/decide', body);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(valid(schemas.decideResponse, res.json), JSON.stringify(res.json)).toEqual([]);
  });

  it('the answers cover what the schema allows: endpoint or null, cell and experiment or null, item errors', async () => {
    const batch = await post('/v1/decide', {
      requests: Array.from({ length: 20 }, (_, i) => ({ objective: 'cw', unit: `user-${i}` })).concat([
        { objective: 'nope', unit: 'x' },
        { objective: 'cw', context: { country: 'BR' }, unit: 'y' } as never,
      ]),
    });
    const decisions = batch.json.decisions as any[];
    expect(new Set(decisions.map((d) => d.endpoint === null))).toEqual(new Set([true, false]));
    expect(decisions.some((d) => d.cell === 'A' || d.cell === 'B')).toBe(true);
    expect(decisions.some((d) => d.rule === 'rule:br' && d.cell === null)).toBe(true);
    expect(decisions.some((d) => d.error?.code === 'objective_not_found')).toBe(true);
    expect(valid(schemas.decideResponse, batch.json)).toEqual([]);
  });

  const refused: Record<string, unknown> = {
    'no objective': { unit: 'u' },
    'a unit that is not a string': { objective: 'cw', unit: 7 },
    'a context value that is not a string': { objective: 'cw', context: { country: 1 } },
    'an unknown traffic class': { objective: 'cw', trafficClass: 'prod' },
    'a batch over 10,000': { requests: Array.from({ length: 10_001 }, () => ({ objective: 'cw' })) },
  };
  it.each(Object.entries(refused))('%s: refused by the schema and by Junction (400)', async (_, body) => {
    expect(valid(schemas.decideRequest, body)).not.toEqual([]);
    expect((await post('/v1/decide', body)).status).toBe(400);
  });
});

describe('POST /v1/exposures', () => {
  /** Exposures as an SDK reports them: from decisions made on this revision. */
  async function exposuresFromDecisions() {
    const { json } = await post('/v1/decide', {
      requests: [
        { objective: 'cw', unit: 'user-1' },
        { objective: 'cw', unit: 'user-2', context: { country: 'BR' } },
      ],
    });
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
    return (json.decisions as any[]).map((d, i) => ({
      time,
      objective: d.objective,
      unit: d.unit,
      target: d.target,
      rule: d.rule,
      experiment: d.experiment,
      cell: d.cell,
      revision: d.revision,
      trafficClass: 'live',
      ...(i === 1 ? { context: { country: 'BR' }, via: 'edge' } : {}),
    }));
  }

  it('a batch built from decisions matches the schema; its answer too', async () => {
    const body = { via: 'sdk', exposures: await exposuresFromDecisions() };
    expect(valid(schemas.exposuresRequest, body)).toEqual([]);
    const res = await post('/v1/exposures', body);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json).toEqual({ accepted: 2, written: 2 });
    expect(valid(schemas.exposuresResponse, res.json)).toEqual([]);
  });

  const one = (over: Record<string, unknown>) => ({
    exposures: [{ objective: 'cw', target: 'ranker@7', revision: 1, rule: 'default', ...over }],
  });
  const refused: Record<string, unknown> = {
    'no list': { exposures: 'x' },
    'no target': { exposures: [{ objective: 'cw', revision: 1 }] },
    'revision 0': one({ revision: 0 }),
    'an unknown rule kind': one({ rule: 'bogus' }),
    'a time that is not ISO 8601': one({ time: 'yesterday' }),
    'an unknown traffic class': one({ trafficClass: 'prod' }),
    'an unknown via': one({ via: 'app' }),
    'a context value that is not a string': one({ context: { a: 1 } }),
    'a unit over 512 characters': one({ unit: 'u'.repeat(513) }),
    'over 10,000 exposures': { exposures: Array.from({ length: 10_001 }, () => one({}).exposures[0]) },
  };
  it.each(Object.entries(refused))('%s: refused by the schema and by Junction (400)', async (_, body) => {
    expect(valid(schemas.exposuresRequest, body)).not.toEqual([]);
    expect((await post('/v1/exposures', body)).status).toBe(400);
  });

  it('null optional fields are accepted by both', async () => {
    const body = one({ unit: null, experiment: null, cell: null, time: null });
    expect(valid(schemas.exposuresRequest, body)).toEqual([]);
    expect((await post('/v1/exposures', body)).status).toBe(202);
  });
});

describe('the schemas write down what src/ uses', () => {
  it('traffic classes, balancers and the batch bound', () => {
    const decision = raw.decideResponse.$defs.decision.properties;
    expect(decision.balance.enum).toEqual([...BALANCERS, null]);
    expect(raw.decideRequest.$defs.trafficClass.enum).toEqual([...TRAFFIC_CLASSES]);
    expect(raw.exposuresRequest.$defs.trafficClass.enum).toEqual([...TRAFFIC_CLASSES]);
    expect(raw.exposuresRequest.properties.exposures.maxItems).toBe(MAX_EXPOSURES);
    expect(raw.decideRequest.anyOf[1].properties.requests.maxItems).toBe(10_000);
  });
});
