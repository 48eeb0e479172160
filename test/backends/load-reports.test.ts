// Load reports over real sockets (SPEC §14): replicas' Prometheus pages scraped
// on an interval and the ORCA header of their replies steer least-load picks;
// bad reports (a 50 MB page, absurd values, a page that never comes, a
// malformed header) are ignored with a counted warning and never fail a call.
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { recordTelemetry } from '../support/telemetry.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

interface Replica extends Upstream {
  metrics: string | ((res: ServerResponse) => void);
  orca: string | undefined;
  served: number;
  scrapes: number;
}

async function replica(name: string): Promise<Replica> {
  const up = (await startUpstream(name)) as Replica;
  up.metrics = '';
  up.orca = undefined;
  up.served = 0;
  up.scrapes = 0;
  up.handle((req, res) => {
    if (req.url === '/metrics') {
      up.scrapes++;
      if (typeof up.metrics === 'function') return up.metrics(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(up.metrics);
      return;
    }
    up.served++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (up.orca !== undefined) headers['endpoint-load-metrics'] = up.orca;
    res.writeHead(200, headers);
    res.end(JSON.stringify({ served: name }));
  });
  open.push(up);
  return up;
}

async function junctionWith(backend: object, telemetry = recordTelemetry()) {
  const j: Junction = await startJunction({
    telemetry: telemetry.sink,
    port: 0,
    config: {
      models: { m: { versions: { '1': { backend: { type: 'http', ...backend } } } } },
      objectives: { o: { default: 'm@1' } },
    },
  });
  open.unshift(j);
  return { j, telemetry };
}

const call = async (j: Junction) => {
  const res = await request(`${j.url}/v1/objectives/o`, { method: 'POST', body: '{}' });
  return { status: res.statusCode, body: (await res.body.json()) as { served?: string } };
};

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const vllm = (queue: number, running: number, kv: number) =>
  `vllm:num_requests_waiting{model_name="m"} ${queue}\nvllm:num_requests_running{model_name="m"} ${running}\nvllm:gpu_cache_usage_perc{model_name="m"} ${kv}\n`;

describe('load reports', () => {
  it('least-load follows scraped vLLM metrics; the decision log and metrics say which replica and why', async () => {
    const busy = await replica('busy');
    const idle = await replica('idle');
    busy.metrics = vllm(40, 64, 0.95);
    idle.metrics = vllm(0, 2, 0.1);
    const { j, telemetry } = await junctionWith({
      endpoints: [busy.url, idle.url],
      balance: 'least-load',
      load: { metrics: { intervalMs: 100, preset: 'vllm' } },
    });
    await until(() => telemetry.count('endpointLoad', 'm@1', undefined, 'queue') >= 2);
    for (let i = 0; i < 10; i++) expect((await call(j)).body.served).toBe('idle');
    expect(telemetry.count('picked', 'm@1', 'least-load')).toBe(10);
    const metrics = await (await request(`${j.url}/metrics`)).body.text();
    expect(metrics).toMatch(/junction_picks_total\{target="m@1",reason="least-load"\} 10/);
    expect(metrics).toMatch(
      /junction_endpoint_load\{backend="m@1",endpoint="http:\/\/127\.0\.0\.1:\d+",kind="queue"\} 40/,
    );
  });

  it('reads the ORCA header of replies (TEXT and JSON) and ignores a malformed one with a counted warning', async () => {
    const a = await replica('a');
    const b = await replica('b');
    a.orca = 'TEXT named_metrics.queue=30, named_metrics.running=8';
    b.orca = 'JSON {"named_metrics":{"queue":0,"running":1}}';
    const { j, telemetry } = await junctionWith({
      endpoints: [a.url, b.url],
      balance: 'least-load',
      load: { orca: true },
    });
    // Until both have answered once, picks fall back on Junction's own counts; then b wins.
    for (let i = 0; i < 20 && (a.served === 0 || b.served === 0); i++) await call(j);
    const before = b.served;
    for (let i = 0; i < 10; i++) await call(j);
    expect(b.served - before).toBe(10);
    a.orca = 'TEXT named_metrics.queue=banana';
    b.orca = 'BIN CgQIARAC';
    telemetry.clear();
    for (let i = 0; i < 4; i++) expect((await call(j)).status).toBe(200);
    expect(telemetry.count('dropped', 'load_report')).toBeGreaterThan(0);
  });

  it('a 50 MB metrics page is read no further than 1 MiB and ignored, counted; calls are unaffected', async () => {
    const big = await replica('big');
    const chunk = Buffer.alloc(1024 * 1024, '# padding padding padding padding\n');
    let sent = 0;
    big.metrics = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const write = () => {
        while (sent < 50) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end(vllm(0, 0, 0));
      };
      res.on('close', () => undefined);
      write();
    };
    const { j, telemetry } = await junctionWith({
      endpoints: [big.url],
      balance: 'least-load',
      load: { metrics: { intervalMs: 5000, preset: 'vllm' } },
    });
    await until(() => telemetry.count('dropped', 'load_report') >= 1);
    expect(sent).toBeLessThan(50); // the scrape stopped reading: the rest was never asked for
    expect(telemetry.count('endpointLoad')).toBe(0);
    expect((await call(j)).status).toBe(200);
  });

  it('absurd or negative values are ignored and counted; the valid ones still count', async () => {
    const r = await replica('r');
    r.metrics = 'vllm:num_requests_waiting -5\nvllm:num_requests_running 1e300\nvllm:gpu_cache_usage_perc 0.5\n';
    const { telemetry } = await junctionWith({
      endpoints: [r.url],
      balance: 'least-load',
      load: { metrics: { intervalMs: 100 } },
    });
    await until(() => telemetry.count('dropped', 'load_report') >= 1 && telemetry.count('endpointLoad') >= 1);
    const kv = telemetry.events.find((e) => e[0] === 'endpointLoad' && e[3] === 'kv_cache');
    expect(kv?.[4]).toBe(0.5);
    const q = telemetry.events.find((e) => e[0] === 'endpointLoad' && e[3] === 'queue');
    expect(q?.[4]).toBeUndefined();
  });

  it('a replica that accepts the scrape but never answers times out, counted, and keeps serving calls', async () => {
    const mute = await replica('mute');
    mute.metrics = () => undefined; // never answers
    const { j, telemetry } = await junctionWith({
      endpoints: [mute.url],
      balance: 'least-load',
      load: { metrics: { intervalMs: 200, timeoutMs: 100 } },
    });
    await until(() => telemetry.count('dropped', 'load_report') >= 1);
    expect(await call(j)).toMatchObject({ status: 200, body: { served: 'mute' } });
    expect(telemetry.count('picked', 'm@1', 'fallback-no-report')).toBe(1);
  });
});

describe('a replica whose reports keep failing', () => {
  it('is counted every time and logged once per 10 s, not once per scrape', async () => {
    const dead = await replica('dead');
    dead.metrics = (res) => res.socket?.destroy(); // every scrape fails
    const warnings: Array<Record<string, unknown>> = [];
    const log = {
      error: () => undefined,
      info: () => undefined,
      warn: (o: object) => warnings.push(o as Record<string, unknown>),
    };
    const telemetry = recordTelemetry();
    const j: Junction = await startJunction({
      telemetry: telemetry.sink,
      log,
      port: 0,
      config: {
        models: {
          m: {
            versions: {
              '1': {
                backend: {
                  type: 'http',
                  endpoints: [dead.url],
                  load: { metrics: { intervalMs: 100, preset: 'vllm' } },
                },
              },
            },
          },
        },
        objectives: { o: { default: 'm@1' } },
      },
    });
    open.unshift(j);
    await until(() => telemetry.count('dropped', 'load_report') >= 6);
    expect(dead.scrapes).toBeGreaterThanOrEqual(6);
    expect(warnings.filter((w) => w.report === 'metrics')).toHaveLength(1);
  });
});
