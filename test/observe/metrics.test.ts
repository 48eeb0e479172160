// Metric values after a known sequence of real requests through a real upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { parsePrometheus, sampleValue, type Sample } from '../support/prometheus.js';
import { injectedRequest } from '../support/inject.js';

let upstream: Upstream;
let junction: Junction;
const request = injectedRequest(() => junction);

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  upstream.handle((req, res) => {
    if (req.headers['x-fail'] === '1') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"boom":true}');
      return;
    }
    if (req.headers['x-sse'] === '1') {
      // Headers now, first event after 100 ms: time to first byte must see the event, not the headers.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      setTimeout(() => {
        res.write('data: one\n\n');
        res.end('data: [DONE]\n\n');
      }, 100);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  const backend = { type: 'http', endpoints: [upstream.url] };
  junction = await startJunction({
    listen: false,
    config: {
      models: { ranker: { versions: { '6': { backend }, '7': { backend } } } },
      objectives: {
        cw: {
          default: 'ranker@6',
          rules: [{ id: 'br', when: { context: { country: ['BR'] } }, use: 'ranker@7' }],
          experiments: [
            {
              id: 'exp',
              when: { context: { country: ['FR'] } },
              population: 1,
              cells: { A: { weight: 100, use: 'ranker@7' } },
            },
          ],
        },
        stream: { default: 'ranker@6' },
      },
    },
  });
});

afterAll(async () => {
  await junction?.close();
  await upstream?.close();
});

