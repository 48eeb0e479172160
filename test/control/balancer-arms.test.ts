// A balancer as an experiment arm, end to end (SPEC §14, issue 23 item 6):
// cells A (the backend's own p2c) and B ({ target, balance: prefix }) on the
// same target. A unit stays in its cell in the server, /v1/decide and the SDK;
// B's calls reach the backend with outcome.balance set (the decision log's
// pick says prefix); x-decision, the decision log, /metrics and the readout
// tell the two arms apart.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { readExperiments } from '../../src/readout/readout.js';
import { bucketOf } from '../../src/routing/bucket.js';
import { validateConfig } from '../../src/config/load.js';
import { JunctionClient } from '../../packages/client/src/index.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

export function armsConfig(endpoints: string[]) {
  return {
    models: {
      llm: { class: 'generator', versions: { '1': { backend: { type: 'http', protocol: 'openai', endpoints } } } },
    },
    objectives: {
      chat: {
        interface: 'openai',
        default: 'llm@1',
        experiments: [
          {
            id: 'balancers',
            population: 1,
            cells: {
              A: { weight: 50, use: 'llm@1' },
              B: { weight: 50, use: { target: 'llm@1', balance: 'prefix' } },
            },
          },
        ],
      },
    },
  };
}

async function fleet(n: number): Promise<Upstream[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const up = await startUpstream(`r${i}`);
      open.push(up);
      return up;
    }),
  );
}

const cellOf = (unit: string) => (bucketOf('balancers', unit) < 5000 ? 'A' : 'B');

describe('a balancer arm end to end', () => {
  it('sticky in server, /v1/decide and the SDK; the backend picks with the cell balance; arms apart in log, metrics and readout', async () => {
    const ups = await fleet(3);
    const file = join(mkdtempSync(join(tmpdir(), 'junction-arms-')), 'decisions.jsonl');
    const config = armsConfig(ups.map((u) => u.url));
    const j: Junction = await startJunction({ port: 0, decisionLog: file, config });
    open.unshift(j);
    const jc = await JunctionClient.connect({ url: j.url, exposures: false });
    open.unshift({ close: async () => jc.close() });

    const units = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    expect(new Set(units.map(cellOf))).toEqual(new Set(['A', 'B']));
    const decide = await request(`${j.url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: units.map((unit) => ({ objective: 'chat', unit })) }),
    });
    const decided = ((await decide.body.json()) as { decisions: Array<{ cell: string; balance: string | null }> })
      .decisions;

    for (const [i, unit] of units.entries()) {
      const cell = cellOf(unit);
      const balance = cell === 'B' ? 'prefix' : null;
      for (let round = 0; round < 2; round++) {
        const res = await request(`${j.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-unit-id': unit },
          body: JSON.stringify({
            model: 'chat',
            messages: [
              { role: 'system', content: 'You are a helpful assistant. '.repeat(40) },
              { role: 'user', content: `question ${round}` },
            ],
          }),
        });
        await res.body.text();
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-decision']).toBe(
          `rule=experiment:balancers cell=${cell}${balance ? ' balance=prefix' : ''} revision=1`,
        );
      }
      expect(decided[i]).toMatchObject({ cell, balance });
      const sdk = jc.decide('chat', { unit });
      expect(sdk).toMatchObject({ cell, balance, target: 'llm@1' });
      expect(sdk.headers['x-decision']).toBe(
        `rule=experiment:balancers cell=${cell}${balance ? ' balance=prefix' : ''} revision=1`,
      );
    }

    const metrics = parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
    const count = (cell: string) =>
      sampleValue(metrics, 'junction_requests_total', { objective: 'chat', target: 'llm@1', cell, code: '200' });
    const nB = units.filter((u) => cellOf(u) === 'B').length;
    expect(count('A')).toBe((units.length - nB) * 2);
    expect(count('B')).toBe(nB * 2);

    await j.close();
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.via === 'invoke');
    expect(lines).toHaveLength(units.length * 2);
    for (const l of lines) {
      const cell = cellOf(l.unit as string);
      expect(l.cell).toBe(cell);
      expect(l.balance).toBe(cell === 'B' ? 'prefix' : null);
      // the backend picked with the arm's balancer: the cell's outcome.balance reached it
      expect(l.pick).toMatch(cell === 'B' ? /^prefix/ : /^p2c$/);
      expect(typeof l.ttftMs).toBe('number');
    }

    const readout = await readExperiments({ decisions: [file], feedback: [] }, validateConfig(config));
    const cells = readout.experiments[0]!.cells;
    expect(cells.map((c) => [c.cell, c.target, c.balance])).toEqual([
      ['A', 'llm@1', null],
      ['B', 'llm@1', 'prefix'],
    ]);
    for (const c of cells) {
      expect(c.exposures).toBeGreaterThan(0);
      expect(c.ttftMs.p50).toBeGreaterThan(0);
      expect(c.ttftMs.p99).toBeGreaterThanOrEqual(c.ttftMs.p50!);
    }
  });
});

