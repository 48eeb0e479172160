// One Junction owns its observability and its model sessions: two started in
// one process (an embedder, a test, the SDK) keep separate counters, separate
// policy telemetry and separate traces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { parsePrometheus, sampleValue } from '../support/prometheus.js';

let upstream: Upstream;
const junctions: Junction[] = [];
const exporters = [new InMemorySpanExporter(), new InMemorySpanExporter()];

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  upstream.handle((req, res) => {
    // x-fail: the first target fails, so the objective falls back (a policy event).
    res.writeHead(req.headers['x-fail'] === '1' && req.url!.includes('fail') ? 500 : 200, {
      'content-type': 'application/json',
    });
    res.end('{}');
  });
  for (const exporter of exporters) {
    junctions.push(
      await startJunction({
        port: 0,
        tracing: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
        config: {
          models: {
            m: {
              versions: {
                '1': { backend: { type: 'http', endpoints: [`${upstream.url}/fail`] } },
                '2': { backend: { type: 'http', endpoints: [upstream.url] } },
              },
            },
          },
          objectives: { cw: { default: 'm@1', policy: { fallback: ['m@2'] } } },
        },
      }),
    );
  }
});

afterAll(async () => {
  for (const j of junctions) await j.close();
  await upstream?.close();
});

async function send(j: Junction, headers: Record<string, string> = {}): Promise<void> {
  const res = await request(`${j.url}/v1/objectives/cw`, { method: 'POST', headers, body: '{}' });
  await res.body.text();
  expect(res.statusCode).toBe(200);
}

async function scrape(j: Junction) {
  return parsePrometheus(await (await request(`${j.url}/metrics`)).body.text());
}

describe('two Junctions in one process', () => {
  it('count their own requests, fallbacks and spans', async () => {
    const [a, b] = junctions as [Junction, Junction];
    for (let i = 0; i < 3; i++) await send(a);
    await send(a, { 'x-fail': '1' });
    await send(b);

    const [sa, sb] = [await scrape(a), await scrape(b)];
    expect(sampleValue(sa, 'junction_requests_total', { objective: 'cw', code: '200' })).toBe(4);
    expect(sampleValue(sb, 'junction_requests_total', { objective: 'cw', code: '200' })).toBe(1);
    expect(sampleValue(sa, 'junction_fallbacks_total', { objective: 'cw', from: 'm@1', to: 'm@2' })).toBe(1);
    expect(sampleValue(sb, 'junction_fallbacks_total', { objective: 'cw' })).toBe(0);

    const servers = (e: InMemorySpanExporter) => e.getFinishedSpans().filter((s) => s.name === 'invoke cw').length;
    expect(servers(exporters[0]!)).toBe(4);
    expect(servers(exporters[1]!)).toBe(1);
  });
});
