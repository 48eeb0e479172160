// Trace propagation through a real OpenTelemetry SDK (in-memory exporter) and a
// real upstream that records the traceparent it received.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { startJunction, type Junction } from '../../src/app.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

let upstream: Upstream;
let failing: Upstream;
let junction: Junction;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  upstream = await startUpstream('ranker');
  failing = await startUpstream('failing');
  failing.handle((_req, res) => {
    res.writeHead(500);
    res.end();
  });
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  junction = await startJunction({
    port: 0,
    tracing: provider,
    config: {
      models: {
        ranker: {
          versions: {
            '6': { backend: { type: 'http', endpoints: [upstream.url] } },
            '7': { backend: { type: 'http', endpoints: [failing.url] } },
          },
        },
      },
      objectives: { cw: { default: 'ranker@6' }, fb: { default: 'ranker@7', policy: { fallback: ['ranker@6'] } } },
    },
  });
});

afterAll(async () => {
  await junction?.close();
  await upstream?.close();
  await failing?.close();
});

async function spansOfTrace(traceId: string, n: number): Promise<ReadableSpan[]> {
  return vi.waitFor(
    () => {
      const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (spans.length < n) throw new Error(`${spans.length} of ${n} spans`);
      return spans;
    },
    { timeout: 10_000, interval: 5 },
  );
}

describe('tracing', () => {
  it("continues the caller's trace and sends the upstream attempt span as the backend's parent", async () => {
    const res = await request(`${junction.url}/v1/objectives/cw`, {
      method: 'POST',
      body: '{}',
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, 'x-unit-id': 'u-1' },
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();

    const spans = await spansOfTrace(CALLER_TRACE, 3);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const route = spans.find((s) => s.name === 'route')!;
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(server.name).toBe('invoke cw');
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(route.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(attempt.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(attempt.name).toBe('upstream ranker@6');
    expect(server.attributes['junction.target']).toBe('ranker@6');
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(route.attributes['junction.rule']).toBe('default');

    // The backend got the same trace, with Junction's upstream span as parent.
    const sent = upstream.received.at(-1)!.headers.traceparent as string;
    expect(sent).toBe(`00-${CALLER_TRACE}-${attempt.spanContext().spanId}-01`);
  });

  it('starts a new trace when the caller sends none', async () => {
    exporter.reset();
    const res = await request(`${junction.url}/v1/objectives/cw`, { method: 'POST', body: '{}' });
    await res.body.text();
    const sent = upstream.received.at(-1)!.headers.traceparent as string;
    const [, traceId, parent] = sent.split('-');
    const spans = await spansOfTrace(traceId!, 3);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.parentSpanContext).toBeUndefined();
    expect(spans.find((s) => s.kind === SpanKind.CLIENT)!.spanContext().spanId).toBe(parent);
  });

  it('marks a failed upstream attempt as an error', async () => {
    exporter.reset();
    upstream.handle((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const res = await request(`${junction.url}/v1/objectives/cw`, {
      method: 'POST',
      body: '{}',
      headers: { traceparent: `00-${CALLER_TRACE.replace('4', '5')}-${CALLER_SPAN}-01` },
    });
    await res.body.text();
    const spans = await spansOfTrace(CALLER_TRACE.replace('4', '5'), 3);
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(attempt.attributes['http.response.status_code']).toBe(503);
    expect(attempt.status.code).toBe(2); // SpanStatusCode.ERROR
  });

  it("nests the fallback target's attempt under a fallback span", async () => {
    const traceId = CALLER_TRACE.replace('4', '6');
    upstream.handle((_req, res) => {
      res.end('{}');
    });
    const res = await request(`${junction.url}/v1/objectives/fb`, {
      method: 'POST',
      body: '{}',
      headers: { traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-fallback']).toBe('ranker@6');
    await res.body.text();
    const spans = await spansOfTrace(traceId, 5);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const first = spans.find((s) => s.name === 'upstream ranker@7')!;
    const fb = spans.find((s) => s.name === 'fallback ranker@6')!;
    const second = spans.find((s) => s.name === 'upstream ranker@6')!;
    expect(first.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(fb.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(fb.attributes['junction.fallback.from']).toBe('ranker@7');
    expect(second.parentSpanContext?.spanId).toBe(fb.spanContext().spanId);
    expect(server.attributes['junction.fallback']).toBe('ranker@6');
    expect(upstream.received.at(-1)!.headers.traceparent).toBe(`00-${traceId}-${second.spanContext().spanId}-01`);
    expect(failing.received.at(-1)!.headers.traceparent).toBe(`00-${traceId}-${first.spanContext().spanId}-01`);
  });
});
