// The admin API the console reads (SPEC §11), over real sockets with real
// upstreams: objectives after defaults, live traffic per target with
// fallbacks, experiment exposures with the sample-ratio check, explain, and
// the console's files served without the token (the page asks for it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { consoleFiles } from '../../src/control/console-files.js';
import { srmPValue } from '../../src/stats/srm.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { twoTargets } from './configs.js';

const TOKEN = 'console-api-token';
let a: Upstream;
let b: Upstream;
let j: Junction;
let admin: string;

beforeAll(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  // m@2 always fails: its requests are rescued by the fallback to m@1.
  b.handle((_req, res) => {
    res.writeHead(503).end('down');
  });
  j = await startJunction({
    config: twoTargets(a.url, b.url, 'm@1', {
      experiments: [
        { id: 'e1', population: 1, cells: { A: { weight: 50, use: 'm@1' }, B: { weight: 50, use: 'm@2' } } },
      ],
      policy: { fallback: ['m@1'] },
    }),
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

async function get(path: string, token: string | null = TOKEN) {
  const res = await request(`${admin}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('the admin API for the console', () => {
  it('lists objectives as the live config has them, defaults applied', async () => {
    const r = await get('/admin/objectives');
    expect(r.status).toBe(200);
    const [cw] = r.json().objectives;
    expect(cw).toMatchObject({
      name: 'cw',
      interface: 'json',
      default: 'm@1',
      rollout: null,
      fallback: ['m@1'],
      shadow: [],
      rules: [],
    });
    expect(cw.experiments[0].id).toBe('e1');
    expect((await get('/admin/objectives', null)).json().error.code).toBe('unauthorized');
  });

  it('counts traffic per target with fallbacks, and exposures per cell with the sample-ratio check', async () => {
    const cells: Record<string, number> = { A: 0, B: 0 };
    for (let u = 0; u < 40; u++) {
      const res = await request(`${j.url}/v1/objectives/cw`, {
        method: 'POST',
        headers: { 'x-unit-id': `u${u}` },
        body: '{}',
      });
      await res.body.text();
      expect(res.statusCode).toBe(200);
      cells[/cell=(\w)/.exec(String(res.headers['x-decision']))![1]!]!++;
    }
    // A decision without a call is an exposure too, but no traffic on the target.
    const d = await request(`${j.url}/v1/decide`, {
      method: 'POST',
      body: JSON.stringify({ objective: 'cw', unit: 'u0' }),
    });
    const decided = ((await d.body.json()) as { cell: string }).cell;
    cells[decided]!++;

    const t = (await get('/admin/traffic?minutes=1')).json();
    expect(t.scope).toMatchObject({ kind: 'fleet', pid: process.pid });
    expect(t.fleet).toMatchObject({ processes: 1, stale: [], windowSeconds: 60 });
    const byTarget = Object.fromEntries(t.objectives.cw.targets.map((x: { target: string }) => [x.target, x]));
    const servedA = cells.A! - (decided === 'A' ? 1 : 0);
    const servedB = cells.B! - (decided === 'B' ? 1 : 0);
    expect(byTarget['m@1']).toMatchObject({ requests: servedA, errors: 0, fallbacks: 0 });
    expect(byTarget['m@2']).toMatchObject({ requests: servedB, errors: 0, fallbacks: servedB });
    expect(byTarget['m@1'].rps).toBeGreaterThan(0);
    expect(byTarget['m@1'].p50Ms).toBeGreaterThan(0);
    expect(byTarget['m@1'].series).toHaveLength(6);
    expect(byTarget['m@1'].series.reduce((s: number, p: { requests: number }) => s + p.requests, 0)).toBe(servedA);
    const [e1] = t.objectives.cw.experiments;
    expect(e1.cells).toEqual([
      { cell: 'A', target: 'm@1', weight: 50, exposures: cells.A },
      { cell: 'B', target: 'm@2', weight: 50, exposures: cells.B },
    ]);
    expect(e1.srmPValue).toBeCloseTo(srmPValue([cells.A!, cells.B!], [50, 50]), 12);
    expect((await get('/admin/traffic?minutes=9')).json().error.code).toBe('invalid_request');
  });

  it('explains a unit against the live revision', async () => {
    const r = (await get('/admin/objectives/cw/explain?unit=u1&country=BR')).json();
    expect(r.decision).toMatchObject({ objective: 'cw', unit: 'u1', experiment: 'e1' });
    expect(r.trail.some((s: { step: string; matched: boolean }) => s.step === 'experiment' && s.matched)).toBe(true);
    expect((await get('/admin/objectives/nope/explain')).json().error.code).toBe('objective_not_found');
  });

  it('serves /ui/ without the token: the page asks for it', async () => {
    const r = await get('/ui/', null);
    expect(r.status).not.toBe(401);
    expect((await get('/ui', null)).headers.location).toBe('/ui/');
  });
});

describe('console files', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-ui-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'app.js'), 'export {};');
    const ui = consoleFiles(dir);
    server = createServer((req, res) => {
      if (!ui(req, res, new URL(req.url!, 'http://x').pathname)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the built files with a strict content security policy, and nothing else', async () => {
    const page = await request(`${base}/ui/`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'");
    expect(await page.body.text()).toContain('<title>t</title>');
    const js = await request(`${base}/ui/app.js`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    await js.body.text();
    for (const path of ['/ui/missing.js', '/ui/..%2Fpackage.json', '/ui/a/b.js']) {
      const r = await request(`${base}${path}`);
      await r.body.text();
      expect(r.statusCode, path).toBe(404);
    }
    const post = await request(`${base}/ui/`, { method: 'POST' });
    await post.body.text();
    expect(post.statusCode).toBe(405);
    const other = await request(`${base}/admin/config`);
    await other.body.text();
    expect(other.statusCode).toBe(418); // not a console path: left to the admin API
  });

  it('says how to build the console when it is not built', async () => {
    const ui = consoleFiles(join(dir, 'absent'));
    const s = createServer((req, res) => {
      ui(req, res, '/ui/');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const r = await request(`http://127.0.0.1:${(s.address() as AddressInfo).port}/ui/`);
    expect(r.statusCode).toBe(404);
    expect(await r.body.text()).toContain('npm run build');
    await new Promise<void>((r2) => s.close(() => r2()));
  });
});
