// Endpoint pools over real sockets: passive ejection and its recovery, active
// health checks flipping readiness and restoring ejected endpoints. Every wait
// is on an endpoint-health event, never a sleep.
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { recordHealthEvents } from '../support/health-events.js';

const health = recordHealthEvents();
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function upstream(name: string): Promise<Upstream & { failing: boolean }> {
  const up = (await startUpstream(name)) as Upstream & { failing: boolean };
  up.failing = false;
  up.handle((req, res) => {
    const status = up.failing ? (req.url === '/health' ? 503 : 500) : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ served: name }));
  });
  open.push(up);
  return up;
}

async function junctionWith(backend: object): Promise<Junction> {
  const j = await startJunction({
    telemetry: health.sink,
    port: 0,
    config: {
      models: { m: { versions: { '1': { backend: { type: 'http', ...backend } } } } },
      objectives: { o: { default: 'm@1' } },
    },
  });
  open.unshift(j);
  return j;
}

const call = async (j: Junction) => {
  const res = await request(`${j.url}/v1/objectives/o`, { method: 'POST', body: '{}' });
  return {
    status: res.statusCode,
    code: res.headers['x-error-code'],
    body: (await res.body.json()) as { served?: string },
  };
};
const ready = async (j: Junction) => (await request(`${j.url}/readyz`)).statusCode;

describe('endpoint health', () => {
  it('ejects a failing endpoint, then takes it back after the ejection time', async () => {
    const up = await upstream('only');
    const j = await junctionWith({ endpoints: [up.url], ejection: { consecutiveFailures: 2, baseEjectionMs: 1000 } });
    up.failing = true;
    const ejected = health.next('m@1', false);
    expect((await call(j)).status).toBe(500); // the backend's own error passes through
    expect((await call(j)).status).toBe(500);
    await ejected;
    expect(await call(j)).toMatchObject({ status: 503, code: 'no_healthy_backend' });
    expect(await ready(j)).toBe(503);

    up.failing = false;
    await health.next('m@1', true);
    expect(await ready(j)).toBe(200);
    expect(await call(j)).toMatchObject({ status: 200, body: { served: 'only' } });
  });

  it('sends traffic around an ejected replica', async () => {
    const bad = await upstream('bad');
    const good = await upstream('good');
    bad.failing = true;
    const j = await junctionWith({
      endpoints: [bad.url, good.url],
      ejection: { consecutiveFailures: 1, baseEjectionMs: 60_000 },
    });
    let out = false;
    const ejected = health.next('m@1', false).then((e) => {
      out = true;
      return e;
    });
    // Power of two choices sends about half the calls to the bad replica until it is out.
    for (let i = 0; i < 100 && !out; i++) await call(j);
    const event = await ejected;
    expect(event.endpoint).toBe(bad.url);
    const after = await Promise.all(Array.from({ length: 10 }, () => call(j)));
    expect(after.map((r) => r.body.served)).toEqual(Array(10).fill('good'));
    expect(await ready(j)).toBe(200);
  });

  it('active checks take an endpoint out and, when it passes again, end its ejection early', async () => {
    const up = await upstream('checked');
    const j = await junctionWith({
      endpoints: [up.url],
      health: { path: '/health', intervalMs: 100 },
      ejection: { consecutiveFailures: 1, baseEjectionMs: 60_000 },
    });
    up.failing = true;
    const out = health.next('m@1', false);
    await call(j);
    await out; // ejected by the failed call (and the checks now fail too)
    expect(await ready(j)).toBe(503);

    const back = health.next('m@1', true);
    up.failing = false; // the replica recovers: the next passing check restores it, long before 60 s
    await back;
    expect(await ready(j)).toBe(200);
    expect(await call(j)).toMatchObject({ status: 200 });
    const probes = up.received.filter((r) => r.url === '/health');
    expect(probes.length).toBeGreaterThan(0);
    expect(probes[0]!.headers['user-agent']).toBe('junction-health-check');
  });

  it('reports 503 overloaded, not no_healthy_backend, when endpoints are only at their cap', async () => {
    const up = await startUpstream('slow', { bufferBody: false });
    open.push(up);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    up.handle(async (_req, res) => {
      await held;
      res.end('{}');
    });
    const j = await junctionWith({ endpoints: [up.url], maxConcurrency: 1 });
    const first = call(j);
    // Wait until the first call is at the upstream, holding the one slot.
    while (up.received.length === 0) await new Promise((r) => setImmediate(r));
    expect(await call(j)).toMatchObject({ status: 503, code: 'overloaded' });
    release();
    expect((await first).status).toBe(200);
  });

  it('gives the slot back when a reply ends, whether it came in one read or streamed', async () => {
    const up = await startUpstream('cap', { bufferBody: false });
    open.push(up);
    up.handle((req, res) => {
      if (req.url?.includes('stream') !== true) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
        res.end('{}'); // whole: the reply is handed over as one buffer
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: streamed through
      res.write('{');
      setImmediate(() => res.end('}'));
    });
    const j = await junctionWith({ endpoints: [up.url], maxConcurrency: 1 });
    // With one slot, a slot not given back refuses the next call (503 overloaded).
    for (let i = 0; i < 3; i++) expect((await call(j)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await request(`${j.url}/v1/objectives/o?stream=1`, { method: 'POST', body: '{}' });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('{}');
    }
    expect((await call(j)).status).toBe(200);
  });
});
