// The gRPC face continues the caller's trace from its metadata, like HTTP, and
// the upstream attempt's span is the gRPC backend's parent.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startJunction, type Junction } from '../../src/app.js';
import { oipClient, type OipClient } from '../support/grpc-client.js';
import { startGrpcModelServer, type GrpcModelServer } from '../support/servers/grpc-oip.js';

const CALLER_TRACE = '5bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '10f067aa0ba902b7';
const exporter = new InMemorySpanExporter();
let triton: GrpcModelServer;
let junction: Junction;
let client: OipClient;

beforeAll(async () => {
  triton = await startGrpcModelServer({ simple: ['1'] });
  junction = await startJunction({
    port: 0,
    grpc: { port: 0 },
    tracing: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    config: {
      models: {
        simple: { versions: { '1': { backend: { type: 'http', protocol: 'oip-grpc', endpoints: [triton.url] } } } },
      },
      objectives: { identity: { interface: 'oip', default: 'simple@1' } },
    },
  });
  client = oipClient(`127.0.0.1:${junction.grpc!.port}`);
});

afterAll(async () => {
  client?.close();
  await junction?.close();
  await triton?.close();
});

describe('gRPC tracing', () => {
  it("continues the caller's traceparent and propagates the upstream span to the gRPC backend", async () => {
    const r = await client.call(
      'ModelInfer',
      { model_name: 'identity' },
      { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    );
    expect(r.error).toBeUndefined();
    const spans = await vi.waitFor(
      () => {
        const found = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === CALLER_TRACE);
        if (!found.some((s) => s.kind === SpanKind.CLIENT)) throw new Error('no upstream span yet');
        return found;
      },
      { timeout: 10_000, interval: 5 },
    );
    const upstream = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    const sent = triton.received.filter((x) => x.method === 'ModelInfer').at(-1)!.metadata.traceparent;
    expect(sent).toBe(`00-${CALLER_TRACE}-${upstream.spanContext().spanId}-01`);
  });
});