describe('replicas, visible (issue 23, item 5)', () => {
  it('explain and GET /admin/objectives/{o} list each replica of the target, with the balancer that picks', async () => {
    const ups = await fleet(2);
    const TOKEN = 'arms-admin-token';
    const j: Junction = await startJunction({
      port: 0,
      config: armsConfig(ups.map((u) => u.url)),
      control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
      log: { error() {}, warn() {}, info() {} },
    });
    open.unshift(j);
    const admin = j.control!.adminUrl!;
    const auth = { authorization: `Bearer ${TOKEN}` };
    let unitB = 'u0';
    for (let i = 0; cellOf(unitB) !== 'B'; i++) unitB = `u${i}`;

    // the data plane's explain: the decided arm, its balancer and the target's replicas
    const ex = (await (await request(`${j.url}/v1/objectives/chat/explain?unit=${unitB}`)).body.json()) as any;
    expect(ex.decision).toMatchObject({ target: 'llm@1', cell: 'B', balance: 'prefix' });
    expect(ex.balance).toBe('prefix');
    expect(ex.replicas.map((r: { address: string }) => r.address).sort()).toEqual(ups.map((u) => u.url).sort());
    for (const r of ex.replicas)
      expect(r).toMatchObject({ outstanding: 0, ready: true, ejectedUntil: null, ejectedWhy: null, load: null });
    // the admin API's explain (the console's) says the same
    const adminEx = (await (
      await request(`${admin}/admin/objectives/chat/explain?unit=${unitB}`, { headers: auth })
    ).body.json()) as any;
    expect(adminEx.balance).toBe('prefix');
    expect(adminEx.replicas).toHaveLength(2);

    const res = await request(`${admin}/admin/objectives/chat`, { headers: auth });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as any;
    expect(body.objective).toBe('chat');
    expect(body.config.experiments[0].cells.B.use).toEqual({ target: 'llm@1', balance: 'prefix' });
    expect(body.targets).toHaveLength(1);
    const [t] = body.targets;
    expect(t).toMatchObject({
      target: 'llm@1',
      backend: { type: 'http', protocol: 'openai' },
      healthy: true,
      balance: 'p2c',
      arms: [
        { as: 'default', balance: null },
        { as: 'experiment balancers cell A', balance: null },
        { as: 'experiment balancers cell B', balance: 'prefix' },
      ],
    });
    expect(t.replicas.map((r: { address: string }) => r.address).sort()).toEqual(ups.map((u) => u.url).sort());
    expect((await request(`${admin}/admin/objectives/nope`, { headers: auth })).statusCode).toBe(404);
    expect((await request(`${admin}/admin/objectives/chat`)).statusCode).toBe(401);
  });
});

describe('a balancer rollout through the admin API', () => {
  it('starts with { target, balance }, routes its units with the balance, and promote writes the balancer onto the backend', async () => {
    const ups = await fleet(2);
    const TOKEN = 'arms-rollout-token';
    const config = armsConfig(ups.map((u) => u.url));
    const j: Junction = await startJunction({
      port: 0,
      config: { ...config, objectives: { chat: { interface: 'openai', default: 'llm@1' } } },
      control: { data: ':memory:', admin: { port: 0, token: TOKEN } },
      log: { error() {}, warn() {}, info() {} },
    });
    open.unshift(j);
    const admin = j.control!.adminUrl!;
    const post = async (path: string, body: unknown) => {
      const res = await request(`${admin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, json: (await res.body.json()) as any };
    };
    const started = await post('/admin/objectives/chat/rollout/start', {
      candidate: { target: 'llm@1', balance: 'least-load' },
      steps: [100],
      gates: { maxErrorRate: 0.01 }, // a stepped rollout without a health gate is refused
    });
    expect(started.status).toBe(200);
    expect(started.json.rollout).toMatchObject({ candidate: { target: 'llm@1', balance: 'least-load' }, percent: 100 });
    const res = await request(`${j.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-unit-id': 'u1' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.text();
    expect(res.headers['x-decision']).toBe(`rule=rollout balance=least-load revision=${started.json.revision}`);

    const promoted = await post('/admin/objectives/chat/rollout/promote', {});
    expect(promoted.status).toBe(200);
    expect(promoted.json).toMatchObject({ default: 'llm@1', rollout: null });
    const live = j.runtime.current!.config;
    expect(live.models.llm!.versions['1']!.backend).toMatchObject({ balance: 'least-load' });
    const revs = (await (
      await request(`${admin}/admin/revisions`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).body.json()) as any;
    expect(JSON.stringify(revs)).toContain('default llm@1, balance least-load on its backend');
  });
});
