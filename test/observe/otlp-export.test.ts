// OTLP export switched on by the standard environment variables, to a real
// HTTP collector stand-in: the spans of a request arrive at /v1/traces (OTLP/HTTP JSON).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const TRACE = 'aaf92f3577b34da6a3ce929d0e0e4736';
let collector: Upstream;
let upstream: Upstream;
let junction: Junction | undefined;

beforeAll(async () => {
  collector = await startUpstream('collector');
  upstream = await startUpstream('ranker');
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
  process.env.OTEL_SERVICE_NAME = 'junction-test';
});

afterAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_SERVICE_NAME;
  await junction?.close();
  await upstream?.close();
  await collector?.close();
});

it("exports the request's spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set", async () => {
  junction = await startJunction({
    port: 0, // tracing defaults to 'env'
    config: {
      models: { ranker: { versions: { '6': { backend: { type: 'http', endpoints: [upstream.url] } } } } },
      objectives: { cw: { default: 'ranker@6' } },
    },
  });
  const res = await request(`${junction.url}/v1/objectives/cw`, {
    method: 'POST',
    body: '{}',
    headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
  });
  await res.body.text();
  await junction.close(); // flushes the batch processor
  junction = undefined;

  const exports = collector.received.filter((r) => r.url === '/v1/traces');
  expect(exports.length).toBeGreaterThan(0);
  interface Export {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans: Array<{ spans: Array<{ traceId: string; name: string }> }>;
    }>;
  }
  const batches = exports.map((r) => JSON.parse(r.body.toString()) as Export).flatMap((e) => e.resourceSpans);
  expect(batches[0]!.resource.attributes).toContainEqual({
    key: 'service.name',
    value: { stringValue: 'junction-test' },
  });
  const spans = batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans)).filter((s) => s.traceId === TRACE);
  expect(spans.map((s) => s.name).sort()).toEqual(['invoke cw', 'route', 'upstream ranker@6']);
});