async function send(objective: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${junction.url}/v1/objectives/${objective}`, { method: 'POST', headers, body: '{}' });
  await res.body.text();
  return res.statusCode;
}

async function scrape(): Promise<Sample[]> {
  const res = await request(`${junction.url}/metrics`);
  expect(res.headers['content-type']).toContain('text/plain');
  return parsePrometheus(await res.body.text());
}

/** Observers run when the response closes, just after the client has it: wait until the counts are in. */
async function scrapeUntil(ready: (s: Sample[]) => boolean): Promise<Sample[]> {
  for (;;) {
    const s = await scrape();
    if (ready(s)) return s;
    await new Promise((r) => setImmediate(r));
  }
}

const total = (s: Sample[]) => s.filter((x) => x.name === 'junction_requests_total').reduce((a, x) => a + x.value, 0);

describe('metrics', () => {
  it('count every request once, with its decision, class and status', async () => {
    expect(await send('cw')).toBe(200);
    expect(await send('cw')).toBe(200);
    expect(await send('cw', { 'x-context-country': 'BR', 'x-unit-id': 'u-1' })).toBe(200);
    expect(await send('cw', { 'x-context-country': 'FR', 'x-unit-id': 'u-2' })).toBe(200);
    expect(await send('cw', { 'x-traffic-class': 'test' })).toBe(200);
    expect(await send('cw', { 'x-fail': '1' })).toBe(500);
    expect(await send('cw', { 'x-traffic-class': 'bogus' })).toBe(400);
    expect(await send('nope')).toBe(404);
    expect(await send('nope-either')).toBe(404);

    const s = await scrapeUntil((x) => total(x) === 9);
    const base = { objective: 'cw', client: 'anonymous' };
    const count = (labels: Record<string, string>) => sampleValue(s, 'junction_requests_total', { ...base, ...labels });
    expect(count({ target: 'ranker@6', rule: 'default', cell: '', traffic_class: 'live', code: '200' })).toBe(2);
    expect(count({ target: 'ranker@7', rule: 'rule:br', cell: '', traffic_class: 'live', code: '200' })).toBe(1);
    expect(count({ target: 'ranker@7', rule: 'experiment:exp', cell: 'A', traffic_class: 'live', code: '200' })).toBe(
      1,
    );
    expect(count({ target: 'ranker@6', rule: 'default', traffic_class: 'test', code: '200' })).toBe(1);
    expect(count({ target: 'ranker@6', rule: 'default', traffic_class: 'live', code: '500' })).toBe(1);
    expect(count({ target: '', rule: '', traffic_class: 'live', code: '400' })).toBe(1);
    // Unknown objective names are the caller's: one bounded label for all of them.
    expect(sampleValue(s, 'junction_requests_total', { objective: '_unknown', code: '404' })).toBe(2);

    // Histograms: one observation per decided request, per decided target and traffic class (the gates read live).
    expect(
      sampleValue(s, 'junction_request_duration_seconds_count', {
        objective: 'cw',
        target: 'ranker@6',
        traffic_class: 'live',
      }),
    ).toBe(3);
    expect(
      sampleValue(s, 'junction_request_duration_seconds_count', {
        objective: 'cw',
        target: 'ranker@6',
        traffic_class: 'test',
      }),
    ).toBe(1);
    expect(sampleValue(s, 'junction_request_duration_seconds_count', { objective: 'cw', target: 'ranker@7' })).toBe(2);
    // The gates' errors: the one 500, on the decided target's live series.
    expect(
      sampleValue(s, 'junction_failed_requests_total', { objective: 'cw', target: 'ranker@6', traffic_class: 'live' }),
    ).toBe(1);
    expect(
      sampleValue(s, 'junction_failed_requests_total', { objective: 'cw', target: 'ranker@7', traffic_class: 'live' }),
    ).toBe(0);
    expect(sampleValue(s, 'junction_upstream_duration_seconds_count', { objective: 'cw', target: 'ranker@6' })).toBe(4);
    expect(sampleValue(s, 'junction_time_to_first_byte_seconds_count', { objective: 'cw', target: 'ranker@7' })).toBe(
      2,
    );
    expect(
      sampleValue(s, 'junction_request_duration_seconds_bucket', {
        objective: 'cw',
        target: 'ranker@6',
        traffic_class: 'live',
        le: '+Inf',
      }),
    ).toBe(3);
    // Buckets are cumulative: counts never fall as `le` grows, and the 100 µs floor exists.
    const buckets = s.filter(
      (x) =>
        x.name === 'junction_request_duration_seconds_bucket' &&
        x.labels.objective === 'cw' &&
        x.labels.target === 'ranker@6' &&
        x.labels.traffic_class === 'live',
    );
    expect(buckets.map((b) => b.labels.le)).toContain('0.0001');
    const counts = buckets.sort((a, b) => Number(a.labels.le) - Number(b.labels.le)).map((b) => b.value);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));

    expect(sampleValue(s, 'junction_inflight_requests', { objective: 'cw' })).toBe(0);
    expect(sampleValue(s, 'junction_config_revision')).toBe(1);
    // Unit ids are never labels.
    expect(s.some((x) => Object.values(x.labels).some((v) => v.startsWith('u-')))).toBe(false);
  });

  it('time to first byte of a stream is the first event, not the headers', async () => {
    expect(await send('stream', { 'x-sse': '1' })).toBe(200);
    const s = await scrapeUntil(
      (x) => sampleValue(x, 'junction_time_to_first_byte_seconds_count', { objective: 'stream' }) === 1,
    );
    // The first event left the upstream 100 ms after its headers: a lower bound, not a timing guess.
    expect(sampleValue(s, 'junction_time_to_first_byte_seconds_sum', { objective: 'stream' })).toBeGreaterThanOrEqual(
      0.1,
    );
    expect(sampleValue(s, 'junction_time_to_first_byte_seconds_bucket', { objective: 'stream', le: '0.05' })).toBe(0);
  });

  it('with metrics off, /metrics is empty: no family is registered, not even an empty one', async () => {
    const off = await startJunction({
      listen: false,
      metrics: false,
      tracing: false,
      config: {
        models: { ranker: { versions: { '6': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
        objectives: { cw: { default: 'ranker@6' } },
      },
    });
    try {
      const served = await injectedRequest(() => off)(`${off.url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
      await served.body.text();
      expect(served.statusCode).toBe(200);
      const res = await injectedRequest(() => off)(`${off.url}/metrics`);
      expect(res.statusCode).toBe(200);
      expect((await res.body.text()).trim()).toBe('');
    } finally {
      await off.close();
    }
  });

  it('counts in-flight requests while they are served', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    const previous = upstream.received.length;
    upstream.handle(async (_req, res) => {
      arrived();
      await held;
      res.end('{}');
    });
    const pending = send('stream');
    await arrival;
    expect(upstream.received.length).toBe(previous + 1);
    expect(sampleValue(await scrape(), 'junction_inflight_requests', { objective: 'stream' })).toBe(1);
    release();
    expect(await pending).toBe(200);
    await scrapeUntil((x) => sampleValue(x, 'junction_inflight_requests', { objective: 'stream' }) === 0);
  });
});
