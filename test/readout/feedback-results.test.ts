// Feedback and results over real sockets: requests through an experiment,
// POST /v1/feedback (single, batch, refused), the feedback log's lines, and
// GET /admin/experiments/{id}/results reading the logs this Junction writes.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { keyDigest } from '../../src/tenancy/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'junction-fb-'));
const decisions = join(dir, 'decisions.jsonl');
const feedback = join(dir, 'feedback.jsonl');
let upstream: Upstream;
let j: Junction;

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  const backend = { type: 'http', endpoints: [upstream.url] };
  j = await startJunction({
    port: 0,
    decisionLog: decisions,
    feedbackLog: feedback,
    config: {
      models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        cw: {
          default: 'ranker@6',
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
    control: { data: ':memory:', admin: { port: 0, insecure: true } },
    log: { error() {}, warn() {}, info() {} },
  });
});
afterAll(async () => {
  await j.close();
  await upstream.close();
});

async function post(path: string, body: unknown, base = j.url) {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, json: JSON.parse(await res.body.text()) as Record<string, any> };
}

/** The writer flushes on the next turn of the event loop: wait (bounded) until the file holds `n` lines. */
async function linesOf(file: string, n: number): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 200; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    const lines = text === '' ? [] : text.split('\n');
    if (lines.length >= n) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${file} never reached ${n} lines`);
}

/** An outcome's time must be within the last 30 days (and at most 5 minutes ahead). */
const AN_HOUR_AGO = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000).toISOString();

describe('POST /v1/feedback', () => {
  it('takes one item or a batch, answers 202 and writes JSON lines', async () => {
    const one = await post('/v1/feedback', { requestId: 'r-1', metric: 'click', value: 1 });
    expect(one).toEqual({ status: 202, json: { accepted: 1, written: 1 } });
    const batch = await post('/v1/feedback', {
      feedback: [
        { objective: 'cw', unit: 'u-1', metric: 'watch_minutes', value: 12.5, time: AN_HOUR_AGO },
        { requestId: 'r-2', metric: 'click', value: 0 },
      ],
    });
    expect(batch).toEqual({ status: 202, json: { accepted: 2, written: 2 } });
    const lines = await linesOf(feedback, 3);
    expect(lines[0]).toMatchObject({ requestId: 'r-1', objective: null, unit: null, metric: 'click', value: 1 });
    expect(lines[1]).toEqual({
      time: AN_HOUR_AGO,
      requestId: null,
      objective: 'cw',
      unit: 'u-1',
      metric: 'watch_minutes',
      value: 12.5,
    });
  });

  it('refuses a batch with a bad item, naming it, and writes none of it', async () => {
    const bad = await post('/v1/feedback', {
      feedback: [
        { requestId: 'ok', metric: 'click', value: 1 },
        { requestId: 'x', metric: 'click', value: 'yes' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({
      code: 'invalid_request',
      message: 'feedback[1].value must be a finite number from -1e12 to 1e12',
    });
    expect((await post('/v1/feedback', { unit: 'u', metric: 'm', value: 1 })).json.error.message).toMatch(
      /requestId, or objective and unit/,
    );
    expect((await post('/v1/feedback', { requestId: 'r', value: 1 })).json.error.message).toBe(
      'metric is required (e.g. "click")',
    );
    expect((await post('/v1/feedback', '{nope')).status).toBe(400);
    expect(
      (await post('/v1/feedback', { feedback: [{ requestId: 'r', metric: 'm', value: 1, time: 'yesterday' }] })).json
        .error.message,
    ).toBe('feedback[0].time must be an ISO 8601 date-time');
    await post('/v1/feedback', { requestId: 'sentinel', metric: 'click', value: 1 });
    const lines = await linesOf(feedback, 4);
    expect(lines.map((l) => l.requestId)).not.toContain('ok');
  });
});

describe('GET /admin/experiments/{id}/results', () => {
  it('reads the logs this Junction writes', async () => {
    const before = (await linesOf(feedback, 4)).length;
    for (let u = 0; u < 40; u++) {
      const res = await request(`${j.url}/v1/objectives/cw`, {
        method: 'POST',
        headers: { 'x-unit-id': `user-${u}`, 'x-request-id': `req-${u}` },
        body: '{}',
      });
      await res.body.text();
      if (u % 2 === 0) await post('/v1/feedback', { requestId: `req-${u}`, metric: 'click', value: 1 });
    }
    await linesOf(decisions, 40);
    await linesOf(feedback, before + 20);
    const res = await request(`${j.control!.adminUrl}/admin/experiments/cw-42/results`);
    const body = JSON.parse(await res.body.text()) as Record<string, any>;
    expect(res.statusCode).toBe(200);
    const e = body.experiment;
    expect(e.experiment).toBe('cw-42');
    expect(e.cells.map((c: { cell: string }) => c.cell)).toEqual(['A', 'B']);
    expect(e.cells[0].units + e.cells[1].units).toBe(40);
    expect(e.cells[0].weight).toBe(50);
    // The store has the revision every decision line names: its weights, not an assumption.
    expect(e.srm.weights).toBe('revisions');
    const click = e.metrics.find((m: { metric: string }) => m.metric === 'click');
    // 20 of 40 units clicked once: the unit-weighted mean over both cells is 0.5.
    const total = click.cells.reduce((s: number, c: { units: number; mean: number }) => s + c.units * c.mean, 0);
    expect(total).toBeCloseTo(20, 9);
    expect(body.methods.pValue).toMatch(/mSPRT/);
    const missing = await request(`${j.control!.adminUrl}/admin/experiments/nope/results`);
    expect(missing.statusCode).toBe(404);
    await missing.body.text();
  });

  it('with clients configured, needs a known key and an objective the client may call', async () => {
    const keyed = await startJunction({
      port: 0,
      feedbackLog: join(dir, 'keyed.jsonl'),
      config: {
        models: { m: { versions: { '1': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
        objectives: { o: { default: 'm@1' }, secret: { default: 'm@1' } },
        clients: { web: { keySha256: keyDigest('web-key'), objectives: ['o'] } },
      },
    });
    try {
      const send = async (body: unknown, key?: string) => {
        const res = await request(`${keyed.url}/v1/feedback`, {
          method: 'POST',
          headers: key ? { authorization: `Bearer ${key}` } : {},
          body: JSON.stringify(body),
        });
        return { status: res.statusCode, json: JSON.parse(await res.body.text()) as Record<string, any> };
      };
      expect((await send({ requestId: 'r', metric: 'm', value: 1 })).json.error.code).toBe('unauthorized');
      expect((await send({ requestId: 'r', metric: 'm', value: 1 }, 'wrong')).json.error.code).toBe('unauthorized');
      expect((await send({ requestId: 'r', metric: 'm', value: 1 }, 'web-key')).status).toBe(202);
      expect((await send({ objective: 'o', unit: 'u', metric: 'm', value: 1 }, 'web-key')).status).toBe(202);
      const refused = await send(
        {
          feedback: [
            { objective: 'o', unit: 'u', metric: 'm', value: 1 },
            { objective: 'secret', unit: 'u', metric: 'm', value: 1 },
          ],
        },
        'web-key',
      );
      expect(refused.status).toBe(403);
      expect(refused.json.error.message).toBe('feedback[1].objective "secret" is not one this client may call');
    } finally {
      await keyed.close();
    }
  });

  it('says how to turn feedback on when there is no feedback log', async () => {
    const bare = await startJunction({
      port: 0,
      config: {
        models: { m: { versions: { '1': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
        objectives: { o: { default: 'm@1' } },
      },
    });
    try {
      const r = await post('/v1/feedback', { requestId: 'r', metric: 'm', value: 1 }, bare.url);
      expect(r.status).toBe(404);
      expect(r.json.error.message).toMatch(/--feedback-log FILE/);
    } finally {
      await bare.close();
    }
  });
});
